"""``Trace``: what a tracer recorded, as a tree, a summary, JSON Lines and assertions.

A ``Trace`` reads its tracer's ring buffer, so it is live while the tracer
runs and fixed once it stops.  Events are plain records (``SendEvent``,
``ReceiverCall``): nothing here touches Django.
"""

from __future__ import annotations

import json
import os
import socket
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import django

from sigscope.records import ReceiverCall, SendEvent, UnheardSends, to_plain
from sigscope.tracing import extras as _extras
from sigscope.tracing.jsonl import JSONL_SCHEMA, event_dict
from sigscope.tracing.lines import (
    _call_line,
    _clip,
    _describe,
    _event_line,
    _same_signal,
    _sender_key,
    _short,
    _signal_key,
    _unheard_line,
    _unheard_name,
    format_duration,
    nest,
)

if TYPE_CHECKING:
    from sigscope.records import BypassEvent, OnCommitCallback
    from sigscope.tracing import Tracer

__all__ = ["JSONL_SCHEMA", "ReceiverStats", "SignalStats", "Trace", "format_duration"]

_TREE_LIMIT = 200


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
        return [event_dict(e) for e in self.events]

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
        lines = [json.dumps(header)] + [json.dumps(event_dict(e)) for e in events]
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
        from sigscope.views.trace_html import render_html

        return render_html(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """text/plain (the tree), text/html (expandable tree + inline SVG of what ran),
        image/png (timeline)."""
        from sigscope.views.svg import events_svg
        from sigscope.views.trace_html import render_html

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
