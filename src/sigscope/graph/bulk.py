"""Fill a ``networkx.MultiDiGraph`` in one go: the graph ``add_nodes_from``/``add_edge`` build.

``add_edge`` costs about 2 µs an edge (it checks both ends, copies the keyword
attributes into a new dict and clears the graph's cache each time); a snapshot
of 10,000 receivers has as many edges.  These functions write the same
adjacency directly, in the layout networkx documents for subclasses: ``_node``
(node -> attribute dict), ``_succ`` and ``_pred`` (node -> neighbour -> key dict,
one key dict shared by both sides), ``key -> attribute dict``.  The order of
every dict is the one the public calls would give, so iteration, exports and
equality are the same.  Attribute dicts passed in become the graph's own.
A graph whose factories are not plain ``dict`` gets the public calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

__all__ = ["add_edges", "add_nodes"]

# networkx >= 3.3 caches results per graph (its dispatch backends); 3.1-3.2 have no cache.
_clear_cache = getattr(nx, "_clear_cache", lambda graph: None)


def _plain(graph: nx.MultiDiGraph) -> bool:
    factories = (
        graph.node_dict_factory,
        graph.node_attr_dict_factory,
        graph.adjlist_outer_dict_factory,
        graph.adjlist_inner_dict_factory,
        graph.edge_key_dict_factory,
        graph.edge_attr_dict_factory,
    )
    return type(graph) is nx.MultiDiGraph and all(f is dict for f in factories)


def add_nodes(graph: nx.MultiDiGraph, nodes: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """``graph.add_nodes_from(nodes)`` for ``(node, attribute dict)`` pairs."""
    if not _plain(graph):
        graph.add_nodes_from(nodes)
        return
    node, succ, pred = graph._node, graph._succ, graph._pred
    for n, data in nodes:
        found = node.get(n)
        if found is None:
            node[n] = data
            succ[n] = {}
            pred[n] = {}
        else:
            found.update(data)
    _clear_cache(graph)


def add_edges(
    graph: nx.MultiDiGraph, edges: Iterable[tuple[str, str, str, dict[str, Any]]]
) -> None:
    """``graph.add_edge(u, v, key=key, **data)`` for each edge, in order; both ends must
    already be nodes (else the public call adds them)."""
    plain = _plain(graph)
    succ, pred = graph._succ, graph._pred
    for u, v, key, data in edges:
        if not plain or u not in succ or v not in succ:
            graph.add_edge(u, v, key=key, **data)
            continue
        keydict = succ[u].get(v)
        if keydict is None:
            succ[u][v] = pred[v][u] = {key: data}
        elif key in keydict:
            keydict[key].update(data)
        else:
            keydict[key] = data
    _clear_cache(graph)
