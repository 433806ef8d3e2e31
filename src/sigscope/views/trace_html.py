"""A trace as self-contained, escaped HTML: nested ``<details>``, one per send."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sigscope.records import ReceiverCall, SendEvent
from sigscope.tracing import extras as _extras
from sigscope.tracing.lines import _short, _unheard_line, format_duration, nest, summary_line

if TYPE_CHECKING:
    from sigscope.tracing.result import Trace

__all__ = ["render_html"]

TREE_LIMIT = 200

_CSS = """
.sigscope-trace{font-family:var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,monospace);
 font-size:12px;color:var(--jp-content-font-color1,#1f2328);line-height:1.5}
.sigscope-trace details{margin-left:1.2em}
.sigscope-trace summary{cursor:pointer}
.sigscope-trace .sigscope-signal{font-weight:600;
 color:var(--jp-mirror-editor-keyword-color,#0550ae)}
.sigscope-trace .sigscope-dim{color:var(--jp-content-font-color2,#59636e)}
.sigscope-trace .sigscope-error{color:var(--jp-error-color1,#cf222e);font-weight:600}
.sigscope-trace .sigscope-call{margin-left:1.2em}
.sigscope-trace pre{margin:.2em 0 .4em 1.2em;padding:.4em;white-space:pre-wrap;
 background:var(--jp-layout-color2,#f6f8fa);color:inherit;max-height:16em;overflow:auto}
"""


def render_html(
    trace: Trace, *, limit: int = TREE_LIMIT, events: Iterable[SendEvent] | None = None
) -> str:
    """A self-contained, escaped HTML tree (nested ``<details>``) of a trace."""
    events = trace.events if events is None else tuple(events)
    roots, kids = nest(events)
    esc = html.escape
    shown = 0
    extra = _extras.tree_extras(trace, events)

    def send_html(e: SendEvent) -> str:
        nonlocal shown
        shown += 1
        count = len(e.calls)
        err = f' <span class="sigscope-error">✗ {esc(e.error.type)}</span>' if e.error else ""
        kwargs = ", ".join(f"{esc(k)}={esc(v)}" for k, v in e.kwargs)
        parts = [
            "<details open><summary>"
            f'<span class="sigscope-signal">{esc(_short(e.signal))}</span>'
            f"({esc(e.sender or '-')})"
            f' <span class="sigscope-dim">{esc(e.method)} · {count} receiver'
            f"{'s' if count != 1 else ''} · {esc(format_duration(e.duration_ns))}</span>"
            f"{err}</summary>",
            f'<div class="sigscope-call sigscope-dim">{esc(e.signal)}'
            f"{' · ' + kwargs if kwargs else ''}</div>",
        ]
        for c in e.calls:
            parts.append(call_html(e, c))
        parts.append("</details>")
        return "".join(parts)

    def call_html(e: SendEvent, c: ReceiverCall) -> str:
        where = f"{c.receiver.file}:{c.receiver.line}" if c.receiver.file else ""
        if c.error is not None:
            outcome = (
                f'<span class="sigscope-error">✗ {esc(c.error.type)}: {esc(c.error.message)}'
                f"</span><pre>{esc(c.error.traceback)}</pre>"
            )
        else:
            outcome = f'<span class="sigscope-dim">→ {esc(c.result or "")}</span>'
        inner = "".join(send_html(k) for k in kids.get((e.id, c.index), ()))
        inner += extra.html(e.id, c.index)
        return (
            f'<div class="sigscope-call">{c.index + 1}. {"async " if c.is_async else ""}'
            f'<span title="{esc(where)}">{esc(c.name)}</span> '
            f'<span class="sigscope-dim">{esc(format_duration(c.duration_ns))}</span> '
            f"{outcome}{inner}</div>"
        )

    body = []
    for root in roots:
        if shown >= limit:
            body.append(f'<div class="sigscope-dim">… {len(events) - shown} more sends</div>')
            break
        body.append(send_html(root))
    if not events:
        body.append('<div class="sigscope-dim">(no signals sent)</div>')
    if trace.dropped:
        body.append(f'<div class="sigscope-dim">({trace.dropped} earlier sends dropped)</div>')
    unheard = getattr(trace, "unheard", ())
    if unheard:
        body.append(
            '<div class="sigscope-dim sigscope-unheard">sent to no receiver: '
            f"{esc(_unheard_line(unheard, limit=50))}</div>"
        )
    body.append(extra.rest_html())
    head = (
        f'<div class="sigscope-dim">sigscope trace · {esc(summary_line(events))}'
        f" · {trace.dropped} dropped</div>"
    )
    head += _extras.summary_html(trace)
    return f'<style>{_CSS}</style><div class="sigscope-trace">{head}{"".join(body)}</div>'
