"""``Trace``: what a tracer recorded, as a tree, a summary, JSON Lines and assertions.

A ``Trace`` reads its tracer's ring buffer, so it is live while the tracer
runs and fixed once it stops.  Events are plain records (``SendEvent``,
``ReceiverCall``): nothing here touches Django.
"""

from __future__ import annotations

import html
import json
import os
import socket
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import django

from sigscope.records import ReceiverCall, SendEvent, UnheardSends, to_plain
from sigscope.tracing import extras as _extras

if TYPE_CHECKING:
    from sigscope.records import BypassEvent, OnCommitCallback
    from sigscope.tracing import Tracer

__all__ = ["JSONL_SCHEMA", "ReceiverStats", "SignalStats", "Trace", "format_duration"]

JSONL_SCHEMA = 1
_TREE_LIMIT = 200


def format_duration(ns: int) -> str:
    """A duration for people: ``7 µs``, ``2.09 ms``, ``310 ms``."""
    if ns < 100_000:
        return f"{ns / 1e3:.0f} µs"
    ms = ns / 1e6
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _signal_key(signal: Any) -> str:
    """A name to match events against: a ``Signal`` object's canonical name, or the string."""
    if isinstance(signal, str):
        return signal
    from sigscope import tracing

    return str(tracing._signal_name(signal))


def _sender_key(sender: Any) -> str | None:
    if sender is None or isinstance(sender, str):
        return sender
    from sigscope import tracing

    return tracing._sender_label(sender)


def _same_signal(event: SendEvent, wanted: str) -> bool:
    return event.signal == wanted or event.signal.endswith("." + wanted)


@dataclass(frozen=True)
class SignalStats:
    signal: str
    sends: int
    calls: int
    errors: int
    total_ns: int


@dataclass(frozen=True)
class ReceiverStats:
    receiver: str
    signal: str
    calls: int
    errors: int
    total_ns: int
    max_ns: int

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.calls if self.calls else 0.0


