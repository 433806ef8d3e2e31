"""What ``sigscope inspect|check|demo`` do, shared by the CLI and ``manage.py sigscope``.

Argument parsing lives in ``cli.py`` and the management command; both call
these functions with the parsed options and an output stream.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Protocol

from sigscope._setup import load_urlconf
from sigscope.analysis import SEVERITY_ORDER
from sigscope.cli.checks import UsageError, check_filters, check_output_path, urlconf_failure
from sigscope.graph.export import to_dict, to_dot, to_graphml
from sigscope.snapshot import Snapshot, filter_snapshot, snapshot
from sigscope.views.text import format_findings, format_github, format_inspect, summary_line

__all__ = [
    "UsageError",
    "add_check_options",
    "add_common_options",
    "add_inspect_options",
    "check",
    "check_output_path",
    "inspect",
]


class TextIO(Protocol):
    """Anything with ``write(str)``: ``sys.stdout`` or a management command's stdout."""

    def write(self, text: str, /) -> object: ...


INSPECT_FORMATS = ("text", "json", "dot", "graphml", "html")
CHECK_FORMATS = ("text", "json", "github")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="LABEL",
        help="only this app (receiver module or sender); repeatable",
    )
    parser.add_argument(
        "--signal",
        action="append",
        default=[],
        metavar="NAME",
        help="only this signal (post_save or its dotted name); repeatable",
    )
    parser.add_argument(
        "--no-source-scan",
        action="store_true",
        help="skip the static scan (receivers declared but not connected, send and bypass sites)",
    )
    parser.add_argument(
        "--no-urlconf",
        action="store_true",
        help="do not import ROOT_URLCONF first (Django's checks do; it often imports receivers)",
    )
    parser.add_argument(
        "--include-builtin", action="store_true", help="also report findings on Django's receivers"
    )


def add_inspect_options(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument("--format", choices=INSPECT_FORMATS, default="text")
    parser.add_argument("--all", action="store_true", help="also list signals with no receivers")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def add_check_options(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument("--format", choices=CHECK_FORMATS, default="text")
    parser.add_argument(
        "--min-severity",
        choices=tuple(SEVERITY_ORDER),
        default="note",
        help="hide findings less severe than this (default: note, show all)",
    )
    parser.add_argument(
        "--fail-on",
        choices=tuple(SEVERITY_ORDER),
        default="warning",
        help="exit 1 when a shown finding is this severe or worse",
    )


def _take(options: argparse.Namespace) -> Snapshot:
    """The snapshot the options ask for, after the URLconf (unless ``--no-urlconf``)."""
    if not options.no_urlconf:
        try:
            load_urlconf()
        except Exception as exc:
            raise UsageError(urlconf_failure(exc)) from None
    snap = snapshot(
        scan_source=not options.no_source_scan,
        include_builtin=getattr(options, "include_builtin", False),
    )
    if options.no_urlconf and snap.urlconf == "URLconf not loaded":
        snap.urlconf += " (--no-urlconf)"
    check_filters(snap, signals=options.signal, apps=options.app)
    return filter_snapshot(snap, apps=options.app, signals=options.signal)


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def render_inspect(snap: Snapshot, fmt: str, *, show_empty: bool = False) -> str:
    if fmt == "json":
        return json.dumps(to_dict(snap), indent=2) + "\n"
    if fmt == "dot":
        return to_dot(snap.graph)
    if fmt == "graphml":
        return to_graphml(snap.graph)
    if fmt == "html":
        return html_report(snap)
    return format_inspect(snap, show_empty=show_empty)


def html_report(snap: Snapshot) -> str:
    """One self-contained HTML page: the graph (an inline SVG), findings, table."""
    from sigscope.views.html import page, snapshot_html
    from sigscope.views.svg import snapshot_svg

    return page("sigscope inspect", snapshot_html(snap, svg=snapshot_svg(snap), limit=5000))


def inspect(options: argparse.Namespace, out: TextIO) -> int:
    check_output_path(options.output, "-o/--output")
    snap = _take(options)
    text = render_inspect(snap, options.format, show_empty=options.all)
    if options.output:
        _write(options.output, text)
        out.write(f"wrote {options.output}\n")
    else:
        out.write(text)
    return 0


def check(options: argparse.Namespace, out: TextIO) -> int:
    snap = _take(options)
    limit = SEVERITY_ORDER[options.min_severity]
    findings = tuple(f for f in snap.findings if SEVERITY_ORDER[f.severity] <= limit)
    hidden = len(snap.findings) - len(findings)
    if options.format == "json":
        out.write(json.dumps(to_dict(snap, findings=findings), indent=2) + "\n")
    elif options.format == "github":
        out.write(format_github(findings))
    else:
        out.write(format_findings(findings))
        note = ""
        if hidden:
            noun = "finding" if hidden == 1 else "findings"
            note = f" · {hidden} {noun} hidden by --min-severity {options.min_severity}"
        out.write("\n" + summary_line(snap, findings) + note + "\n")
    fail = SEVERITY_ORDER[options.fail_on]
    return 1 if any(SEVERITY_ORDER[f.severity] <= fail for f in findings) else 0


def demo(output_dir: str, out: TextIO) -> int:
    """The main job on the bundled demo: inspection, findings, exported graph files."""
    from sigscope import demo as demo_project

    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--output-dir {output_dir}: {exc.strerror or exc}") from None
    demo_project.setup()
    snap = snapshot(load_urlconf=True)
    out.write(format_inspect(snap))
    out.write("\nFindings\n--------\n")
    out.write(format_findings(snap.findings))
    written = []
    for name, text in (
        ("signals.json", json.dumps(to_dict(snap), indent=2) + "\n"),
        ("signals.dot", to_dot(snap.graph)),
        ("signals.graphml", to_graphml(snap.graph)),
    ):
        path = os.path.join(output_dir, name)
        _write(path, text)
        written.append(path)
    out.write(f"\n{summary_line(snap)}\nwrote {', '.join(written)}\n")
    return 0
