"""The registry graph as one inline SVG: crisp, zoomable by the page, its text searchable.

Drawn from :func:`sigscope.views.layout.layout_graph` (the same geometry as the
graph widget), so a displayed snapshot, nbconvert HTML, GitHub and
``sigscope inspect --format html`` show the widget's picture without a kernel.
Every user-derived string is escaped (:func:`html.escape`, which also quotes
attribute values).  Colours are SVG attributes (what survives sanitisers), and
JupyterLab's CSS variables override them where the page has them.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sigscope.views.layout import NODE_H, Layout, Link, Node, layout_graph

if TYPE_CHECKING:
    import networkx as nx

    from sigscope.records import SendEvent
    from sigscope.snapshot import Snapshot

__all__ = ["GLYPHS", "events_graph", "events_svg", "layout_svg", "link_path", "snapshot_svg"]

esc = html.escape

#: Findings are a glyph and a word as well as a colour (never colour alone).
GLYPHS = {"error": "✖", "warning": "⚠", "note": "ℹ"}
COLOURS = {"error": "#cf222e", "warning": "#bc4c00", "note": "#0969da", "": "#8c959f"}
FILL = {"sender": "#fff8c5", "site": "#fff8c5", "signal": "#ddf4ff", "receiver": "#f6f8fa",
        "group": "#eaeef2"}  # fmt: skip

STYLE = """
.sigscope-svg text{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:11px;
 fill:var(--jp-content-font-color1,#1f2328)}
.sigscope-svg .sigscope-dim{fill:var(--jp-content-font-color2,#59636e)}
.sigscope-svg .sigscope-band{fill:var(--jp-layout-color2,#f6f8fa);opacity:.6}
"""


def link_path(source: Node, target: Node, lane: int = 0) -> str:
    """A left-to-right cubic curve from ``source``'s right side to ``target``'s left."""
    x1, y1 = source.x + source.w, source.y + NODE_H / 2 + lane * 3
    x2, y2 = target.x, target.y + NODE_H / 2 + lane * 3
    mid = (x1 + x2) / 2
    return f"M{x1:.0f} {y1:.0f}C{mid:.0f} {y1:.0f} {mid:.0f} {y2:.0f} {x2:.0f} {y2:.0f}"


def _link(link: Link, nodes: dict[str, Node]) -> str:
    colour = COLOURS.get(link.severity, COLOURS[""])
    width = 2.2 if link.severity else 1.0
    if link.kind == "folded":
        width = min(1.0 + link.count**0.5, 6.0)
    dash = ' stroke-dasharray="5 3"' if {"dead", "pending"} & set(link.flags) else ""
    path = link_path(nodes[link.source], nodes[link.target], link.lane)
    words = link.finding + (f" ({link.count} registrations)" if link.kind == "folded" else "")
    title = f"<title>{esc(words)}</title>" if words else ""
    count = ""
    if link.count > 1 and link.kind == "calls":
        target = nodes[link.target]
        y = target.y + 8 + link.lane * 3
        count = (
            f'<text class="sigscope-dim" x="{target.x - 4:.0f}" y="{y:.0f}"'
            f' text-anchor="end" fill="#59636e">×{link.count}</text>'
        )
    return (
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width:.1f}"'
        f' stroke-opacity="0.8"{dash}>{title}</path>{count}'
    )


def _node(node: Node) -> str:
    border = COLOURS.get(node.severity, "#8c959f")
    dash = ' stroke-dasharray="4 2"' if {"dead", "pending"} & set(node.flags) else ""
    text = node.label
    if node.kind == "group":
        text = f"▸ {node.label} · {node.count} registrations"
    glyph = GLYPHS.get(node.severity, "")
    suffix = " (async)" if "async" in node.flags else ""
    words = f"{glyph} " if glyph else ""
    label = f"{words}{text}{suffix}"
    return (
        f'<g class="sigscope-node sigscope-{esc(node.kind)}">'
        f"<title>{esc(node.title)}{esc(' — ' + node.severity) if node.severity else ''}</title>"
        f'<rect x="{node.x:.0f}" y="{node.y:.0f}" width="{node.w:.0f}" height="{NODE_H}"'
        f' rx="4" fill="{FILL.get(node.kind, "#f6f8fa")}" stroke="{border}"'
        f' stroke-width="{1.6 if node.severity else 0.8}"{dash}/>'
        f'<text x="{node.x + 6:.0f}" y="{node.y + 13:.0f}" fill="#1f2328">{esc(label)}</text></g>'
    )


def layout_svg(layout: Layout, *, title: str = "signal graph") -> str:
    """The SVG document of a layout (one string, no external references)."""
    nodes = {n.id: n for n in layout.nodes}
    receivers_x = max((n.x for n in layout.nodes), default=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sigscope-svg" role="img"'
        f' width="{layout.width + 20:.0f}" height="{layout.height + 40:.0f}"'
        f' viewBox="-10 0 {layout.width + 20:.0f} {layout.height + 40:.0f}"'
        f' aria-label="{esc(title)}"><style>{STYLE}</style>'
    ]
    for group in layout.groups:
        if group.collapsed:
            continue
        parts.append(
            f'<rect class="sigscope-band" x="{receivers_x - 6:.0f}" y="{group.y:.0f}"'
            f' width="{layout.width - receivers_x + 12:.0f}" height="{group.h:.0f}"'
            f' rx="6" fill="#f6f8fa" fill-opacity="0.6"/>'
            f'<text class="sigscope-dim" x="{receivers_x:.0f}" y="{group.y + 15:.0f}"'
            f' fill="#59636e" font-weight="600">{esc(group.name)} · {group.count}</text>'
        )
    parts += [_link(link, nodes) for link in layout.links]
    parts += [_node(node) for node in layout.nodes]
    legend = "  ".join(f"{glyph} {word}" for word, glyph in GLYPHS.items())
    parts.append(
        f'<text class="sigscope-dim" x="0" y="{layout.height + 28:.0f}" fill="#59636e">'
        f"{esc(legend)}  · dashed: dead or pending  · ▸ a folded app</text></svg>"
    )
    return "".join(parts)


def snapshot_svg(snap: Snapshot) -> str | None:
    """The SVG a displayed snapshot shows (``None`` when nothing is registered)."""
    from sigscope.views.select import Filters, rows, select_graph

    shown = rows(snap, Filters(hide_builtin=False))
    if not shown:
        return None
    severities = {f.kind: f.severity for f in snap.findings}
    return layout_svg(layout_graph(select_graph(snap, shown), severities=severities))


def events_graph(events: Iterable[SendEvent]) -> nx.MultiDiGraph:
    """What ran, from trace records alone: sender → signal → receiver, with call counts."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    runs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        signal = f"signal:{event.signal}"
        graph.add_node(signal, type="signal", label=event.signal.rpartition(".")[2])
        for call in event.calls:
            info = call.receiver
            node = f"receiver:{info.name}"
            module = info.module or ""
            graph.add_node(node, type="receiver", label=info.name, module=module,
                           app=module.split(".", 1)[0])  # fmt: skip
            entry = runs.setdefault((signal, event.sender or "*", node), {"count": 0, "err": 0})
            entry["count"] += 1
            entry["err"] += call.error is not None
    for order, ((signal, sender, node), entry) in enumerate(runs.items()):
        graph.add_edge(signal, node, key=f"{signal}#{order}", relation="calls", sender=sender,
                       order=order, count=entry["count"],
                       finding="raised" if entry["err"] else "")  # fmt: skip
    return graph


def events_svg(events: Iterable[SendEvent]) -> str | None:
    """The SVG of what a trace ran (``None`` when nothing ran); errors marked as errors."""
    graph = events_graph(events)
    if not graph.number_of_edges():
        return None
    return layout_svg(
        layout_graph(graph, collapsed=(), severities={"raised": "error"}), title="what ran"
    )
