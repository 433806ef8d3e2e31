"""What did not fire: a tracer's ORM bypasses and ``on_commit`` callbacks, and their rendering.

The tracer core holds one :class:`ExtraRecords` per tracer and calls
:func:`install`/:func:`uninstall` when its first tracer starts and its last one
stops; ``Trace``'s tree, summary, JSON Lines and HTML each call one function
here.  Records are nested under the receiver that made them
(``parent``/``registered_by`` = ``(send id, receiver index)``); those made
outside any recorded receiver are listed after the sends.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sigscope.records import BypassEvent, OnCommitCallback, to_plain
from sigscope.tracing import bypass, commit

if TYPE_CHECKING:
    from sigscope.tracing.result import Trace

__all__ = ["ExtraRecords", "install", "uninstall"]


def install() -> None:
    """Patch the ORM methods and ``on_commit`` (the first tracer started)."""
    bypass.install()
    commit.install()


def uninstall() -> None:
    """Restore them exactly (the last tracer stopped)."""
    commit.uninstall()
    bypass.uninstall()


class ExtraRecords:
    """One tracer's bounded buffers of bypasses and ``on_commit`` registrations.

    ``lock`` is the tracer's own recording lock; the buffers keep the latest
    ``max_events`` of each.
    """

    __slots__ = ("_bypassed", "_commits", "_lock")

    def __init__(self, max_events: int, lock: Any) -> None:
        self._bypassed: deque[BypassEvent] = deque(maxlen=max_events)
        self._commits: deque[commit.Registration] = deque(maxlen=max_events)
        self._lock = lock

    def add_bypass(self, event: BypassEvent) -> None:
        with self._lock:
            self._bypassed.append(event)

    def add_commit(self, registration: commit.Registration) -> None:
        with self._lock:
            self._commits.append(registration)

    def bypassed(self) -> tuple[BypassEvent, ...]:
        with self._lock:
            return tuple(self._bypassed)

    def on_commit(self) -> tuple[OnCommitCallback, ...]:
        with self._lock:
            registrations = list(self._commits)
        return tuple(r.freeze() for r in registrations)

    def clear(self) -> None:
        with self._lock:
            self._bypassed.clear()
            self._commits.clear()


def _records(trace: Trace) -> tuple[tuple[BypassEvent, ...], tuple[OnCommitCallback, ...]]:
    return tuple(getattr(trace, "bypassed", ())), tuple(getattr(trace, "on_commit", ()))


class TreeExtras:
    """The bypass and ``on_commit`` lines of one rendering, found by receiver."""

    def __init__(self, trace: Trace, send_ids: set[int]) -> None:
        self.by_call: dict[tuple[int, int], list[tuple[float, str, Any]]] = defaultdict(list)
        self.rest: list[tuple[float, str, Any]] = []
        bypassed, commits = _records(trace)
        items: list[tuple[float, str, Any, tuple[int, int] | None]]
        items = [(b.started_at, "bypass", b, b.parent) for b in bypassed]
        items += [(c.registered_at, "on_commit", c, c.registered_by) for c in commits]
        for when, kind, record, parent in sorted(items, key=lambda i: i[0]):
            if parent is not None and parent[0] in send_ids:
                self.by_call[parent].append((when, kind, record))
            else:
                self.rest.append((when, kind, record))

    def rows(self, send_id: int, index: int, depth: int) -> Iterator[tuple[int, str]]:
        """Tree rows for what the receiver ``(send_id, index)`` did that did not fire."""
        for _, kind, record in self.by_call.get((send_id, index), ()):
            yield depth, "   " * depth + _line(kind, record)

    def rest_rows(self) -> Iterator[tuple[int, str]]:
        """Rows for what happened outside any recorded receiver."""
        if self.rest:
            yield 0, "outside any receiver:"
        for _, kind, record in self.rest:
            yield 1, "   " + _line(kind, record)

    def html(self, send_id: int, index: int) -> str:
        return "".join(_html(k, r) for _, k, r in self.by_call.get((send_id, index), ()))

    def rest_html(self) -> str:
        if not self.rest:
            return ""
        inner = "".join(_html(k, r) for _, k, r in self.rest)
        return f'<div class="sigscope-dim">outside any receiver:</div>{inner}'


def _line(kind: str, record: Any) -> str:
    return bypass.bypass_line(record) if kind == "bypass" else commit.on_commit_line(record)


def _html(kind: str, record: Any) -> str:
    return bypass.bypass_html(record) if kind == "bypass" else commit.on_commit_html(record)


def tree_extras(trace: Trace, events: Any = None) -> TreeExtras:
    """What ``Trace.tree()``/``render_html()`` nest under receivers (one call per rendering)."""
    sends = trace.events if events is None else events
    return TreeExtras(trace, {e.id for e in sends})


def summary_lines(trace: Trace) -> list[str]:
    """Lines for ``Trace.summary_text()``: bypasses by operation, callbacks by outcome."""
    bypassed, commits = _records(trace)
    lines = []
    if bypassed:
        ops = Counter(b.operation for b in bypassed)
        detail = ", ".join(f"{op} ×{n}" for op, n in sorted(ops.items()))
        plural = "s" if len(bypassed) != 1 else ""
        lines.append(f"bypassed: {len(bypassed)} ORM call{plural} skipped model signals ({detail})")
    if commits:
        ran = sum(1 for c in commits if c.ran)
        discarded = sum(1 for c in commits if c.ran is False)
        failed = sum(1 for c in commits if c.error is not None)
        pending = len(commits) - ran - discarded
        lines.append(
            f"on_commit: {len(commits)} callbacks registered by receivers "
            f"({ran} ran, {failed} raised, {discarded} discarded, {pending} pending)"
        )
    return ["", *lines] if lines else []


def summary_html(trace: Trace) -> str:
    """The same summary, escaped, for the HTML head."""
    return "".join(
        f'<div class="sigscope-dim">{html.escape(line)}</div>' for line in summary_lines(trace)
    )


def jsonl_records(trace: Trace) -> list[dict[str, Any]]:
    """``{"type": "bypass", ...}`` and ``{"type": "on_commit", ...}`` lines (``to_plain``)."""
    bypassed, commits = _records(trace)
    return [{"type": "bypass", **to_plain(b)} for b in bypassed] + [
        {"type": "on_commit", **to_plain(c)} for c in commits
    ]
