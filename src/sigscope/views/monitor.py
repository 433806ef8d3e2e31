"""The live monitor: the signal graph moving, plus ``top``-like counters, from any cell or thread.

``sigscope.monitor()`` shows the registry graph (:class:`GraphWidget`) animated
by a :class:`~sigscope.views.live.LiveGraph` — links pulse and count when their
receiver runs, errors flash red and stay marked — with, below it, sends and
rates per signal, calls per receiver, and the latest sends.  The flusher thread
of the live graph is the only writer of every widget value here (at most 10
updates a second, whatever the send rate); the sending threads never touch a
widget.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from typing import Any

import ipywidgets as widgets

from sigscope.views.graph_widget import GraphWidget
from sigscope.views.html import CSS
from sigscope.views.live import LiveFeed, LiveGraph

__all__ = ["Monitor", "controls"]

esc = html.escape


def controls(live: LiveGraph) -> tuple[widgets.Button, ...]:
    """Pause / Resume / Clear / Stop buttons for a live graph."""
    pause = widgets.Button(description="Pause", icon="pause")
    resume = widgets.Button(description="Resume", icon="play", disabled=True)
    clear = widgets.Button(description="Clear", icon="eraser")
    stop = widgets.Button(description="Stop", icon="stop")

    def on_pause(_: Any) -> None:
        live.pause()
        pause.disabled, resume.disabled = True, False

    def on_resume(_: Any) -> None:
        live.resume()
        pause.disabled, resume.disabled = False, True

    def on_stop(_: Any) -> None:
        live.stop()
        for button in (pause, resume, clear, stop):
            button.disabled = True

    pause.on_click(on_pause)
    resume.on_click(on_resume)
    clear.on_click(lambda _: live.clear())
    stop.on_click(on_stop)
    return pause, resume, clear, stop


class Monitor(widgets.VBox):
    """``sigscope.monitor()``: the live graph, sends and rates per signal, the latest sends."""

    def __init__(self, **tracer_options: Any) -> None:
        import sigscope
        from sigscope.views.select import Filters, rows, select_graph

        super().__init__()
        self.add_class("sigscope-monitor")
        snap = sigscope.snapshot(scan_source=False)
        severities = {f.kind: f.severity for f in snap.findings}
        graph = select_graph(snap, rows(snap, Filters(hide_builtin=False)))
        self.graph = GraphWidget(graph, severities=severities)
        self.counters = widgets.HTML()
        self.counters.add_class("sigscope-monitor-counters")
        self.events = widgets.HTML()
        self.events.add_class("sigscope-monitor-events")
        self.updates = 0
        self.live = LiveGraph(
            self.graph,
            on_flush=self._render,
            signal_names={s.obj_id: s.name for s in snap.signals},
            **tracer_options,
        )
        buttons = controls(self.live)
        self.pause_button, self.resume_button, self.clear_button, self.stop_button = buttons
        self.children = [
            widgets.HBox(list(buttons)),
            self.graph,
            widgets.HBox([self.counters, self.events]),
        ]
        self._render(self.live.feed, self.live.state)
        self._flusher = self.live._flusher

    def __repr__(self) -> str:  # what a notebook shows where widgets cannot render
        return f"<sigscope Monitor: {self.live.feed.total} sends recorded>"

    @property
    def tracer(self) -> Any:
        """The tracer; ``.total`` / ``.errors`` are the monitor's exact counters."""
        return _CountingTracer(self.live)

    @property
    def paused(self) -> bool:
        return self.live.paused

    # -- controls (any thread may call them; only the flusher writes widget values)
    def pause(self) -> None:
        """Stop recording (sends cost nothing while paused)."""
        self.pause_button.click()

    def resume(self) -> None:
        self.resume_button.click()

    def clear(self) -> None:
        self.live.clear()

    def stop(self) -> None:
        """Stop recording and updating for good."""
        self.stop_button.click()

    def close(self) -> None:
        self.stop()
        super().close()

    def _render(self, feed: LiveFeed, state: str) -> None:
        self.updates += 1
        elapsed = max(time.monotonic() - feed.started, 1e-3)
        signal_rows = "".join(
            f"<tr><td><code>{esc(name.rpartition('.')[2])}</code></td><td>{n}</td>"
            f"<td>{n / elapsed:.1f}/s</td></tr>"
            for name, n in feed.sends.most_common(12)
        )
        calls: Counter[str] = Counter()
        for _, names, _ in feed.runs[-5000:]:
            calls.update(names)
        call_rows = "".join(
            f"<tr><td><code>{esc(name)}</code></td><td>{n}</td></tr>"
            for name, n in calls.most_common(8)
        )
        self.counters.value = (
            f"<style>{CSS}</style>"
            f"<div class='sigscope-view'><b>{esc(state)}</b> · sends: {feed.total} · "
            f"errors: {feed.failed} · dropped: {feed.dropped} "
            f"<table><tr><th>signal</th><th>sends</th><th>rate</th></tr>{signal_rows}</table>"
            f"<table><tr><th>receiver (recent)</th><th>calls</th></tr>{call_rows}</table></div>"
        )
        lines = []
        for event in reversed(feed.latest):
            stamp = time.strftime("%H:%M:%S", time.localtime(event.started_at))
            mark = " <span class='sigscope-error'>✗</span>" if event.error else ""
            lines.append(
                f"<div><span class='sigscope-dim'>{stamp}</span> "
                f"<code>{esc(event.signal.rpartition('.')[2])}</code>"
                f"({esc(event.sender or '-')}) → {len(event.calls)}{mark}</div>"
            )
        self.events.value = (
            "<div class='sigscope-view'><b>latest sends</b>"
            + ("".join(lines) or "<div class='sigscope-dim'>none yet</div>")
            + "</div>"
        )


class _CountingTracer:
    """The live graph's tracer, plus the counters the first Monitor's tracer had."""

    def __init__(self, live: LiveGraph) -> None:
        self._live = live

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live.tracer, name)

    @property
    def total(self) -> int:
        return self._live.feed.total

    @property
    def errors(self) -> int:
        return self._live.feed.failed
