"""The picture's geometry: a registry graph → positioned nodes and links (pure, deterministic).

Three layers, read left to right as the data flows: send sites and senders →
signals → receivers.  Receivers are grouped by app (Django's own receivers form
the ``django`` group); a *collapsed* group is one node with a count, and its
registrations become one link per signal.  The order inside each layer comes
from :func:`sigscope.views.ordering.minimise_crossings`; positions then follow
the receivers (each signal sits at the mean height of its receivers, each
sender at the mean height of its signals), so most lines run nearly flat.

The static SVG (:mod:`sigscope.views.svg`) and the graph widget draw this same
layout; collapsing or expanding a group lays the graph out again in Python
(milliseconds: the collapsed graph is small), so the front end only draws.

>>> import networkx as nx
>>> g = nx.MultiDiGraph()
>>> g.add_node("signal:s", type="signal", label="s", name="app.s")
>>> g.add_node("receiver:shop.r", type="receiver", label="shop.r", module="shop", app="shop")
>>> _ = g.add_edge("signal:s", "receiver:shop.r", key="app.s#0", relation="calls", sender="*",
...                order=0, finding="")
>>> lay = layout_graph(g)
>>> [(n.kind, n.label) for n in lay.nodes]
[('sender', 'any sender'), ('signal', 's'), ('receiver', 'shop.r')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sigscope.views.ordering import minimise_crossings

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Group", "Layout", "Link", "Node", "default_collapsed", "layout_graph"]

ROW = 24  # vertical pitch of one node
NODE_H = 18
GROUP_HEAD = 22
GROUP_GAP = 10
COL_GAP = 130
CHAR = 6.6  # width of one character of the 11 px label font
PAD = 10
MAX_CHARS = 46
TOP = 8
SEVERITY_RANK = {"error": 0, "warning": 1, "note": 2, "": 3}


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: str  # "sender", "site", "signal", "receiver" or "group" (a collapsed app)
    label: str  # what is written (clipped)
    title: str  # the full name
    group: str  # the receiver's app ("" for senders and signals)
    x: float
    y: float
    w: float
    count: int = 1  # registrations folded into a group node
    severity: str = ""  # the worst finding on it
    flags: tuple[str, ...] = ()  # "async", "dead", "pending"


@dataclass(frozen=True, slots=True)
class Link:
    id: str  # "<signal>#<order>" for a registration, "sends:…" or "folded:…"
    source: str
    target: str
    kind: str  # "sends", "calls" or "folded"
    lane: int = 0  # index among the lines joining the same two nodes
    count: int = 1
    severity: str = ""
    finding: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    y: float
    h: float
    count: int  # registrations
    collapsed: bool


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    groups: tuple[Group, ...]
    width: float
    height: float
    crossings_before: int
    crossings_after: int
    #: graph receiver node → the node drawn for it (itself, or its collapsed group)
    shown_as: Mapping[str, str]


def group_of(data: Mapping[str, Any]) -> str:
    """A receiver's group: ``django`` for Django's own, else its app."""
    module = str(data.get("module") or "")
    if module == "django" or module.startswith("django."):
        return "django"
    return str(data.get("app") or module.split(".", 1)[0] or "?")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else "…" + text[-(MAX_CHARS - 1) :]


def _calls(graph: nx.MultiDiGraph) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (u, v, str(k), d)
        for u, v, k, d in graph.edges(keys=True, data=True)
        if d.get("relation") == "calls"
    ]


def default_collapsed(graph: nx.MultiDiGraph, *, budget: int = 40) -> frozenset[str]:
    """Django's group, and enough other groups to keep about ``budget`` receivers open.

    Groups with findings stay open first, then the smallest; the rest fold.
    """
    size: dict[str, int] = {}
    marked: set[str] = set()
    for _, v, _, d in _calls(graph):
        g = group_of(graph.nodes[v])
        size[g] = size.get(g, 0) + 1
        if d.get("finding"):
            marked.add(g)
    folded = {"django"} & set(size)
    room = budget
    for g in sorted(size.keys() - folded, key=lambda g: (g not in marked, size[g], g)):
        if size[g] <= room:
            room -= size[g]
        else:
            folded.add(g)
    return frozenset(folded)


def _worst(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 3) <= SEVERITY_RANK.get(b, 3) else b


class _Collect:
    """Nodes and links of the (possibly collapsed) graph, before ordering."""

    def __init__(
        self, graph: nx.MultiDiGraph, folded: frozenset[str], severities: Mapping[str, str]
    ) -> None:
        self.info: dict[str, dict[str, Any]] = {}
        self.links: list[Link] = []
        self.groups: dict[str, str] = {}  # layer-2 node → group
        self.counts: dict[str, int] = {}
        self.shown_as: dict[str, str] = {}
        folded_links: dict[tuple[str, str], dict[str, Any]] = {}
        sends: dict[tuple[str, str], int] = {}
        lanes: dict[tuple[str, str], int] = {}
        shared = _short_names(graph)
        for u, v, key, d in _calls(graph):
            data = graph.nodes[v]
            group = group_of(data)
            sender = ("pending:" if d.get("pending") else "sender:") + str(d.get("sender", "*"))
            self._node(sender, "sender", _sender_label(sender), "")
            self._node(u, "signal", _signal_title(graph, u, shared), "")
            sends[(sender, u)] = sends.get((sender, u), 0) + 1
            finding = str(d.get("finding") or "")
            severity = severities.get(finding, "warning") if finding else ""
            flags = tuple(f for f in ("dead", "pending", "is_async") if d.get(f))
            if group in folded:
                target = self.shown_as[v] = f"group:{group}"
                self._node(target, "group", group, group)
                self.counts[target] = self.counts.get(target, 0) + 1
                entry = folded_links.setdefault((u, target), {"count": 0, "severity": ""})
                entry["count"] += 1
                entry["severity"] = _worst(entry["severity"], severity)
            else:
                target = self.shown_as[v] = v
                self._node(v, "receiver", str(data.get("label", v)), group)
                lane = lanes[(u, v)] = lanes.get((u, v), -1) + 1
                count = int(d.get("count", 1))
                self.links.append(
                    Link(key, u, v, "calls", lane, count, severity, finding, _flag_names(flags))
                )
            info = self.info[target]
            info["severity"] = _worst(info.get("severity", ""), severity)
            info["flags"] = info.get("flags", set()) | set(_flag_names(flags))
            self.groups[target] = group
        for (u, target), entry in folded_links.items():
            count, severity = entry["count"], entry["severity"]
            self.links.append(Link(f"folded:{u}>{target}", u, target, "folded", 0, count, severity))
        for (sender, signal), n in sends.items():
            self.links.append(Link(f"sends:{sender}>{signal}", sender, signal, "sends", 0, n))
        self._sites(graph)

    def _node(self, node: str, kind: str, title: str, group: str) -> None:
        if node not in self.info:
            self.info[node] = {"kind": kind, "title": title, "group": group}

    def _sites(self, graph: nx.MultiDiGraph) -> None:
        """Send sites (or any other node) with an edge into a drawn signal: layer 0."""
        signals = [n for n, i in self.info.items() if i["kind"] == "signal"]
        for signal in signals:
            for u, _, d in graph.in_edges(signal, data=True):
                if d.get("relation") == "calls" or u in self.info:
                    continue
                data = graph.nodes[u]
                self._node(u, str(data.get("type") or "site"), str(data.get("label", u)), "")
                self.links.append(Link(f"sends:{u}>{signal}", u, signal, "sends"))


def _signal_title(graph: nx.MultiDiGraph, node: str, shared: Mapping[str, int]) -> str:
    """The short name (``post_save``), or the dotted one when two signals share it."""
    data = graph.nodes[node]
    short = str(data.get("label", node))
    return str(data.get("name") or short) if shared.get(short, 0) > 1 else short


def _short_names(graph: nx.MultiDiGraph) -> dict[str, int]:
    names: dict[str, int] = {}
    for _, data in graph.nodes(data=True):
        if data.get("type") == "signal":
            names[str(data.get("label"))] = names.get(str(data.get("label")), 0) + 1
    return names


def _flag_names(flags: Iterable[str]) -> tuple[str, ...]:
    return tuple("async" if f == "is_async" else f for f in flags)


def _sender_label(sender: str) -> str:
    kind, _, label = sender.partition(":")
    if kind == "pending":
        return f"'{label}' (pending)"
    return "any sender" if label == "*" else label


def layout_graph(
    graph: nx.MultiDiGraph,
    *,
    collapsed: Iterable[str] | None = None,
    severities: Mapping[str, str] | None = None,
) -> Layout:
    """Lay out a registry graph (or a part of one, e.g. ``select_graph``'s).

    ``collapsed``: the groups (apps, ``django``) drawn as one node each; by default
    :func:`default_collapsed`.  ``severities`` maps a finding kind to its severity.
    """
    folded = frozenset(default_collapsed(graph) if collapsed is None else collapsed)
    found = _Collect(graph, folded, severities or {})
    info = found.info
    layers: list[list[str]] = [[], [], []]
    for node, data in info.items():
        layers[{"signal": 1, "receiver": 2, "group": 2}.get(data["kind"], 0)].append(node)
    layers[0].sort(key=lambda n: (n != "sender:*", info[n]["kind"], info[n]["title"]))
    layers[1].sort(key=lambda n: info[n]["title"])
    layers[2].sort(key=lambda n: (found.groups[n], info[n]["kind"] != "group", info[n]["title"]))
    pairs = {(link.source, link.target) for link in found.links}
    between = [
        sorted(p for p in pairs if p[0] in set(layers[0])),
        sorted(p for p in pairs if p[0] in set(layers[1])),
    ]
    order, before, after = minimise_crossings(layers, between, groups=found.groups)
    return _place(found, order, between, before, after, folded)


def _place(
    found: _Collect,
    order: list[list[str]],
    between: list[list[tuple[str, str]]],
    before: int,
    after: int,
    folded: frozenset[str],
) -> Layout:
    info = found.info
    widths = [
        max((len(_clip(info[n]["title"])) * CHAR + 2 * PAD + 14 for n in layer), default=0)
        for layer in order
    ]
    xs = [0.0, widths[0] + COL_GAP, widths[0] + widths[1] + 2 * COL_GAP]
    ys: dict[str, float] = {}
    groups: list[Group] = []
    y = TOP
    for group, members in _runs(order[2], found.groups):
        start = y
        y += 0 if group in folded else GROUP_HEAD
        for node in members:
            ys[node] = y
            y += ROW
        count = sum(found.counts.get(n, 1) for n in members)
        groups.append(Group(group, start, y - start, count, group in folded))
        y += GROUP_GAP
    for layer, edges in ((1, between[1]), (0, between[0])):
        targets: dict[str, list[float]] = {}
        for u, v in edges:
            targets.setdefault(u, []).append(ys[v])
        _stack(order[layer], targets, ys)
    nodes = []
    for layer, members in enumerate(order):
        for node in members:
            data = info[node]
            flags = tuple(sorted(data.get("flags", ())))
            nodes.append(
                Node(node, data["kind"], _clip(data["title"]), data["title"], data["group"],
                     xs[layer], ys[node], widths[layer], found.counts.get(node, 1),
                     data.get("severity", ""), flags)
            )  # fmt: skip
    height = max((n.y + ROW for n in nodes), default=ROW) + TOP
    return Layout(
        tuple(nodes), tuple(found.links), tuple(groups), xs[2] + widths[2], height,
        before, after, dict(found.shown_as),
    )  # fmt: skip


def _runs(layer: list[str], groups: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    runs: list[tuple[str, list[str]]] = []
    for node in layer:
        group = groups.get(node, "")
        if runs and runs[-1][0] == group:
            runs[-1][1].append(node)
        else:
            runs.append((group, [node]))
    return runs


def _stack(layer: list[str], targets: Mapping[str, list[float]], ys: dict[str, float]) -> None:
    """Each node at the mean height of its targets, in order, at least ``ROW`` apart."""
    wanted = [sum(targets[n]) / len(targets[n]) if targets.get(n) else 0.0 for n in layer]
    placed: list[float] = []
    for want in wanted:
        placed.append(max(want, placed[-1] + ROW) if placed else max(want, TOP))
    # pull the stack up if it overshot the middle of what it points at
    if placed:
        shift = (sum(placed) - sum(wanted)) / len(placed)
        lowest = placed[0] - TOP
        shift = min(max(shift, 0.0), lowest)
        placed = [p - shift for p in placed]
    for node, y in zip(layer, placed):
        ys[node] = y
