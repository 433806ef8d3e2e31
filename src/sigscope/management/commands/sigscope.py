"""``python manage.py sigscope inspect|check|trace``: the CLI, inside a configured project."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sigscope.cli import commands
from sigscope.cli import trace as trace_cli


class Command(BaseCommand):
    help = "Inspect Django signal receivers and explain duplicate, dead or pending ones."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        commands.add_inspect_options(
            sub.add_parser("inspect", help="list signals, senders and receivers")
        )
        commands.add_check_options(
            sub.add_parser("check", help="explain problems; exit 1 on warnings or errors")
        )
        trace_cli.add_parser(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        try:
            if options["action"] == "trace":
                status = trace_cli.run(namespace)
            elif options["action"] == "inspect":
                status = commands.inspect(namespace, self.stdout)
            else:
                status = commands.check(namespace, self.stdout)
        except commands.UsageError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if status:
            message = "sigscope check found problems" if options["action"] == "check" else ""
            raise CommandError(message or f"exit status {status}", returncode=status)
