"""The Trace view's synced data: compact plain JSON built from trace records only.

Two structures, both lists and dicts of strings and numbers (never a live object):

* :func:`waterfall_data`: every send (up to ``limit``) with its receiver calls on one time
  axis in microseconds after the first send, plus the ``bypassed``, ``on_commit`` and
  ``unheard`` records when the trace has them.
* :func:`cascade`: what the trace triggered, aggregated over all sends by path —
  ``signal ← sender`` → receiver → nested ``signal ← sender`` → … — with counts, total
  time and errors: "what runs when I save an Order", answered from a real run.

Strings in records are already safe, bounded reprs; they are clipped again here so one
megabyte-long ``result`` cannot bloat the comm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sigscope.records import BypassEvent, ErrorInfo, OnCommitCallback, SendEvent, UnheardSends

__all__ = ["MAX_SENDS", "cascade", "waterfall_data"]

#: Sends drawn as waterfall rows; the cascade always aggregates every send.
MAX_SENDS = 2000
_TEXT = 500
_TRACEBACK = 4000


def _clip(text: str | None, width: int = _TEXT) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def _error(error: ErrorInfo | None) -> list[str | None] | None:
    if error is None:
        return None
    return [error.type, _clip(error.message), _clip(error.traceback, _TRACEBACK)]


def _where(file: str | None, line: int | None) -> str:
    from sigscope.safe import short_location

    return short_location(f"{file}:{line}") if file else ""


def _send(e: SendEvent, t0: float) -> dict[str, Any]:
    return {
        "id": e.id,
        "p": list(e.parent) if e.parent is not None else None,
        "sig": e.signal.rpartition(".")[2],
        "signal": e.signal,
        "m": e.method,
        "snd": e.sender,
        "t": _us(e.started_at - t0),
        "d": round(e.duration_ns / 1e3, 1),
        "kw": [[k, _clip(v)] for k, v in e.kwargs],
        "err": _error(e.error),
        "thread": e.thread,
        "calls": [
            {
                "i": c.index,
                "n": c.name,
                "at": _where(c.receiver.file, c.receiver.line),
                "a": c.is_async,
                "t": round(c.offset_ns / 1e3, 1),
                "d": round(c.duration_ns / 1e3, 1),
                "r": _clip(c.result),
                "err": _error(c.error),
            }
            for c in e.calls
        ],
    }


def _bypass(b: BypassEvent, t0: float) -> dict[str, Any]:
    return {
        "id": b.id,
        "op": b.operation,
        "model": b.model,
        "rows": b.rows,
        "signals": [s.rpartition(".")[2] for s in b.signals],
        "receivers": list(b.receivers),
        "at": _where(b.file, b.line),
        "fn": b.function,
        "p": list(b.parent) if b.parent is not None else None,
        "t": _us(b.started_at - t0),
    }


def _on_commit(o: OnCommitCallback, t0: float) -> dict[str, Any]:
    return {
        "id": o.id,
        "cb": o.callback,
        "p": list(o.registered_by) if o.registered_by is not None else None,
        "using": o.using,
        "t": _us(o.registered_at - t0),
        "ran": o.ran,
        "end": _us(o.finished_at - t0) if o.finished_at is not None else None,
        "err": _error(o.error),
    }


def waterfall_data(
    events: Sequence[SendEvent],
    *,
    bypassed: Iterable[BypassEvent] = (),
    on_commit: Iterable[OnCommitCallback] = (),
    unheard: Iterable[UnheardSends] = (),
    limit: int = MAX_SENDS,
) -> dict[str, Any]:
    """The waterfall's rows: sends and calls in µs after the first recorded moment.

    Examples
    --------
    >>> data = waterfall_data([])
    >>> data["sends"], data["total"]
    ([], 0)
    """
    bypassed, on_commit = tuple(bypassed), tuple(on_commit)
    starts = [e.started_at for e in events]
    starts += [b.started_at for b in bypassed] + [o.registered_at for o in on_commit]
    t0 = min(starts, default=0.0)
    shown = events[:limit]
    return {
        "sends": [_send(e, t0) for e in shown],
        "total": len(events),
        "bypassed": [_bypass(b, t0) for b in bypassed],
        "on_commit": [_on_commit(o, t0) for o in on_commit],
        "unheard": [
            {"sig": u.signal.rpartition(".")[2], "snd": u.sender, "count": u.count} for u in unheard
        ],
    }


def _node(kind: str, label: str) -> dict[str, Any]:
    return {"kind": kind, "label": label, "count": 0, "us": 0.0, "errors": 0, "children": []}


class _Tree:
    """Children of one node, aggregated by key in first-seen order."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], tuple[dict[str, Any], _Tree]] = {}

    def child(self, kind: str, label: str) -> tuple[dict[str, Any], _Tree]:
        key = (kind, label)
        if key not in self.nodes:
            self.nodes[key] = (_node(kind, label), _Tree())
        return self.nodes[key]

    def plain(self) -> list[dict[str, Any]]:
        out = []
        for node, sub in self.nodes.values():
            node["children"] = sub.plain()
            node["us"] = round(node["us"], 1)
            out.append(node)
        return out


def _send_label(e: SendEvent) -> str:
    return f"{e.signal.rpartition('.')[2]} ← {e.sender or 'no sender'}"


def _started(item: SendEvent | BypassEvent | OnCommitCallback) -> float:
    return item.registered_at if isinstance(item, OnCommitCallback) else item.started_at


def cascade(
    events: Iterable[SendEvent],
    *,
    bypassed: Iterable[BypassEvent] = (),
    on_commit: Iterable[OnCommitCallback] = (),
) -> list[dict[str, Any]]:
    """What the trace triggered, aggregated by path, with counts, total µs and errors.

    Roots are the top-level sends (``signal ← sender``); a receiver's children are the
    sends made inside it, the ORM calls inside it that bypassed signals, and the
    ``on_commit`` callbacks it registered.

    Examples
    --------
    >>> cascade([])
    []
    """
    events = list(events)
    ids = {e.id for e in events}
    kids: dict[tuple[int, int], list[Any]] = {}
    roots: list[Any] = []
    items: list[SendEvent | BypassEvent | OnCommitCallback] = [*events, *bypassed, *on_commit]
    items.sort(key=_started)
    for item in items:
        parent = item.registered_by if isinstance(item, OnCommitCallback) else item.parent
        if parent is not None and parent[0] in ids:
            kids.setdefault((parent[0], parent[1]), []).append(item)
        else:
            roots.append(item)
    tree = _Tree()

    def add(item: Any, level: _Tree) -> None:
        if isinstance(item, BypassEvent):
            skipped = ", ".join(s.rpartition(".")[2] for s in item.signals)
            node, _ = level.child("bypass", f"{item.operation} {item.model} (no {skipped})")
            node["count"] += 1
            return
        if isinstance(item, OnCommitCallback):
            node, _ = level.child("on_commit", f"on_commit → {item.callback}")
            node["count"] += 1
            node["errors"] += item.error is not None
            return
        node, sub = level.child("send", _send_label(item))
        node["count"] += 1
        node["us"] += item.duration_ns / 1e3
        node["errors"] += item.error is not None
        for c in item.calls:
            call, below = sub.child("receiver", c.name)
            call["count"] += 1
            call["us"] += c.duration_ns / 1e3
            call["errors"] += c.error is not None
            for k in kids.get((item.id, c.index), ()):
                add(k, below)

    for item in roots:
        add(item, tree)
    return tree.plain()
