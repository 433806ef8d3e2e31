"""``sigscope trace``: run a script or module with every signal send recorded.

The program's own output is untouched; the trace tree (or ``--summary``) goes
to stderr when the program ends, and ``--jsonl``/``--html`` write files.  The
program's exit code is sigscope's exit code.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any, TextIO

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``trace`` subcommand's parser, added to ``sub`` (also returned)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "trace",
        help="run a script or module and record every signal send",
        description="Run a Python script (or -m module, or --demo) with signal tracing on.",
        usage="sigscope trace [options] (script.py [args...] | -m module [args...] | --demo)",
    )
    parser.add_argument(
        "--jsonl", metavar="FILE", help="write the events as JSON Lines ({pid}: the process id)"
    )
    parser.add_argument("--append", action="store_true", help="add to the --jsonl file")
    parser.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument("--summary", action="store_true", help="print per-signal/receiver totals")
    parser.add_argument("--max-events", type=int, default=100_000, metavar="N")
    parser.add_argument("--limit", type=int, default=200, metavar="N", help="sends in the tree")
    parser.add_argument("--signal", action="append", default=[], metavar="NAME")
    parser.add_argument("--app", action="append", default=[], metavar="LABEL")
    parser.add_argument("--demo", action="store_true", help="trace the bundled demo scenario")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, like python -m")
    parser.add_argument("target", nargs=argparse.REMAINDER, help="script.py [args...]")
    return parser


def run(options: argparse.Namespace) -> int:
    from sigscope.cli.commands import UsageError, check_output_path
    from sigscope.tracing import Tracer

    if options.max_events < 1:
        raise UsageError("--max-events must be at least 1")
    if options.append and not options.jsonl:
        raise UsageError("--append needs --jsonl FILE")
    chosen = sum(bool(x) for x in (options.demo, options.module, options.target))
    if chosen != 1:
        raise UsageError("give exactly one of: a script, -m MODULE, or --demo")
    check_output_path(options.jsonl, "--jsonl")  # before the program runs, not after
    check_output_path(options.html, "--html")
    if options.demo:
        import sigscope.demo

        sigscope.demo.migrate()  # the tables first: the trace is the scenario's, not migrate's
    _check_filters(options)
    tracer = Tracer(max_events=options.max_events, signals=options.signal, apps=options.app)
    out: TextIO = sys.stdout if options.demo else sys.stderr
    tracer.start()
    try:
        code = _run_demo() if options.demo else _run_program(options)
    finally:
        tracer.stop()
    _report(tracer, options, out)
    return code


def _check_filters(options: argparse.Namespace) -> None:
    """Unknown ``--signal``/``--app`` names, when Django is set up before the program runs
    (``--demo``, ``manage.py sigscope trace``); a script sets Django up itself, later."""
    from django.apps import apps

    if not (options.signal or options.app) or not apps.ready:
        return
    from sigscope.cli.checks import check_filters
    from sigscope.snapshot import snapshot

    check_filters(snapshot(scan_source=False), signals=options.signal, apps=options.app)


def _run_demo() -> int:
    import sigscope.demo

    sigscope.demo.run_scenario()
    return 0


def _run_program(options: argparse.Namespace) -> int:
    from sigscope.cli.commands import UsageError

    if options.module:
        import importlib.util

        argv, path0 = [options.module, *options.target], os.getcwd()
        sys.path.insert(0, path0)
        try:
            found = importlib.util.find_spec(options.module) is not None
        except (ImportError, ValueError):
            found = False
        finally:
            sys.path.pop(0)
        if not found:
            raise UsageError(f"no module named {options.module!r}")
    else:
        script = options.target[0]
        if not os.path.isfile(script):
            raise UsageError(f"no such script: {script}")
        argv, path0 = list(options.target), os.path.dirname(os.path.abspath(script))
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = argv
    if sys.path:
        sys.path[0] = path0
    else:
        sys.path.append(path0)
    try:
        if options.module:
            runpy.run_module(options.module, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _report(tracer: Any, options: argparse.Namespace, out: TextIO) -> None:
    trace = tracer.trace
    written = []
    if options.jsonl:
        path = options.jsonl.replace("{pid}", str(os.getpid()))
        with open(path, "a" if options.append else "w", encoding="utf-8") as handle:
            trace.to_jsonl(handle)
        written.append(path)
    if options.html:
        from sigscope.views.html import page
        from sigscope.views.trace_html import render_html

        with open(options.html, "w", encoding="utf-8") as handle:
            handle.write(page("sigscope trace", render_html(trace, limit=options.limit)))
        written.append(options.html)
    n = len(trace.events)
    header = f"sigscope: {n} send{'s' if n != 1 else ''} recorded, {trace.dropped} dropped"
    print(header, file=out)
    print(trace.summary_text() if options.summary else trace.tree(limit=options.limit), file=out)
    if written:
        print(f"sigscope: wrote {', '.join(written)}", file=out)
