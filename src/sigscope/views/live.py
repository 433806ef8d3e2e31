"""The graph, live: a tracer's sends become counts on the graph widget's links.

The pattern measured in ``../shared/JUPYTER.md`` ("Live updates"):

* the sending thread does O(1) work per send: the tracer's listener appends the
  frozen ``SendEvent`` to a bounded ``deque`` under a lock, and never touches a
  widget;
* one daemon flusher thread wakes every 0.1 s and, when something changed, sets
  **one** synced trait (``GraphWidget.live``: counts per link id): at most 10
  updates a second whatever the send rate; only the flusher writes widgets;
* positions never move while live: only ``live`` changes, never the layout.

Sends are matched to links by the receiver's identity: ``(signal, receiver
name)``; a receiver registered twice on one signal runs twice per send, and its
k-th call counts on its k-th link.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sigscope.tracing import Tracer

if TYPE_CHECKING:
    from sigscope.records import SendEvent
    from sigscope.views.graph_widget import GraphWidget

__all__ = ["FLUSH_INTERVAL", "LiveFeed", "LiveGraph"]

FLUSH_INTERVAL = 0.1
LATEST = 15


class LiveFeed:
    """A tracer plus exact counters, fed in O(1) per send (no widgets here)."""

    def __init__(self, *, signal_names: Mapping[int, str] | None = None, **tracer_options: Any):
        tracer_options.setdefault("max_events", 1000)
        #: ``id()`` of a signal → its name in the snapshot drawn (an unnamed signal's number
        #: can differ between the snapshot and the tracer's own naming).
        self.signal_names: Mapping[int, str] = signal_names or {}
        self._lock = threading.Lock()
        self._queue: deque[SendEvent] = deque(maxlen=50_000)
        self.overflow = 0
        self.generation = 0  # bumped by reset()
        self.tracer = Tracer(listener=self._on_event, **tracer_options)
        self.reset()

    def _on_event(self, event: SendEvent) -> None:  # in the sending thread: O(1)
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                self.overflow += 1
            self._queue.append(event)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.sends: Counter[str] = Counter()
            self.runs: list[tuple[str, tuple[str, ...], tuple[bool, ...]]] = []
            self.latest: deque[SendEvent] = deque(maxlen=LATEST)
            self.total = self.failed = self.overflow = 0
            self.started = time.monotonic()
            self.generation += 1

    def drain(self) -> bool:
        """Fold the sends that arrived into the counters (the flusher calls it)."""
        with self._lock:
            fresh = list(self._queue)
            self._queue.clear()
        for event in fresh:
            self._count(event)
        return bool(fresh)

    def _count(self, event: SendEvent) -> None:
        signal = self.signal_names.get(event.signal_id, event.signal)
        self.total += 1
        self.sends[signal] += 1
        self.failed += event.error is not None or any(c.error for c in event.calls)
        self.latest.append(event)
        names = tuple(c.name for c in event.calls)
        self.runs.append((signal, names, tuple(c.error is not None for c in event.calls)))

    @property
    def dropped(self) -> int:
        """Sends not counted because the flusher fell behind (the queue is bounded)."""
        return self.overflow


def _link_index(widget: GraphWidget) -> dict[tuple[str, str], list[str]]:
    """``(signal name, receiver name)`` → the ids of the links drawn for it, in order."""
    graph, layout = widget._graph, widget.layout_result
    index: dict[tuple[str, str], list[str]] = {}
    if graph is None or layout is None:
        return index
    drawn = {link.id for link in layout.links}
    for u, v, key, d in sorted(
        graph.edges(keys=True, data=True), key=lambda e: e[3].get("order", 0)
    ):
        if d.get("relation") != "calls" or d.get("pending"):
            continue
        signal, receiver = graph.nodes[u].get("name", ""), graph.nodes[v].get("label", "")
        link = str(key) if key in drawn else f"folded:{u}>{layout.shown_as.get(v, v)}"
        index.setdefault((signal, receiver), []).append(link)
    return index


class LiveGraph:
    """Animate a :class:`GraphWidget` from a tracer (``pause``/``resume``/``clear``/``stop``).

    ``on_flush(feed)`` runs in the flusher thread after each update (the Monitor
    renders its counters there, the only thread that writes them).
    """

    def __init__(
        self,
        widget: GraphWidget,
        *,
        on_flush: Callable[[LiveFeed, str], None] | None = None,
        signal_names: Mapping[int, str] | None = None,
        **tracer_options: Any,
    ) -> None:
        self.widget = widget
        self.feed = LiveFeed(signal_names=signal_names, **tracer_options)
        self.on_flush = on_flush
        self.paused = False
        self.updates = 0
        self._index = _link_index(widget)
        self._calls: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._folded = 0
        self._generation = self.feed.generation
        self._dirty = True
        self._stopping = threading.Event()
        widget.observe(self._relink, names="nodes")
        self.feed.tracer.start()
        self._flusher = threading.Thread(target=self._loop, name="sigscope-live", daemon=True)
        self._flusher.start()

    @property
    def tracer(self) -> Tracer:
        return self.feed.tracer

    @property
    def state(self) -> str:
        if self._stopping.is_set():
            return "stopped"
        return "paused" if self.paused else "recording"

    # -- controls (any thread; only the flusher writes widget values)
    def pause(self) -> None:
        """Stop recording: sends cost nothing while paused."""
        self.feed.tracer.stop()
        self.paused, self._dirty = True, True

    def resume(self) -> None:
        self.feed.tracer.start()
        self.paused, self._dirty = False, True

    def clear(self) -> None:
        self.feed.tracer.clear()
        self.feed.reset()
        self._dirty = True

    def stop(self) -> None:
        """Stop recording and updating for good."""
        self._stopping.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join(timeout=2)  # then this thread is the only writer
        self.feed.tracer.stop()
        self._flush(force=True)

    # -- the flusher
    def _relink(self, change: Any) -> None:
        self._index, self._dirty = _link_index(self.widget), True

    def _loop(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL):
            try:
                self._flush()
            except Exception:  # a broken comm must not kill the kernel's thread silently
                time.sleep(1)

    def _flush(self, *, force: bool = False) -> None:
        fresh = self.feed.drain()
        if not (fresh or self._dirty or force):
            return
        self._dirty = False
        self.widget.live = self._counts()
        self.updates += 1
        if self.on_flush is not None:
            self.on_flush(self.feed, self.state)

    def _counts(self) -> dict[str, Any]:
        feed = self.feed
        if feed.generation != self._generation:  # cleared
            self._calls, self._errors, self._folded = Counter(), Counter(), 0
            self._generation = feed.generation
        for signal, names, failed in feed.runs[self._folded :]:
            seen: Counter[str] = Counter()
            for name, error in zip(names, failed):
                links = self._index.get((signal, name))
                if not links:
                    continue
                link = links[seen[name] % len(links)]
                seen[name] += 1
                self._calls[link] += 1
                self._errors[link] += error
        self._folded = len(feed.runs)
        if len(feed.runs) > 50_000:
            del feed.runs[: self._folded]
            self._folded = 0
        return {
            "calls": dict(self._calls),
            "errors": {k: n for k, n in self._errors.items() if n},
            "unheard": self._marks(getattr(feed.tracer, "unheard", ())),
            "bypassed": self._bypass_marks(getattr(feed.tracer, "bypassed", ())),
            "sends": feed.total,
            "state": self.state,
            "seq": self.updates,
        }

    def _drawn(self) -> set[str]:
        return {row[0] for row in self.widget.nodes}

    def _marks(self, unheard: Any) -> dict[str, int]:
        drawn, marks = self._drawn(), Counter[str]()
        for record in unheard:
            for node in (f"signal:{record.signal}", f"sender:{record.sender}"):
                if node in drawn:
                    marks[node] += record.count
                    break
        return dict(marks)

    def _bypass_marks(self, bypassed: Any) -> dict[str, int]:
        drawn, marks = self._drawn(), Counter[str]()
        for event in bypassed:
            targets = [f"sender:{event.model}"] + [f"signal:{s}" for s in event.signals]
            for node in (t for t in targets if t in drawn):
                marks[node] += 1
                break
        return dict(marks)
