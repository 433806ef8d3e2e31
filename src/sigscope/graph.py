"""Records → a ``networkx.MultiDiGraph``: senders → signals → receivers.

Schema (every attribute is a str, int or bool, so GraphML can hold it):

Nodes
    ``sender:<label>`` (``sender:*`` for any sender, ``pending:<app.model>`` for
    a lazy sender that has not loaded): ``type="sender"``, ``label``, ``kind``
    (``any``/``model``/``app_config``/``object``/``unknown``/``pending``).

    ``signal:<name>``: ``type="signal"``, ``label`` (short name), ``name``,
    ``class_name``, ``builtin``.

    ``receiver:<dotted name>`` (``#2``, ``#3``… when distinct objects share a
    name, e.g. closures made twice): ``type="receiver"``, ``label``, ``kind``,
    ``module``, ``qualname``, ``file``, ``line``, ``is_async``, ``app``.

Edges
    sender → signal, ``relation="sends"``, one per (sender, signal) pair, with
    ``registrations`` (how many receivers listen for that pair).

    signal → receiver, ``relation="calls"``, **one per registration** (keyed
    ``"<signal>#<index>"``; two registrations of one function are two edges),
    with ``sender``, ``order`` (position in ``Signal.receivers``),
    ``dispatch_uid``, ``weak``, ``is_async``, ``dead``, ``pending``, ``stale``,
    ``debug_kept_alive``, ``finding`` (the most severe finding kind, or ``""``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import networkx as nx

from sigscope.analysis import SEVERITY_ORDER
from sigscope.records import CallableInfo, ReceiverInfo

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["build_graph", "registered_by", "triggered_by"]

ANY = "sender:*"


def _receiver_id(info: CallableInfo, seen: dict[tuple[str, Any], str]) -> str:
    identity = (info.name, (info.self_id, info.func_id) if info.func_id else id(info))
    if identity not in seen:
        taken = sum(1 for name, _ in seen if name == info.name)
        suffix = f"#{taken + 1}" if taken else ""
        seen[identity] = f"receiver:{info.name}{suffix}"
    return seen[identity]


def _receiver_attrs(info: CallableInfo) -> dict[str, Any]:
    return {
        "type": "receiver",
        "label": info.name,
        "kind": info.kind,
        "module": info.module or "",
        "qualname": info.qualname,
        "file": info.file or "",
        "line": info.line or 0,
        "is_async": info.is_async,
        "app": (info.module or "").split(".", 1)[0],
    }


def _finding_index(snap: Snapshot) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for f in sorted(snap.findings, key=lambda f: -SEVERITY_ORDER[f.severity]):
        for name in f.receivers:
            index[(f.signal or "", name)] = f.kind
    return index


def build_graph(snap: Snapshot) -> nx.MultiDiGraph:
    """The graph of a snapshot (see the module docstring for the schema)."""
    graph = nx.MultiDiGraph(django_version=snap.django_version)
    seen: dict[tuple[str, Any], str] = {}
    findings = _finding_index(snap)
    for signal in snap.signals:
        sid = f"signal:{signal.name}"
        graph.add_node(
            sid,
            type="signal",
            label=signal.name.rpartition(".")[2],
            name=signal.name,
            class_name=signal.class_name,
            builtin=signal.is_builtin,
        )
        for reg in signal.receivers:
            sender = ANY if reg.sender.is_any else f"sender:{reg.sender.label}"
            _add_registration(graph, sid, sender, reg, seen, findings, pending=False)
            _count_sender(graph, sender, sid, reg.sender.kind, reg.sender.label)
    for p in snap.pending:
        sid = f"signal:{p.signal}"
        sender = f"pending:{p.model}"
        reg = ReceiverInfo(
            p.signal,
            -1,
            p.receiver,
            _pending_sender(p.model),
            p.dispatch_uid,
            p.weak,
            p.receiver.is_async,
            dead=False,
        )
        _add_registration(graph, sid, sender, reg, seen, findings, pending=True)
        _count_sender(graph, sender, sid, "pending", p.model)
    return graph


def _pending_sender(model: str) -> Any:
    from sigscope.records import SenderInfo

    return SenderInfo("pending", model, 0)


def _count_sender(graph: nx.MultiDiGraph, sender: str, sid: str, kind: str, label: Any) -> None:
    if sender not in graph:
        graph.add_node(sender, type="sender", kind=kind, label=label or "any sender")
    if graph.has_edge(sender, sid, key="sends"):
        graph.edges[sender, sid, "sends"]["registrations"] += 1
    else:
        graph.add_edge(sender, sid, key="sends", relation="sends", registrations=1)


def _add_registration(
    graph: nx.MultiDiGraph,
    sid: str,
    sender: str,
    reg: ReceiverInfo,
    seen: dict[tuple[str, Any], str],
    findings: dict[tuple[str, str], str],
    *,
    pending: bool,
) -> None:
    rid = _receiver_id(reg.receiver, seen)
    if rid not in graph:
        graph.add_node(rid, **_receiver_attrs(reg.receiver))
    if sid not in graph:
        graph.add_node(
            sid,
            type="signal",
            label=sid.rpartition(".")[2],
            name=sid[7:],
            class_name="",
            builtin=False,
        )
    graph.add_edge(
        sid,
        rid,
        key=f"{reg.signal}#{reg.index if not pending else 'pending'}:{rid}",
        relation="calls",
        sender=sender.split(":", 1)[1],
        order=reg.index,
        dispatch_uid=reg.dispatch_uid or "",
        weak=reg.weak,
        is_async=reg.is_async,
        dead=reg.dead,
        pending=pending,
        stale=reg.stale,
        debug_kept_alive=reg.debug_kept_alive,
        finding=findings.get((reg.signal, reg.receiver.name), ""),
    )


def triggered_by(graph: nx.MultiDiGraph, sender: str) -> list[tuple[str, str]]:
    """``(signal, receiver)`` pairs that run when ``sender`` (a label) sends, any sender too."""
    return [
        (graph.nodes[sid]["name"], graph.nodes[rid]["label"])
        for sid, rid, data in graph.edges(data=True)
        if data.get("relation") == "calls"
        and data["sender"] in (sender, "*")
        and not data["dead"]
        and not data["pending"]
    ]


def registered_by(graph: nx.MultiDiGraph, prefixes: str | Iterable[str]) -> list[str]:
    """Receiver node ids whose module is ``prefix`` or inside it (a module or an app)."""
    wanted = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    return sorted(
        node
        for node, data in graph.nodes(data=True)
        if data.get("type") == "receiver"
        and any(data["module"] == p or data["module"].startswith(p + ".") for p in wanted)
    )
