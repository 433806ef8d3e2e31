"""IPython extension: ``%load_ext sigscope``.

* ``%sigscope inspect [--app A] [--signal S] [--search TEXT]``: the Inspector widget
* ``%sigscope check``: the findings (static HTML, readable without a kernel)
* ``%sigscope trace STATEMENT``: run one statement traced and show the Trace view
* ``%sigscope monitor``: the live monitor
* ``%%sigscope_trace``: trace a whole cell and show the Trace view
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

__all__ = ["load"]

USAGE = "usage: %sigscope inspect|check|trace STATEMENT|monitor"


def _inspect_args(words: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="%sigscope inspect", add_help=False)
    parser.add_argument("--app")
    parser.add_argument("--signal")
    parser.add_argument("--search")
    parser.add_argument("--all", action="store_true", help="include Django's own receivers")
    options = parser.parse_args(words)
    filters: dict[str, Any] = {"hide_builtin": not options.all}
    for name in ("app", "signal", "search"):
        if getattr(options, name):
            filters[name] = getattr(options, name)
    return filters


def load(ipython: Any) -> None:
    from IPython.core.magic import register_cell_magic, register_line_magic

    def run_traced(source: str) -> Any:
        from sigscope.tracing import trace as start_trace

        with start_trace() as trace:
            result = ipython.run_cell(source)
        if result.error_in_exec is not None:
            print(f"(the traced code raised {type(result.error_in_exec).__name__})")
        return trace.show()

    @register_line_magic
    def sigscope(line: str) -> Any:
        import sigscope as package

        words = shlex.split(line)
        if not words:
            print(USAGE)
            return None
        command, rest = words[0], words[1:]
        if command == "inspect":
            return package.inspect(**_inspect_args(rest))
        if command == "check":
            return package.snapshot().findings
        if command == "monitor":
            return package.monitor()
        if command == "trace":
            statement = line.split("trace", 1)[1].strip()
            if not statement:
                print("usage: %sigscope trace STATEMENT")
                return None
            return run_traced(statement)
        print(USAGE)
        return None

    @register_cell_magic
    def sigscope_trace(line: str, cell: str) -> Any:
        return run_traced(cell)

    del sigscope, sigscope_trace
