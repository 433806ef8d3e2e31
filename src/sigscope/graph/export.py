"""Plain-data exports: versioned JSON, Graphviz DOT and GraphML.

The JSON document (``"schema": 1``) is public: keys are only ever added.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import networkx as nx

from sigscope.records import Finding, ReceiverInfo, to_plain

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["SCHEMA", "finding_dict", "to_dict", "to_dot", "to_graphml", "to_json"]

SCHEMA = 1


def _receiver_dict(r: ReceiverInfo) -> dict[str, Any]:
    info = r.receiver
    return {
        "receiver": info.name,
        "kind": info.kind,
        "file": info.file,
        "line": info.line,
        "sender": None if r.sender.is_any else r.sender.label,
        "sender_kind": r.sender.kind,
        "dispatch_uid": r.dispatch_uid,
        "weak": r.weak,
        "is_async": r.is_async,
        "dead": r.dead,
        "stale": r.stale,
        "debug_kept_alive": r.debug_kept_alive,
        "bound_to": info.bound_to,
        "wrapped_by": list(info.wrapped_by),
        "order": r.index,
        "connected_at": r.connected_at,
        "declared_as": r.declared_as,
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    plain: dict[str, Any] = to_plain(f)
    return plain


def to_dict(snap: Snapshot, *, findings: tuple[Finding, ...] | None = None) -> dict[str, Any]:
    """The JSON document for a snapshot; ``findings`` overrides (e.g. filtered) findings."""
    return {
        "schema": SCHEMA,
        "django_version": snap.django_version,
        "debug": snap.debug,
        "signals": [
            {
                "name": s.name,
                "class": s.class_name,
                "builtin": s.is_builtin,
                "aliases": list(s.aliases),
                "receivers": [_receiver_dict(r) for r in s.receivers],
                "sent_from": [to_plain(site) for site in s.sent_from],
            }
            for s in snap.signals
        ],
        "pending": [
            {
                "signal": p.signal,
                "model": p.model,
                "receiver": p.receiver.name,
                "file": p.receiver.file,
                "line": p.receiver.line,
                "dispatch_uid": p.dispatch_uid,
                "unresolvable": p.unresolvable,
                "reason": p.reason,
                "suggestions": list(p.suggestions),
                "connected_at": p.connected_at,
            }
            for p in snap.pending
        ],
        "findings": [finding_dict(f) for f in (snap.findings if findings is None else findings)],
        "bypass_sites": [to_plain(b) for b in snap.bypass_sites],
    }


def to_json(snap: Snapshot, **options: Any) -> str:
    return json.dumps(to_dict(snap, **options), indent=2, sort_keys=False)


def _quote(text: Any) -> str:
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_NODE_STYLE = {
    "sender": 'shape=box, style="rounded,filled", fillcolor="#eef2f7"',
    "signal": 'shape=ellipse, style=filled, fillcolor="#fff3c4"',
    "receiver": 'shape=box, style=filled, fillcolor="#e3f4e1"',
    "site": 'shape=note, style=filled, fillcolor="#f1f3f5"',
}


def to_dot(graph: nx.MultiDiGraph) -> str:
    """Graphviz DOT, read left to right: senders → signals → receivers."""
    out = ["digraph sigscope {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node, data in sorted(graph.nodes(data=True)):
        style = _NODE_STYLE.get(data.get("type", ""), "")
        out.append(f"  {_quote(node)} [label={_quote(data.get('label', node))}, {style}];")
    for src, dst, data in graph.edges(data=True):
        attrs = []
        if data.get("relation") == "calls":
            label = data["sender"] if data["sender"] != "*" else ""
            if data.get("dispatch_uid"):
                label += f" uid={data['dispatch_uid']}"
            attrs.append(f"label={_quote(label.strip())}")
            if data["dead"] or data["pending"]:
                attrs.append('style=dashed, color="#888888"')
            elif data.get("finding"):
                attrs.append('color="#d9480f", penwidth=2')
        out.append(f"  {_quote(src)} -> {_quote(dst)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_graphml(graph: nx.MultiDiGraph) -> str:
    """GraphML text (``None`` values become empty strings)."""
    clean = nx.MultiDiGraph()
    clean.graph.update({k: _scalar(v) for k, v in graph.graph.items()})
    for node, data in graph.nodes(data=True):
        clean.add_node(node, **{k: _scalar(v) for k, v in data.items()})
    for src, dst, key, data in graph.edges(keys=True, data=True):
        clean.add_edge(src, dst, key=key, **{k: _scalar(v) for k, v in data.items()})
    buffer = io.BytesIO()
    nx.write_graphml(clean, buffer)
    return buffer.getvalue().decode("utf-8")


def _scalar(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
