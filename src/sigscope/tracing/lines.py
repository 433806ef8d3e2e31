"""Plain-text pieces of a trace: durations, one line per send or receiver call, nesting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sigscope.records import ReceiverCall, SendEvent, UnheardSends

__all__ = ["format_duration", "nest", "summary_line"]


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
