"""Static HTML: escaped, self-contained, readable on light and dark JupyterLab themes.

Every user-derived string (receiver names, sender reprs, kwargs, messages)
goes through :func:`html.escape`.  Class names are prefixed ``sigscope-``;
colours come from JupyterLab's CSS variables with fallbacks.
"""

from __future__ import annotations

import base64
import html
import linecache
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sigscope.records import CallableInfo, Finding
from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot
    from sigscope.views.select import Row

__all__ = ["CSS", "details_html", "findings_html", "page", "snapshot_html"]

esc = html.escape

CSS = """
.sigscope-view{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;
 color:var(--jp-content-font-color1,#1f2328);line-height:1.45}
.sigscope-view code,.sigscope-view pre{
 font-family:var(--jp-code-font-family,ui-monospace,monospace);font-size:12px}
.sigscope-view table{border-collapse:collapse;margin:.3em 0;table-layout:auto}
.sigscope-view table th,.sigscope-view table td{text-align:left!important;padding:2px 8px;
 vertical-align:top;white-space:normal;border-bottom:1px solid var(--jp-border-color2,#d0d7de)}
.sigscope-view .sigscope-dim{color:var(--jp-content-font-color2,#59636e)}
.sigscope-view .sigscope-error{color:var(--jp-error-color1,#cf222e);font-weight:600}
.sigscope-view .sigscope-warning{color:var(--jp-warn-color1,#bc4c00);font-weight:600}
.sigscope-view .sigscope-note{color:var(--jp-info-color1,#0969da);font-weight:600}
.sigscope-view .sigscope-finding{margin:.5em 0;padding:.3em .6em;
 border-left:3px solid var(--jp-warn-color1,#bc4c00);background:var(--jp-layout-color2,#f6f8fa)}
.sigscope-view pre{background:var(--jp-layout-color2,#f6f8fa);padding:.4em;overflow:auto;
 max-height:18em;margin:.3em 0;white-space:pre}
"""


def _where(info: CallableInfo) -> str:
    return short_location(info.location) if info.file else ""


def _severity(severity: str) -> str:
    return f'<span class="sigscope-{esc(severity)}">{esc(severity.upper())}</span>'


def findings_html(findings: Iterable[Finding]) -> str:
    """One block per finding: severity, kind, what happens, the fix, where."""
    blocks = []
    for f in findings:
        where = "".join(f"<div class='sigscope-dim'>at {esc(loc)}</div>" for loc in f.locations)
        head = f"{_severity(f.severity)} <code>{esc(f.kind)}</code>"
        if f.signal:
            head += f" <span class='sigscope-dim'>{esc(f.signal)}"
            head += f" ← {esc(f.sender)}</span>" if f.sender else "</span>"
        blocks.append(
            f"<div class='sigscope-finding'>{head}<div>{esc(f.message)}</div>"
            f"<div><b>fix:</b> {esc(f.fix)}</div>{where}</div>"
        )
    if not blocks:
        return "<div class='sigscope-view sigscope-finding-list'>No findings.</div>"
    return f"<div class='sigscope-view sigscope-finding-list'>{''.join(blocks)}</div>"


def snapshot_html(
    snap: Snapshot, *, limit: int = 400, image: bytes | None = None, svg: str | None = None
) -> str:
    """A summary line, the graph (an inline SVG, or a PNG), the findings, then a table."""
    from sigscope.views.text import summary_line

    parts = [f"<style>{CSS}</style><div class='sigscope-view'>"]
    parts.append(f"<div class='sigscope-dim'>{esc(summary_line(snap))}</div>")
    if svg is not None:  # built from escaped strings by sigscope.views.svg
        parts.append(f"<div class='sigscope-graph-static' style='overflow:auto'>{svg}</div>")
    elif image is not None:
        data = base64.b64encode(image).decode()
        parts.append(
            f"<img src='data:image/png;base64,{data}' alt='signal graph' style='max-width:100%'>"
        )
    marked = {(f.signal or "", name) for f in snap.findings for name in f.receivers}
    rows: list[str] = []
    for signal in snap.signals:
        for r in signal.receivers:
            if len(rows) >= limit:
                break
            flags = ["weak" if r.weak else "strong"]
            flags += [x for x, on in (("async", r.is_async), ("dead", r.dead)) if on]
            if r.dispatch_uid is not None:
                flags.append(f"uid={r.dispatch_uid}")
            mark = "⚠ " if (signal.name, r.receiver.name) in marked else ""
            rows.append(
                "<tr>"
                f"<td><code>{esc(signal.name.rpartition('.')[2])}</code></td>"
                f"<td>{esc(r.sender.label or 'any sender')}</td>"
                f"<td>{esc(mark)}<code>{esc(r.receiver.name)}</code><br>"
                f"<span class='sigscope-dim'>{esc(_where(r.receiver))}</span></td>"
                f"<td class='sigscope-dim'>{esc(' '.join(flags))}</td></tr>"
            )
    total = len(snap.receivers)
    parts.append(findings_html(snap.findings))
    parts.append(
        "<table><tr><th>signal</th><th>sender</th><th>receiver</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if total > limit:
        parts.append(f"<div class='sigscope-dim'>… {total - limit} more registrations</div>")
    parts.append("</div>")
    return "".join(parts)


def _source(file: str | None, line: int | None, context: int = 6) -> str:
    if not file or not line:
        return ""
    lines = linecache.getlines(file)
    if not lines:
        return ""
    start = max(line - 1, 0)
    chunk = lines[start : start + context]
    numbered = "".join(f"{start + i + 1:>5}  {text}" for i, text in enumerate(chunk))
    return f"<pre>{esc(numbered)}</pre>"


def details_html(row: Row) -> str:
    """Everything about one registration, with its findings and their fixes."""
    reg = row.registration
    items: list[tuple[str, str]] = [("signal", row.signal), ("sender", row.sender)]
    source = ""
    if reg is not None:
        info = reg.receiver
        items += [
            ("kind", info.kind),
            ("where", _where(info) or "(no source)"),
            ("dispatch_uid", "—" if reg.dispatch_uid is None else reg.dispatch_uid),
            ("weak", "yes" if reg.weak else "no (strong reference)"),
            ("async", "yes" if reg.is_async else "no"),
            ("order", f"{reg.index + 1} in Signal.receivers"),
        ]
        if info.bound_to:
            items.append(("bound to", info.bound_to))
        if info.wrapped_by:
            items.append(("wrapped by", ", ".join(info.wrapped_by)))
        flags = [x for x, on in (("dead", reg.dead), ("stale", reg.stale)) if on]
        if reg.debug_kept_alive:
            flags.append("alive only because DEBUG=True")
        if flags:
            items.append(("state", ", ".join(flags)))
        source = _source(info.file, info.line)
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    findings = findings_html(row.findings) if row.findings else ""
    return (
        f"<style>{CSS}</style><div class='sigscope-view'>"
        f"<div><b><code>{esc(row.receiver_name)}</code></b></div>"
        f"<table>{table}</table>{source}{findings}</div>"
    )


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (no network access needed to open it)."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title></head><body>{body}</body></html>\n"
    )
