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

Send sites (``site:<path>:<line>`` → signal, ``relation="send_site"``): see
:mod:`sigscope.graph.sites`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import networkx as nx

from sigscope.analysis import SEVERITY_ORDER
from sigscope.graph.bulk import add_edges, add_nodes
from sigscope.graph.sites import add_send_sites, send_sites_for_model
from sigscope.records import CallableInfo, ReceiverInfo, SenderInfo

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = [
    "MODEL_SIGNALS",
    "build_graph",
    "custom_signals_sent_with",
    "registered_by",
    "send_sites_for_model",
    "triggered_by",
]

ANY = "sender:*"


class _ReceiverIds:
    """Stable node ids: ``receiver:<name>``, then ``#2``, ``#3`` for other objects of one name."""

    def __init__(self) -> None:
        #: ``(name, self_id, func_id)`` (or ``(name, id(record))``) -> node id.
        self.known: dict[tuple[Any, ...], str] = {}
        self._per_name: dict[str, int] = {}

    def new(self, name: str, identity: tuple[Any, ...]) -> str:
        """The id for an identity not seen yet."""
        taken = self._per_name[name] = self._per_name.get(name, 0) + 1
        found = self.known[identity] = f"receiver:{name}" + (f"#{taken}" if taken > 1 else "")
        return found


def _receiver_attrs(info: CallableInfo, app: str, name: str) -> dict[str, Any]:
    return {
        "type": "receiver",
        "label": name,
        "kind": info.kind,
        "module": info.module or "",
        "qualname": info.qualname,
        "file": info.file or "",
        "line": info.line or 0,
        "is_async": info.is_async,
        "app": app,
    }


def _finding_index(snap: Snapshot) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for f in sorted(snap.findings, key=lambda f: -SEVERITY_ORDER[f.severity]):
        for name in f.receivers:
            index[(f.signal or "", name)] = f.kind
    return index


def build_graph(snap: Snapshot) -> nx.MultiDiGraph:
    """The graph of a snapshot (see the module docstring for the schema)."""
    builder = _Builder(_finding_index(snap), snap.app_of)
    for signal in snap.signals:
        builder.signal(signal.name, signal.class_name, signal.is_builtin)
        builder.registrations(signal.name, signal.receivers)
    for p in snap.pending:
        reg = ReceiverInfo(
            p.signal,
            -1,
            p.receiver,
            SenderInfo("pending", p.model, 0),
            p.dispatch_uid,
            p.weak,
            p.receiver.is_async,
            dead=False,
        )
        builder.signal(p.signal, "", p.signal.startswith("django."))
        builder.registrations(p.signal, (reg,), pending=True)
    graph = builder.graph(django_version=snap.django_version)
    add_send_sites(graph, snap)
    return graph


class _Builder:
    """Collects nodes and edges, then builds the graph in one go."""

    def __init__(
        self, findings: dict[tuple[str, str], str], app_of: Callable[[str | None], str]
    ) -> None:
        self.findings = findings
        self.app_of = app_of
        self.ids = _ReceiverIds()
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[tuple[str, str, str, dict[str, Any]]] = []
        self.sends: dict[tuple[str, str], int] = {}
        self.senders: dict[str, str] = {}  # sender node id -> the edges' ``sender``
        self.apps: dict[str | None, str] = {}

    def signal(self, name: str, class_name: str, builtin: bool) -> None:
        self.nodes.setdefault(
            f"signal:{name}",
            {
                "type": "signal",
                "label": name.rpartition(".")[2],
                "name": name,
                "class_name": class_name,
                "builtin": builtin,
            },
        )

    def registrations(
        self, signal: str, regs: Iterable[ReceiverInfo], *, pending: bool = False
    ) -> None:
        """One edge per registration of ``signal`` (pending ones: from ``pending:<model>``),
        and the receiver and sender nodes they need."""
        sid = f"signal:{signal}"
        prefix = "pending" if pending else "sender"
        sends, edges, findings = self.sends, self.edges, self.findings
        known = self.ids.known
        node_of: dict[int, tuple[str, str]] = {}  # id(SenderInfo) -> (node, shown)
        for reg in regs:
            info = reg.receiver
            name = info.name
            identity = (name, info.self_id, info.func_id) if info.func_id else (name, id(info))
            rid = known.get(identity)
            if rid is None:
                rid = self._receiver(info, name, identity)
            sender_info = reg.sender
            found = node_of.get(id(sender_info))
            if found is None:
                found = node_of[id(sender_info)] = self._sender(sender_info, prefix)
            sender, shown = found
            pair = (sender, sid)
            sends[pair] = sends.get(pair, 0) + 1
            order = reg.index
            data = {
                "relation": "calls",
                "sender": shown,
                "order": order,
                "dispatch_uid": reg.dispatch_uid or "",
                "weak": reg.weak,
                "is_async": reg.is_async,
                "dead": reg.dead,
                "pending": pending,
                "stale": reg.stale,
                "debug_kept_alive": reg.debug_kept_alive,
                "finding": findings.get((reg.signal, name), "") if findings else "",
            }
            edges.append((sid, rid, f"{signal}#{'pending' if pending else order}", data))

    def _receiver(self, info: CallableInfo, name: str, identity: tuple[Any, ...]) -> str:
        """A receiver's node id, first seen: named, and its node added."""
        rid = self.ids.new(name, identity)
        if rid not in self.nodes:
            self.nodes[rid] = _receiver_attrs(info, self._app(info.module), name)
        return rid

    def _sender(self, info: SenderInfo, prefix: str) -> tuple[str, str]:
        """The sender's node id (added on first use) and the edges' ``sender`` text."""
        sender = ANY if info.is_any else f"{prefix}:{info.label}"
        shown = self.senders.get(sender)
        if shown is None:
            label = info.label or "any sender"
            self.nodes[sender] = {"type": "sender", "kind": info.kind, "label": label}
            shown = self.senders[sender] = sender.split(":", 1)[1]
        return sender, shown

    def _app(self, module: str | None) -> str:
        """``app_of``, once per module (thousands of receivers share a few modules)."""
        app = self.apps.get(module)
        if app is None:
            app = self.apps[module] = self.app_of(module)
        return app

    def graph(self, **attrs: Any) -> nx.MultiDiGraph:
        graph = nx.MultiDiGraph(**attrs)
        add_nodes(graph, self.nodes.items())
        sends = (
            (sender, sid, "sends", {"relation": "sends", "registrations": n})
            for (sender, sid), n in self.sends.items()
        )
        add_edges(graph, sends)
        add_edges(graph, self.edges)
        return graph


