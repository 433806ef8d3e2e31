"""Crossing minimisation for a three-layer drawing (pure functions, deterministic).

The classic Sugiyama step: layers are reordered by the barycenter (mean
position) of each node's neighbours in the adjacent layer, sweeping down
(0 → 1 → 2) then up (2 → 1 → 0), several passes; the order with the fewest
crossings wins.  Ties keep the current order, so the result depends only on
the input, never on hashing or dict order.

Layer 2 (receivers) is *grouped*: nodes of one group (an app) stay together.
Groups are ordered by the mean barycenter of their members, and members within
a group by their own.

Crossings between two layers are counted in ``O(E log E)`` (inversions of the
target positions once edges are sorted by source position).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["count_crossings", "minimise_crossings"]

Edge = tuple[str, str]  # (node in layer i, node in layer i + 1)


def count_crossings(order: Sequence[Sequence[str]], edges: Sequence[Sequence[Edge]]) -> int:
    """Edge crossings of a layered drawing: ``edges[i]`` join ``order[i]`` to ``order[i+1]``.

    >>> count_crossings([["a", "b"], ["x", "y"]], [[("a", "y"), ("b", "x")]])
    1
    """
    total = 0
    for i, between in enumerate(edges):
        top = {n: p for p, n in enumerate(order[i])}
        bottom = {n: p for p, n in enumerate(order[i + 1])}
        pairs = sorted((top[u], bottom[v]) for u, v in between)
        total += _inversions([b for _, b in pairs], len(bottom))
    return total


def _inversions(values: list[int], size: int) -> int:
    """Pairs i < j with values[i] > values[j] (a Fenwick tree over positions)."""
    tree = [0] * (size + 1)
    inversions = 0
    for seen, value in enumerate(values):
        # how many seen so far are <= value
        i, not_greater = value + 1, 0
        while i > 0:
            not_greater += tree[i]
            i -= i & -i
        inversions += seen - not_greater
        i = value + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return inversions


def _barycenters(
    layer: Sequence[str], neighbours: Mapping[str, list[str]], position: Mapping[str, int]
) -> dict[str, float]:
    found = {}
    for index, node in enumerate(layer):
        around = [position[n] for n in neighbours.get(node, ()) if n in position]
        found[node] = sum(around) / len(around) if around else float(index)
    return found


def _reorder(layer: list[str], keys: Mapping[str, float], group: Mapping[str, str]) -> list[str]:
    current = {n: i for i, n in enumerate(layer)}
    if not group:
        return sorted(layer, key=lambda n: (keys[n], current[n]))
    members: dict[str, list[str]] = {}
    for node in layer:
        members.setdefault(group.get(node, ""), []).append(node)
    first = {g: current[nodes[0]] for g, nodes in members.items()}
    mean = {g: sum(keys[n] for n in nodes) / len(nodes) for g, nodes in members.items()}
    ordered = sorted(members, key=lambda g: (mean[g], first[g]))
    return [n for g in ordered for n in sorted(members[g], key=lambda n: (keys[n], current[n]))]


def minimise_crossings(
    order: Sequence[Sequence[str]],
    edges: Sequence[Sequence[Edge]],
    *,
    groups: Mapping[str, str] | None = None,
    passes: int = 6,
) -> tuple[list[list[str]], int, int]:
    """Reorder the layers to reduce crossings: ``(new order, crossings before, after)``.

    ``groups`` maps nodes of the *last* layer to a group that stays contiguous.

    >>> order, before, after = minimise_crossings(
    ...     [["a", "b"], ["x", "y"]], [[("a", "y"), ("b", "x")]])
    >>> order, before, after
    ([['a', 'b'], ['y', 'x']], 1, 0)
    """
    layers = [list(layer) for layer in order]
    if sum(len(between) for between in edges) > 3000:
        passes = min(passes, 2)  # each pass is O(E log E); the first two give most of the gain
    down: list[dict[str, list[str]]] = [{} for _ in layers]  # node -> neighbours above
    up: list[dict[str, list[str]]] = [{} for _ in layers]  # node -> neighbours below
    for i, between in enumerate(edges):
        for u, v in between:
            down[i + 1].setdefault(v, []).append(u)
            up[i].setdefault(u, []).append(v)
    last = len(layers) - 1
    grouping = groups or {}
    before = best_count = count_crossings(layers, edges)
    best = [list(layer) for layer in layers]
    for _ in range(passes):
        if best_count == 0:
            break
        sweep = [(i, down[i], i - 1) for i in range(1, len(layers))]
        sweep += [(i, up[i], i + 1) for i in range(len(layers) - 2, -1, -1)]
        for i, neighbours, other in sweep:
            position = {n: p for p, n in enumerate(layers[other])}
            keys = _barycenters(layers[i], neighbours, position)
            layers[i] = _reorder(layers[i], keys, grouping if i == last else {})
            if i in (last, 0):  # after the down half and after the up half of the sweep
                found = count_crossings(layers, edges)
                if found < best_count:
                    best_count, best = found, [list(layer) for layer in layers]
    return best, before, best_count
