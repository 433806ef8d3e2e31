"""``python manage.py sigscope inspect|check|trace``: the CLI, inside a configured project."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sigscope.cli import commands
from sigscope.cli import trace as trace_cli


class _Parser(CommandParser):
    """Unknown options are reported with the subcommand's usage, as ``sigscope`` does."""

    actions: dict[str, argparse.ArgumentParser]

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        found, extra = self.parse_known_args(args, namespace)
        if extra:
            chosen = self.actions.get(getattr(found, "action", None) or "", self)
            chosen.error(f"unrecognized arguments: {' '.join(extra)}")
        return found


class Command(BaseCommand):
    help = "Inspect Django signal receivers and explain duplicate, dead or pending ones."
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _Parser  # a subclass adding only parse_args: same state
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        actions: dict[str, argparse.ArgumentParser] = {
            "inspect": sub.add_parser("inspect", help="list signals, senders and receivers"),
            "check": sub.add_parser("check", help="explain problems; exit 1 on warnings or errors"),
        }
        commands.add_inspect_options(actions["inspect"])
        commands.add_check_options(actions["check"])
        actions["trace"] = trace_cli.add_parser(sub)
        parser.actions = actions  # type: ignore[attr-defined]

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