#: Signals Django sends with a model class as sender (``m2m_changed``: the ``through`` model).
MODEL_SIGNALS = frozenset(
    f"django.db.models.signals.{name}"
    for name in ("pre_init", "post_init", "pre_save", "post_save", "pre_delete", "post_delete")
)
M2M_CHANGED = "django.db.models.signals.m2m_changed"


def custom_signals_sent_with(graph: nx.MultiDiGraph, model: str) -> set[str]:
    """Names of custom signals whose send sites pass ``model`` as sender.

    Send sites are ``site:<path>:<line>`` nodes with a ``send_site`` edge to the
    signal they send; the scan resolves the ``sender=`` expression to a model
    label (``sender_model``) through the module's imports.  Without send-site
    nodes (``scan_source=False``), no custom signal.
    """
    found = set()
    for _, target, data in graph.edges(data=True):
        if data.get("relation") == "send_site" and data.get("sender_model") == model:
            name = graph.nodes[target].get("name")
            if name and name not in MODEL_SIGNALS and name != M2M_CHANGED:
                found.add(name)
    return found


def triggered_by(
    graph: nx.MultiDiGraph, model: str, *, custom_signals: Iterable[str] | None = None
) -> list[str]:
    """Receiver node ids that run when ``model`` (a label: ``"shop.Order"``) is the sender.

    Only signals sent with a model sender count: the instance signals
    (``pre_save``, ``post_delete``, …; receivers for that model or any sender),
    ``m2m_changed`` (receivers for that exact ``through`` model), and custom
    signals whose send sites pass the model (``custom_signals``, default:
    :func:`custom_signals_sent_with`).  ``request_started`` or
    ``setting_changed`` receivers are not triggered by a model.  Same form as
    :func:`registered_by`: sorted node ids.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> for name in ("django.db.models.signals.post_save", "django.core.signals.request_started"):
    ...     g.add_node(f"signal:{name}", name=name)
    ...     edge = {"relation": "calls", "sender": "*", "dead": False, "pending": False}
    ...     g.add_edge(f"signal:{name}", f"receiver:on_{name[-5:]}", **edge)
    >>> triggered_by(g, "shop.Order")
    ['receiver:on__save']
    """
    custom = (
        custom_signals_sent_with(graph, model) if custom_signals is None else set(custom_signals)
    )
    found = set()
    for sid, rid, data in graph.edges(data=True):
        if data.get("relation") != "calls" or data["dead"] or data["pending"]:
            continue
        name = graph.nodes[sid].get("name")
        exact = data["sender"] == model
        if name in MODEL_SIGNALS or name in custom:
            if exact or data["sender"] == "*":
                found.add(rid)
        elif name == M2M_CHANGED and exact:
            found.add(rid)
    return sorted(found)


def registered_by(graph: nx.MultiDiGraph, prefixes: str | Iterable[str]) -> list[str]:
    """Receiver node ids whose module is ``prefix`` or inside it (a module or an app)."""
    wanted = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    return sorted(
        node
        for node, data in graph.nodes(data=True)
        if data.get("type") == "receiver"
        and any(data["module"] == p or data["module"].startswith(p + ".") for p in wanted)
    )
