"""The ``sigscope`` command: argument parsing only; the work is in ``commands``.

Exit codes: 0 fine, 1 ``check`` found something at ``--fail-on`` or worse,
2 bad input (unknown settings module, an app that fails to import, bad option).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sigscope.cli.commands import UsageError

__all__ = ["UsageError", "main"]


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        metavar="MODULE",
        help="Django settings module (default: $DJANGO_SETTINGS_MODULE)",
    )
    parser.add_argument(
        "--pythonpath", metavar="DIR", help="directory to add to sys.path, like django-admin"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``sigscope`` parser; each subcommand's parser is in ``parser.subcommands``."""
    from sigscope.cli import commands

    parser = argparse.ArgumentParser(
        prog="sigscope", description="See Django's signal wiring: receivers, duplicates, sends."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser("inspect", help="list signals, senders and receivers")
    _settings_options(inspect)
    commands.add_inspect_options(inspect)
    check = sub.add_parser("check", help="explain problems; exit 1 on warnings or errors")
    _settings_options(check)
    commands.add_check_options(check)
    demo = sub.add_parser("demo", help="inspect and check the bundled demo project")
    demo.add_argument(
        "--output-dir",
        default="sigscope-demo",
        help="where to write signals.json/.dot/.graphml (default: %(default)s)",
    )
    try:
        from sigscope.cli import trace as trace_cli
    except ImportError:  # pragma: no cover - tracing is part of the package
        pass
    else:
        trace_cli.add_parser(sub)
    parser.subcommands = dict(sub.choices)  # type: ignore[attr-defined]
    return parser


def setup_django(settings: str | None, pythonpath: str | None) -> None:
    """Configure Django, turning every way it can fail into a one-line :class:`UsageError`."""
    from sigscope._setup import setup

    settings = settings or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not settings:
        raise UsageError("no settings: pass --settings MODULE or set DJANGO_SETTINGS_MODULE")
    if pythonpath:
        sys.path.insert(0, os.path.abspath(pythonpath))
    elif "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like manage.py: the project directory
    try:
        setup(settings)
    except Exception as exc:
        raise UsageError(_setup_failure(exc, settings)) from None


def _setup_failure(exc: Exception, settings: str) -> str:
    from sigscope.cli.checks import one_line, ready_failure

    missing = isinstance(exc, ModuleNotFoundError)
    name = getattr(exc, "name", None) if missing else None
    if name and settings.startswith(name):
        return f"cannot import settings module {settings!r}: {exc}"
    in_ready = ready_failure(exc)
    if in_ready:
        return in_ready
    if missing:
        return f"an installed app failed to import: {exc}"
    return f"Django setup failed: {one_line(exc)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sigscope`` console script."""
    parser = build_parser()
    options, unknown = parser.parse_known_args(argv)
    if unknown:  # the subcommand's own usage, not the top-level one
        parser.subcommands[options.command].error(  # type: ignore[attr-defined]
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    from sigscope.cli import commands

    try:
        if options.command == "inspect":
            commands.check_output_path(options.output, "-o/--output")
        if options.command == "demo":
            return commands.demo(options.output_dir, sys.stdout)
        if options.command == "trace":
            from sigscope.cli import trace as trace_cli

            return trace_cli.run(options)
        setup_django(options.settings, options.pythonpath)
        runner = commands.inspect if options.command == "inspect" else commands.check
        return runner(options, sys.stdout)
    except UsageError as exc:
        print(f"sigscope: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `sigscope inspect | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
