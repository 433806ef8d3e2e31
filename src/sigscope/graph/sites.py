"""Send-site nodes: where the project's source sends each signal.

``site:<path>:<line>`` nodes (``type="site"``, ``label``, ``file``, ``line``,
``function``) with one ``relation="send_site"`` edge to each signal sent there
(keyed by the signal's name; ``method``, ``sender`` as written, ``sender_model``,
the model label the sender names, or ``""``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["add_send_sites", "send_sites_for_model"]


def add_send_sites(graph: nx.MultiDiGraph, snap: Snapshot) -> None:
    """Add a node per send site in ``snap`` and an edge from it to the signal it sends."""
    for signal in snap.signals:
        if not signal.sent_from:
            continue
        sid = f"signal:{signal.name}"
        if sid not in graph:
            graph.add_node(
                sid,
                type="signal",
                label=signal.name.rpartition(".")[2],
                name=signal.name,
                class_name=signal.class_name,
                builtin=signal.is_builtin,
            )
        for site in signal.sent_from:
            node = f"site:{site.file}:{site.line}"
            if node not in graph:
                graph.add_node(
                    node,
                    type="site",
                    label=f"{site.function} ({os.path.basename(site.file)}:{site.line})",
                    file=site.file,
                    line=site.line,
                    function=site.function,
                )
            graph.add_edge(
                node,
                sid,
                key=signal.name,
                relation="send_site",
                method=site.method,
                sender=site.sender or "",
                sender_model=site.sender_model or "",
            )


def send_sites_for_model(graph: nx.MultiDiGraph, model: str) -> list[tuple[str, str]]:
    """``(signal, receiver)`` pairs that run when the source sends a custom signal with
    ``sender=<model>`` (a label), from the send sites whose sender names that model.

    Receivers for that model or for any sender count; each pair is listed once.
    """
    signals = {
        sid
        for site, sid, data in graph.edges(data=True)
        if data.get("relation") == "send_site" and data.get("sender_model") == model
    }
    pairs = [
        (graph.nodes[sid]["name"], graph.nodes[rid]["label"])
        for sid in sorted(signals)
        for _, rid, data in graph.out_edges(sid, data=True)
        if data.get("relation") == "calls"
        and data["sender"] in (model, "*")
        and not data["dead"]
        and not data["pending"]
    ]
    return list(dict.fromkeys(pairs))
