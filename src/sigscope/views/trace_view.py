"""The Trace view widget: the expandable tree of sends, filters, and the timeline picture."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from sigscope.views.draw import draw_timeline, figure_png

if TYPE_CHECKING:
    from sigscope.records import SendEvent
    from sigscope.tracing.result import Trace

__all__ = ["TraceView"]

ALL = "(all)"


class TraceView(widgets.VBox):
    """``trace.show()``: the sends as a tree (filter by signal, sender, errors) and a timeline."""

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.add_class("sigscope-trace-view")
        self.trace = trace
        events = trace.events
        self.signal = widgets.Dropdown(
            description="signal",
            options=[ALL, *sorted({e.signal.rpartition(".")[2] for e in events})],
            layout={"width": "260px"},
        )
        self.sender = widgets.Dropdown(
            description="sender",
            options=[ALL, *sorted({e.sender or "-" for e in events})],
            layout={"width": "260px"},
        )
        self.errors_only = widgets.Checkbox(description="only sends with errors")
        self.summary = widgets.HTML()
        self.tree = widgets.HTML(layout={"max_height": "480px", "overflow": "auto"})
        self.timeline = widgets.Image(
            format="png", layout={"max_width": "100%", "align_self": "flex-start"}
        )
        self.timeline.add_class("sigscope-timeline")
        self.fired = widgets.Image(
            format="png", layout={"max_width": "100%", "align_self": "flex-start"}
        )
        self.fired.add_class("sigscope-fired-graph")
        pictures = widgets.Tab(children=[self.timeline, self.fired])
        pictures.set_title(0, "timeline")
        pictures.set_title(1, "what ran, in the registry")
        from sigscope.tracing.extras import tables_html

        self.not_fired = widgets.HTML(tables_html(trace))
        self.children = [
            widgets.HBox([self.signal, self.sender, self.errors_only]),
            self.summary,
            self.tree,
            self.not_fired,
            pictures,
        ]
        for control in (self.signal, self.sender, self.errors_only):
            control.observe(self._update, names="value")
        self._update()

    def __repr__(self) -> str:  # what a notebook shows where widgets cannot render
        return (
            f"<sigscope Trace view: {len(self.trace.events)} sends; display the trace itself "
            "for a static view>"
        )

    def selected(self) -> list[SendEvent]:
        """The sends passing the filters, with everything nested inside them."""
        events = self.trace.events
        by_id = {e.id: e for e in events}

        def root_of(e: SendEvent) -> SendEvent:
            while e.parent is not None and e.parent[0] in by_id:
                e = by_id[e.parent[0]]
            return e

        def matches(e: SendEvent) -> bool:
            if self.signal.value != ALL and e.signal.rpartition(".")[2] != self.signal.value:
                return False
            if self.sender.value != ALL and (e.sender or "-") != self.sender.value:
                return False
            return (
                not self.errors_only.value
                or e.error is not None
                or any(c.error is not None for c in e.calls)
            )

        roots = {root_of(e).id for e in events if matches(e)}
        return [e for e in events if root_of(e).id in roots]

    def _update(self, change: Any = None) -> None:
        from sigscope.tracing.result import render_html, summary_line

        chosen = self.selected()
        self.summary.value = f"<span class='sigscope-dim'>{summary_line(chosen)}</span>"
        self.tree.value = render_html(self.trace, events=chosen)
        self.timeline.value = figure_png(draw_timeline(chosen)) if chosen else b""
        self.fired.value = fired_graph_png(chosen)


def fired_graph_png(events: list[SendEvent]) -> bytes:
    """The registry's graph with the registrations that ran highlighted and counted."""
    if not events:
        return b""
    import sigscope
    from sigscope.views.draw import draw_graph
    from sigscope.views.select import Filters, rows, select_graph

    calls: dict[tuple[str, str], int] = {}
    for e in events:
        for c in e.calls:
            calls[(e.signal, c.name)] = calls.get((e.signal, c.name), 0) + 1
    snap = sigscope.snapshot(scan_source=False)
    fired = [
        r for r in rows(snap, Filters(hide_builtin=False)) if (r.signal, r.receiver_name) in calls
    ]
    if not fired:
        return b""
    counts: dict[str, int] = {}
    for row in fired:
        counts[row.node] = calls[(row.signal, row.receiver_name)]
    graph = select_graph(snap, fired)
    return figure_png(draw_graph(graph, highlight=tuple(counts), counts=counts))
