"""The graph widget: an ``anywidget`` whose ES module (``graph_widget.js``) draws the layout.

Python owns the data and the geometry (:mod:`sigscope.views.layout`); the front
end draws SVG from compact rows and reports clicks, folds and searches through
synced traits.  Nothing loads from the network: the module and its CSS ship in
the package.

Synced state
    ``nodes``/``links``/``groups``/``size``: the layout (see the JS module's header).
    ``selected_id``: the node or registration the user clicked (front end → Python).
    ``collapsed``: the folded groups; changing it lays the graph out again.
    ``details``: the details panel's content, structured (title, rows, source,
    findings) — the front end writes it as text, never as HTML.
    ``search``: the search box; matches are highlighted and centred.
    ``live``: counters a live tracer sets at most 10 times a second (calls and
    errors per link id, unheard sends and bypasses per node id, the state).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from sigscope.views.layout import Layout, layout_graph

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["GraphWidget", "layout_rows"]

HERE = pathlib.Path(__file__).parent


def layout_rows(layout: Layout) -> dict[str, Any]:
    """The synced form of a layout: lists of short rows (compact JSON)."""
    return {
        "nodes": [
            [n.id, n.kind, n.label, n.title, n.group, round(n.x, 1), round(n.y, 1),
             round(n.w, 1), n.count, n.severity, " ".join(n.flags)]
            for n in layout.nodes
        ],
        "links": [
            [k.id, k.source, k.target, k.kind, k.lane, k.count, k.severity, " ".join(k.flags)]
            for k in layout.links
        ],
        "groups": [[g.name, g.y, g.h, g.count, g.collapsed] for g in layout.groups],
        "size": [round(layout.width, 1), round(layout.height, 1)],
    }  # fmt: skip


class GraphWidget(anywidget.AnyWidget):
    """Pan/zoom/hover/click/search/fold view of a registry graph (``sigscope.inspect()``'s).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> g.add_node("signal:s", type="signal", label="s", name="app.s")
    >>> g.add_node("receiver:r", type="receiver", label="app.r", module="app", app="app")
    >>> _ = g.add_edge("signal:s", "receiver:r", key="app.s#0", relation="calls", sender="*")
    >>> w = GraphWidget(g)
    >>> [row[0] for row in w.nodes]
    ['sender:*', 'signal:s', 'receiver:r']
    """

    _esm = HERE / "graph_widget.js"
    _css = HERE / "graph_widget.css"

    nodes: traitlets.List[Any] = traitlets.List().tag(sync=True)
    links: traitlets.List[Any] = traitlets.List().tag(sync=True)
    groups: traitlets.List[Any] = traitlets.List().tag(sync=True)
    size = traitlets.List([0, 0]).tag(sync=True)
    collapsed: traitlets.List[str] = traitlets.List().tag(sync=True)
    selected_id = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    search = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    live = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        graph: nx.MultiDiGraph | None = None,
        *,
        collapsed: Iterable[str] | None = None,
        severities: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.add_class("sigscope-graph")
        self.layout_result: Layout | None = None
        self._graph = graph
        self._severities = dict(severities or {})
        self._relaying = False
        if graph is not None:
            self.show(graph, collapsed=collapsed)
        self.observe(self._on_collapsed, names="collapsed")

    def show(self, graph: nx.MultiDiGraph, *, collapsed: Iterable[str] | None = None) -> None:
        """Lay out and draw ``graph`` (folding ``collapsed``, else the default groups)."""
        self._graph = graph
        result = layout_graph(graph, collapsed=collapsed, severities=self._severities)
        self.layout_result = result
        rows = layout_rows(result)
        folded = sorted(g.name for g in result.groups if g.collapsed)
        with self.hold_sync():
            self._relaying = True
            try:
                self.collapsed = folded
            finally:
                self._relaying = False
            self.size, self.groups, self.links = rows["size"], rows["groups"], rows["links"]
            self.nodes = rows["nodes"]  # last: the front end redraws on this one
            receivers = sum(1 for n in result.nodes if n.kind == "receiver")
            self.status = (
                f"{receivers} receivers shown, {len(folded)} groups folded · "
                f"{result.crossings_after} crossings"
            )

    def _on_collapsed(self, change: Any) -> None:
        if not self._relaying and self._graph is not None:
            self.show(self._graph, collapsed=change["new"])