class Trace:
    """The recorded sends of one :class:`~sigscope.tracing.Tracer`."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    @classmethod
    def from_jsonl(cls, paths: Any) -> Trace:
        """One fixed Trace from JSON Lines files of one or more processes (or runs appended
        to one file): send ids renumbered in start order, ``SendEvent.process`` = ``host:pid``.
        """
        from sigscope.tracing.jsonl import traced_files

        return cls(traced_files(paths))  # type: ignore[arg-type]

    # -- data
    @property
    def events(self) -> tuple[SendEvent, ...]:
        """Every recorded send, in the order they started."""
        return self._tracer.events

    @property
    def bypassed(self) -> tuple[BypassEvent, ...]:
        """ORM calls that skipped model signals on a model with receivers for them."""
        return self._tracer.bypassed

    @property
    def on_commit(self) -> tuple[OnCommitCallback, ...]:
        """``transaction.on_commit`` callbacks registered by receivers, and whether they ran."""
        return self._tracer.on_commit

    @property
    def dropped(self) -> int:
        """Sends recorded but pushed out of the ring buffer (``max_events``)."""
        return self._tracer.dropped

    @property
    def unheard(self) -> tuple[UnheardSends, ...]:
        """Sends that reached no receiver, counted per signal and sender (no events)."""
        return self._tracer.unheard

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[SendEvent]:
        return iter(self.events)

    def sends(self, signal: Any = None, sender: Any = None) -> list[SendEvent]:
        """The sends of ``signal`` (object or name) from ``sender`` (class or label)."""
        wanted = _signal_key(signal) if signal is not None else None
        who = _sender_key(sender)
        return [
            e
            for e in self.events
            if (wanted is None or _same_signal(e, wanted)) and (who is None or e.sender == who)
        ]

    def receivers_called(self, signal: Any = None, sender: Any = None) -> list[str]:
        """Dotted names of the receivers run by those sends, in call order."""
        return [c.name for e in self.sends(signal, sender) for c in e.calls]

    def children(self, event: SendEvent, call: ReceiverCall | None = None) -> list[SendEvent]:
        """Sends made inside ``event`` (inside one of its receivers when ``call`` is given)."""
        return [
            e
            for e in self.events
            if e.parent is not None
            and e.parent[0] == event.id
            and (call is None or e.parent[1] == call.index)
        ]

    # -- assertions (for tests; the pytest plugin's ``signal_trace`` is a Trace)
    def assert_sent(self, signal: Any, sender: Any = None, *, times: int | None = None) -> None:
        """Fail unless ``signal`` was sent (by ``sender``; exactly ``times`` times if given)."""
        found = self.sends(signal, sender)
        what = _describe(signal, sender)
        if not found:
            raise AssertionError(f"{what} was never sent. Sent: {self._sent_summary()}")
        if times is not None and len(found) != times:
            raise AssertionError(f"{what} was sent {len(found)} times, expected {times}.")

    def assert_not_sent(self, signal: Any, sender: Any = None) -> None:
        """Fail if ``signal`` was sent (by ``sender``)."""
        found = self.sends(signal, sender)
        if found:
            raise AssertionError(
                f"{_describe(signal, sender)} was sent {len(found)} times; first: "
                f"{_event_line(found[0])}"
            )

    def _sent_summary(self) -> str:
        seen = sorted({f"{_short(e.signal)}({e.sender or '-'})" for e in self.events})
        return ", ".join(seen) if seen else "nothing (with receivers)"

    # -- summaries and exports
    def summary(self) -> tuple[list[SignalStats], list[ReceiverStats]]:
        """Per-signal and per-receiver counts and times, slowest receivers first."""
        signals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        receivers: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for e in self.events:
            row = signals[e.signal]
            row[0] += 1
            row[3] += e.duration_ns
            for c in e.calls:
                row[1] += 1
                row[2] += c.error is not None
                r = receivers[(c.name, e.signal)]
                r[0] += 1
                r[1] += c.error is not None
                r[2] += c.duration_ns
                r[3] = max(r[3], c.duration_ns)
        sig = [SignalStats(k, *v) for k, v in signals.items()]
        rec = [ReceiverStats(k[0], k[1], *v) for k, v in receivers.items()]
        sig.sort(key=lambda s: -s.total_ns)
        rec.sort(key=lambda r: -r.total_ns)
        return sig, rec

    def summary_text(self) -> str:
        sig, rec = self.summary()
        lines = ["signal                                   sends  calls  errors     total"]
        for s in sig:
            lines.append(
                f"{_short(s.signal):<40} {s.sends:>5}  {s.calls:>5}  {s.errors:>6}  "
                f"{format_duration(s.total_ns):>9}"
            )
        lines += [
            "",
            "receiver                                            calls      total        max",
        ]
        for r in rec:
            lines.append(
                f"{_clip(r.receiver, 50):<50} {r.calls:>6}  "
                f"{format_duration(r.total_ns):>9}  {format_duration(r.max_ns):>9}"
            )
        unheard = self.unheard
        if unheard:
            lines += ["", "sent to no receiver                                        sends"]
            for u in unheard:
                lines.append(f"{_clip(_unheard_name(u), 50):<50} {u.count:>12}")
        lines += _extras.summary_lines(self)
        return "\n".join(lines)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [_event_dict(e) for e in self.events]

    def to_jsonl(self, target: str | IO[str]) -> int:
        """Write a header line then one line per send; returns the number of sends."""
        events = self.events
        unheard = self.unheard
        header = {
            "type": "header",
            "schema": JSONL_SCHEMA,
            "django_version": django.get_version(),
            "events": len(events),
            "dropped": self.dropped,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "unheard": len(unheard),
        }
        lines = [json.dumps(header)] + [json.dumps(_event_dict(e)) for e in events]
        lines += [json.dumps({"type": "unheard", **to_plain(u)}) for u in unheard]
        lines += [json.dumps(r) for r in _extras.jsonl_records(self)]
        text = "\n".join(lines) + "\n"
        if isinstance(target, str):
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            target.write(text)
        return len(events)

    # -- rendering
    def tree(self, *, limit: int = _TREE_LIMIT) -> str:
        """The sends as an indented tree: each receiver, and the sends made inside it."""
        return "\n".join(line for _, line in self._tree_rows(limit)) or "(no signals sent)"

    def _tree_rows(self, limit: int) -> Iterator[tuple[int, str]]:
        events = self.events
        roots, kids = nest(events)
        shown = 0
        extra = _extras.tree_extras(self, events)

        def walk(event: SendEvent, depth: int) -> Iterator[tuple[int, str]]:
            nonlocal shown
            shown += 1
            yield depth, "   " * depth + _event_line(event)
            for call in event.calls:
                yield depth + 1, "   " * (depth + 1) + _call_line(call)
                for child in kids.get((event.id, call.index), ()):
                    yield from walk(child, depth + 2)
                yield from extra.rows(event.id, call.index, depth + 2)

        for root in roots:
            if shown >= limit:
                yield 0, f"… {len(events) - shown} more sends (see .events or .to_jsonl())"
                break
            yield from walk(root, 0)
        yield from extra.rest_rows()
        if self.dropped:
            yield 0, f"({self.dropped} earlier sends dropped: max_events={self._tracer.max_events})"
        unheard = self.unheard
        if unheard:
            yield 0, f"sent to no receiver: {_unheard_line(unheard)}"

    def __repr__(self) -> str:
        state = "recording" if self._tracer.running else "stopped"
        head = f"<Trace: {len(self.events)} sends, {self.dropped} dropped, {state}>"
        return head + "\n" + self.tree(limit=50)

    def _repr_html_(self) -> str:
        return render_html(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """text/plain (the tree), text/html (expandable tree + inline SVG of what ran),
        image/png (timeline)."""
        from sigscope.views.svg import events_svg

        events = self.events
        picture = events_svg(events)
        html_view = render_html(self) + (
            f"<div style='overflow:auto'>{picture}</div>" if picture else ""
        )
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": html_view}
        if events:
            import base64

            from sigscope.views.draw import draw_timeline, figure_png

            png = figure_png(draw_timeline(events), dpi=72)
            bundle["image/png"] = base64.b64encode(png).decode()
        return bundle

    def show(self) -> Any:
        """The interactive Trace view (an ipywidgets ``VBox``)."""
        from sigscope.views.trace_view import TraceView

        return TraceView(self)


def nest(
    events: Iterable[SendEvent],
) -> tuple[list[SendEvent], dict[tuple[int, int], list[SendEvent]]]:
    """Top-level sends, and the sends made inside each ``(send id, receiver index)``.

    A send whose parent is not among ``events`` (filtered out, or dropped by the
    ring buffer) counts as top-level.
    """
    events = list(events)
    ids = {e.id for e in events}
    kids: dict[tuple[int, int], list[SendEvent]] = defaultdict(list)
    roots = []
    for e in events:
        if e.parent is not None and e.parent[0] in ids:
            kids[e.parent].append(e)
        else:
            roots.append(e)
    return roots, kids


def _describe(signal: Any, sender: Any) -> str:
    name = _short(_signal_key(signal))
    who = _sender_key(sender)
    return f"{name}(sender={who})" if who else name


def _unheard_name(u: UnheardSends) -> str:
    return f"{_short(u.signal)}({u.sender or '-'})"


def _unheard_line(unheard: Iterable[UnheardSends], limit: int = 8) -> str:
    rows = list(unheard)
    text = ", ".join(f"{_unheard_name(u)} ×{u.count}" for u in rows[:limit])
    return text + (f", … {len(rows) - limit} more" if len(rows) > limit else "")


def _event_line(e: SendEvent) -> str:
    count = len(e.calls)
    head = f"{_short(e.signal)}({e.sender or '-'})"
    method = "" if e.method == "send" else f" [{e.method}]"
    tail = f" ✗ {e.error.type}: {e.error.message}" if e.error else ""
    plural = "s" if count != 1 else ""
    return f"▸ {head}{method} → {count} receiver{plural}, {format_duration(e.duration_ns)}{tail}"


def _call_line(c: ReceiverCall) -> str:
    mark = "async " if c.is_async else ""
    outcome = f"✗ {c.error.type}: {c.error.message}" if c.error is not None else f"→ {c.result}"
    return f"{c.index + 1}. {mark}{c.name}  {format_duration(c.duration_ns)}  {outcome}"


def _event_dict(e: SendEvent) -> dict[str, Any]:
    data = to_plain(e)
    del data["signal_id"]  # an address: meaningless outside this process
    data["kwargs"] = dict(e.kwargs)
    data["parent"] = list(e.parent) if e.parent else None
    for call in data["calls"]:
        info = call["receiver"]
        call["receiver"] = (
            f"{info['module']}.{info['qualname']}" if info["module"] else info["qualname"]
        )
        call["file"], call["line"], call["kind"] = info["file"], info["line"], info["kind"]
    return {"type": "send", **data}


# --------------------------------------------------------------------------- HTML

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


def summary_line(events: Iterable[SendEvent]) -> str:
    """``12 sends · 31 receiver calls · 4.20 ms · 1 error``."""
    events = list(events)
    calls = sum(len(e.calls) for e in events)
    errors = sum(1 for e in events for c in e.calls if c.error is not None)
    roots = {e.id for e in events}
    total = sum(e.duration_ns for e in events if e.parent is None or e.parent[0] not in roots)
    plural = "s" if errors != 1 else ""
    took = format_duration(total)
    return f"{len(events)} sends · {calls} receiver calls · {took} · {errors} error{plural}"


def render_html(
    trace: Trace, *, limit: int = _TREE_LIMIT, events: Iterable[SendEvent] | None = None
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


def iter_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Read back what :meth:`Trace.to_jsonl` wrote (checks the schema version)."""
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        record = json.loads(line)
        if number == 0:
            if record.get("type") != "header" or record.get("schema") != JSONL_SCHEMA:
                raise ValueError(f"not a sigscope trace (schema {JSONL_SCHEMA}): {line[:80]!r}")
            continue
        yield record
