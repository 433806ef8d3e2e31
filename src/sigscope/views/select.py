"""What the inspector shows: filters over a snapshot's graph and registrations (no widgets here)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sigscope.analysis import SEVERITY_ORDER
from sigscope.records import Finding, ReceiverInfo

if TYPE_CHECKING:
    import networkx as nx

    from sigscope.snapshot import Snapshot

__all__ = ["Filters", "Row", "rows", "select_graph"]


@dataclass(frozen=True)
class Filters:
    """The inspector's filters; every one is optional."""

    app: str | None = None
    signal: str | None = None
    sender: str | None = None
    text: str = ""
    hide_builtin: bool = True
    #: Only registrations with a finding at least this severe (``error``/``warning``/``note``).
    severity: str | None = None


@dataclass(frozen=True)
class Row:
    """One registration as the inspector lists it."""

    key: str  # "<signal>#<index>" or "pending:<signal>#<n>"
    signal: str
    sender: str  # label, "any sender" or "'app.model' (pending)"
    registration: ReceiverInfo | None
    receiver_name: str
    node: str  # the receiver's graph node id
    findings: tuple[Finding, ...]

    @property
    def label(self) -> str:
        mark = "⚠ " if self.findings else ""
        short = self.signal.rpartition(".")[2]
        return f"{mark}{short} ← {self.sender} · {self.receiver_name}"


def _is_builtin_receiver(module: str | None) -> bool:
    return (module or "").startswith("django.")


def rows(snap: Snapshot, filters: Filters = Filters()) -> list[Row]:
    """The registrations (and pending connects) that pass the filters, signal by signal."""
    by_receiver: dict[tuple[str, str], list[Finding]] = {}
    for f in snap.findings:
        for name in f.receivers:
            by_receiver.setdefault((f.signal or "", name), []).append(f)
    node_of = _receiver_nodes(snap)
    found = []
    for signal in sorted(snap.signals, key=lambda s: s.name.rpartition(".")[2]):
        for reg in signal.receivers:
            sender = reg.sender.label or "any sender"
            findings = tuple(by_receiver.get((signal.name, reg.receiver.name), ()))
            row = Row(
                key=f"{signal.name}#{reg.index}",
                signal=signal.name,
                sender=sender,
                registration=reg,
                receiver_name=reg.receiver.name,
                node=node_of.get((signal.name, reg.index), f"receiver:{reg.receiver.name}"),
                findings=findings,
            )
            if _keep(snap, row, reg.receiver.module, filters):
                found.append(row)
    for n, p in enumerate(snap.pending):
        findings = tuple(by_receiver.get((p.signal, p.receiver.name), ()))
        row = Row(
            key=f"pending:{p.signal}#{n}",
            signal=p.signal,
            sender=f"'{p.model}' (pending)",
            registration=None,
            receiver_name=p.receiver.name,
            node=f"receiver:{p.receiver.name}",
            findings=findings,
        )
        if _keep(snap, row, p.receiver.module, filters):
            found.append(row)
    return found


_NODES: weakref.WeakKeyDictionary[Snapshot, dict[tuple[str, int], str]] = (
    weakref.WeakKeyDictionary()
)


def _receiver_nodes(snap: Snapshot) -> dict[tuple[str, int], str]:
    found = _NODES.get(snap)
    if found is None:
        found = _NODES[snap] = _find_receiver_nodes(snap)
    return found


def _find_receiver_nodes(snap: Snapshot) -> dict[tuple[str, int], str]:
    nodes = {}
    for u, v, data in snap.graph.edges(data=True):
        if data.get("relation") == "calls" and not data.get("pending"):
            nodes[(snap.graph.nodes[u]["name"], data["order"])] = v
    return nodes


def _keep(snap: Snapshot, row: Row, module: str | None, f: Filters) -> bool:
    if f.hide_builtin and _is_builtin_receiver(module):
        return False
    if f.app and snap.app_of(module) != f.app and not row.sender.startswith(f.app + "."):
        return False
    if f.signal and row.signal != f.signal and row.signal.rpartition(".")[2] != f.signal:
        return False
    if f.sender and row.sender != f.sender:
        return False
    if f.severity:
        limit = SEVERITY_ORDER[f.severity]
        if not any(SEVERITY_ORDER[x.severity] <= limit for x in row.findings):
            return False
    if f.text:
        needle = f.text.lower()
        hay = f"{row.signal} {row.sender} {row.receiver_name}".lower()
        if needle not in hay:
            return False
    return True


def select_graph(snap: Snapshot, selected: list[Row]) -> nx.MultiDiGraph:
    """The part of the snapshot's graph holding these rows' registrations."""
    import networkx as nx

    graph = snap.graph
    keep_edges = []
    wanted = {row.key for row in selected}
    for u, v, key, data in graph.edges(keys=True, data=True):
        if data.get("relation") != "calls":
            continue
        name = graph.nodes[u]["name"]
        if data.get("pending"):
            row_key = _pending_key(snap, name, data["sender"])
        else:
            row_key = f"{name}#{data['order']}"
        if row_key in wanted:
            keep_edges.append((u, v, key, data))
    # built directly: edge_subgraph(...).copy() costs 10× more at 5,000 registrations
    sub = nx.MultiDiGraph(**graph.graph)
    nodes = graph.nodes
    for u, v, key, data in keep_edges:
        for n in (u, v):
            if n not in sub:
                sub.add_node(n, **nodes[n])
        sub.add_edge(u, v, key=key, **data)
    for u, v, key, data in graph.edges(keys=True, data=True):  # where those signals are sent
        if data.get("relation") == "send_site" and v in sub:
            if u not in sub:
                sub.add_node(u, **nodes[u])
            sub.add_edge(u, v, key=key, **data)
    return sub


def _pending_key(snap: Snapshot, signal: str, model: str) -> str:
    for n, p in enumerate(snap.pending):
        if p.signal == signal and p.model == model:
            return f"pending:{signal}#{n}"
    return ""
