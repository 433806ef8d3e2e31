"""The Inspector widget: filters, the interactive graph, the registrations and their details.

All state is derived from one :class:`~sigscope.snapshot.Snapshot` (plain
records): changing a filter recomputes the rows and lays the graph out again;
the widget never touches a live ``Signal``.  ``Inspector.refresh()`` takes a new
snapshot.  The graph (:class:`~sigscope.views.graph_widget.GraphWidget`) shows
the registrations that pass the app/signal/sender/severity filters; Django's
own receivers are one folded group while "hide Django's receivers" is ticked;
the search box highlights and centres matches in the graph and narrows the list.
Clicking a node or choosing a row selects it: ``inspector.selected`` is its record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from sigscope.views.details import details_data, selected_record
from sigscope.views.graph_widget import GraphWidget
from sigscope.views.html import details_html, findings_html
from sigscope.views.layout import default_collapsed
from sigscope.views.select import Filters, Row, rows, select_graph

if TYPE_CHECKING:
    from sigscope.records import ReceiverInfo, SendSite, SignalInfo
    from sigscope.snapshot import Snapshot
    from sigscope.views.live import LiveGraph

__all__ = ["Inspector"]

ALL = "(all)"


class Inspector(widgets.VBox):
    """``sigscope.inspect()``: see every receiver, filter, select one for its details."""

    def __init__(self, snap: Snapshot | None = None, *, live: bool = False, **filters: Any) -> None:
        super().__init__()
        self.add_class("sigscope-inspector")
        self.snap = snap
        self.rows: list[Row] = []
        self._building = True
        self.app = widgets.Dropdown(description="app", layout={"width": "210px"})
        self.signal = widgets.Dropdown(description="signal", layout={"width": "260px"})
        self.sender = widgets.Dropdown(description="sender", layout={"width": "250px"})
        self.severity = widgets.Dropdown(
            description="findings",
            options=[(ALL, ""), ("errors", "error"), ("warnings+", "warning"), ("any", "note")],
            layout={"width": "210px"},
        )
        self.search = widgets.Text(placeholder="search receivers, signals, senders")
        self.search.add_class("sigscope-search")
        self.hide_builtin = widgets.Checkbox(value=True, description="hide Django's receivers")
        self.hide_builtin.add_class("sigscope-hide-builtin")
        self.receivers = widgets.Select(rows=16, layout={"width": "48%"})
        self.receivers.add_class("sigscope-receivers")
        self.graph = GraphWidget()
        self.graph_rows: list[Row] = []
        self._folds: dict[str, bool] = {}
        self._all_rows: list[Row] = []
        self.details = widgets.HTML(
            layout={"width": "52%", "max_height": "340px", "overflow": "auto"}
        )
        self.details.add_class("sigscope-details")
        self.findings = widgets.HTML()
        self.findings.add_class("sigscope-findings")
        self.status = widgets.HTML()
        refresh = widgets.Button(description="Refresh", icon="refresh", layout={"width": "110px"})
        refresh.on_click(lambda _: self.refresh())
        overview = widgets.VBox([self.graph, widgets.HBox([self.receivers, self.details])])
        self.tabs = widgets.Tab(children=[overview, self.findings])
        for index, title in enumerate(("receivers", "findings")):
            self.tabs.set_title(index, title)
        self.children = [
            widgets.HBox([self.app, self.signal, self.sender, self.severity]),
            widgets.HBox([self.search, self.hide_builtin, refresh]),
            self.status,
            self.tabs,
        ]
        for control in (self.app, self.signal, self.sender, self.severity, self.hide_builtin):
            control.observe(self._on_filter, names="value")
        self.search.observe(self._on_filter, names="value")
        self.receivers.observe(self._on_select, names="value")
        self.graph.observe(self._on_graph_select, names="selected_id")
        self.graph.observe(self._on_fold, names="collapsed")
        self._building = False
        self.refresh(snap, **filters)
        self.live: LiveGraph | None = None
        if live:
            from sigscope.views.live import LiveGraph
            from sigscope.views.monitor import controls

            names = {s.obj_id: s.name for s in self.snap.signals} if self.snap else {}
            self.live = LiveGraph(self.graph, signal_names=names)
            self.children = [widgets.HBox(list(controls(self.live))), *self.children]

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        super().close()

    def __repr__(self) -> str:  # what a notebook shows where widgets cannot render
        return (
            f"<sigscope Inspector: {len(self.rows)} registrations shown; run the notebook "
            "to use it, or display the snapshot for a static view>"
        )

    # -- data
    def refresh(self, snap: Snapshot | None = None, **filters: Any) -> None:
        """Take a new snapshot (or use ``snap``) and redraw, keeping the filters."""
        if snap is None:
            import sigscope

            snap = sigscope.snapshot()
        self.snap = snap
        self._building = True
        all_rows = self._all_rows = rows(snap, Filters(hide_builtin=False))
        choices = {
            self.app: sorted({snap.app_of(_module(r)) for r in all_rows} - {""}),
            self.signal: sorted({r.signal.rpartition(".")[2] for r in all_rows}),
            self.sender: sorted({r.sender for r in all_rows}),
        }
        for control, values in choices.items():
            kept = control.value if control.value in values else ALL
            control.options = [ALL, *values]
            control.value = kept
        for name, value in filters.items():
            control = getattr(self, name)
            control.value = value
        self.findings.value = findings_html(snap.findings)
        self.graph._severities = {f.kind: f.severity for f in snap.findings}
        self._building = False
        self._update()

    @property
    def filters(self) -> Filters:
        return Filters(
            app=None if self.app.value in (ALL, None) else self.app.value,
            signal=None if self.signal.value in (ALL, None) else self.signal.value,
            sender=None if self.sender.value in (ALL, None) else self.sender.value,
            text=self.search.value.strip(),
            hide_builtin=self.hide_builtin.value,
            severity=self.severity.value or None,
        )

    @property
    def selected(self) -> ReceiverInfo | SignalInfo | SendSite | None:
        """The record of what is selected (in the graph or the list), or ``None``."""
        if self.snap is None or not self.graph.selected_id:
            return None
        return selected_record(self.snap, self.graph_rows, self.graph.selected_id)

    def _on_filter(self, change: Any) -> None:
        if not self._building:
            self._update(redraw=change is None or change["owner"] is not self.search)

    def _update(self, *, redraw: bool = True) -> None:
        assert self.snap is not None
        self.rows = rows(self.snap, self.filters)
        selected = self.receivers.value
        self.receivers.options = [(row.label, row.key) for row in self.rows]
        keys = {row.key for row in self.rows}
        self.receivers.value = selected if selected in keys else None
        problems = sum(1 for row in self.rows if row.findings)
        self.status.value = (
            f"<span class='sigscope-dim'>{len(self.rows)} registrations shown · "
            f"{problems} with findings · {len(self.snap.findings)} findings in all</span>"
        )
        if redraw:
            self._draw()
        self.graph.search = self.search.value.strip()
        self._on_select(None)

    def _draw(self) -> None:
        assert self.snap is not None
        filters = self.filters
        wide = Filters(
            app=filters.app, signal=filters.signal, sender=filters.sender,
            severity=filters.severity, hide_builtin=False,
        )  # fmt: skip
        unfiltered = wide == Filters(hide_builtin=False)
        self.graph_rows = self._all_rows if unfiltered else rows(self.snap, wide)
        graph = select_graph(self.snap, self.graph_rows)
        folded = set(default_collapsed(graph))
        self._folds["django"] = filters.hide_builtin
        for group, fold in self._folds.items():
            (folded.add if fold else folded.discard)(group)
        self.graph.show(graph, collapsed=folded)

    def _on_fold(self, change: Any) -> None:
        """Remember what the user folded or unfolded, across filter changes."""
        if self.graph._relaying:
            return
        old, new = set(change["old"]), set(change["new"])
        for group in old ^ new:
            self._folds[group] = group in new

    def _on_graph_select(self, change: Any) -> None:
        assert self.snap is not None
        chosen = change["new"]
        self.graph.details = details_data(self.snap, self.graph_rows, chosen)
        keys = {row.key for row in self.rows}
        match = next((r.key for r in self.graph_rows if chosen in (r.key, r.node)), None)
        if match in keys and self.receivers.value != match:
            self.receivers.value = match

    def _on_select(self, change: Any) -> None:
        key = self.receivers.value
        row = next((r for r in self.rows if r.key == key), None)
        if row is None:
            self.details.value = (
                "<span class='sigscope-dim'>Select a registration to see its details.</span>"
            )
            return
        self.details.value = details_html(row)
        if change is not None and self.graph.selected_id not in (row.key, row.node):
            self.graph.selected_id = row.key


def _module(row: Row) -> str | None:
    return row.registration.receiver.module if row.registration is not None else None
