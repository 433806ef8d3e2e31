"""``python manage.py sigscope inspect|check``: the CLI, inside a configured project."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sigscope.cli import commands


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

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        runner = commands.inspect if options["action"] == "inspect" else commands.check
        status = runner(namespace, self.stdout)
        if status:
            raise CommandError("sigscope check found problems", returncode=status)
