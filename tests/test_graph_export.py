"""The networkx graph, its queries, and the JSON/DOT/GraphML exports."""

from __future__ import annotations

import io
import json

import networkx as nx
import pytest
from django.apps import apps
from django.dispatch import Signal

import sigscope
from sigscope.graph import MODEL_SIGNALS, registered_by, triggered_by
from sigscope.graph.export import to_dict, to_dot, to_graphml

tiny = Signal()


def twice(sender, **kwargs):
    return None


@pytest.fixture
def wired():
    order = apps.get_model("shop", "Order")
    tiny.connect(twice)
    tiny.connect(twice, dispatch_uid="again")
    tiny.connect(twice, sender=order)
    yield order
    tiny.receivers.clear()


def test_two_registrations_of_one_function_are_two_edges(wired):
    graph = sigscope.snapshot(scan_source=False).graph
    assert isinstance(graph, nx.MultiDiGraph)
    signal = f"signal:{__name__}.tiny"
    receiver = f"receiver:{__name__}.twice"
    edges = graph.get_edge_data(signal, receiver)
    assert len(edges) == 3
    assert sorted(e["sender"] for e in edges.values()) == ["*", "*", "shop.Order"]
    assert all(e["finding"].startswith("duplicate_") for e in edges.values())
    assert graph.edges["sender:shop.Order", signal, "sends"]["registrations"] == 1
    assert graph.edges["sender:*", signal, "sends"]["registrations"] == 2
    assert graph.nodes[receiver]["type"] == "receiver"
    assert graph.nodes[receiver]["line"] == twice.__code__.co_firstlineno


def test_queries(wired):
    snap = sigscope.snapshot(scan_source=False)
    graph = snap.graph
    fired = triggered_by(graph, "shop.Order")
    assert fired == sorted(set(fired))  # the form of registered_by: sorted node ids
    # the demo's own post_save receivers for orders show up
    on_save = {
        rid
        for sid, rid, data in graph.out_edges(
            "signal:django.db.models.signals.post_save", data=True
        )
        if data["sender"] in ("shop.Order", "*") and not data["dead"]
    }
    assert on_save and on_save <= set(fired)
    # only model signals: never request_started / setting_changed receivers, nor a custom
    # signal that nothing sends with the model
    model_signals = {f"signal:{name}" for name in MODEL_SIGNALS}
    assert all(any(u in model_signals for u, _ in graph.in_edges(r)) for r in fired)
    hashers = "receiver:django.contrib.auth.hashers.reset_hashers"
    assert hashers in graph and hashers not in fired
    assert f"receiver:{__name__}.twice" not in fired
    # custom signals sent with the model (from send sites) are added through custom_signals
    with_custom = triggered_by(graph, "shop.Order", custom_signals=[f"{__name__}.tiny"])
    assert f"receiver:{__name__}.twice" in with_custom
    assert f"receiver:{__name__}.twice" in registered_by(snap.graph, __name__)
    assert all(
        snap.graph.nodes[n]["module"].startswith("sigscope.demo")
        for n in registered_by(snap.graph, "sigscope.demo")
    )


def test_json_schema_1(wired):
    snap = sigscope.snapshot(scan_source=False)
    document = json.loads(json.dumps(to_dict(snap)))
    assert document["schema"] == 1
    signal = next(s for s in document["signals"] if s["name"] == f"{__name__}.tiny")
    first = signal["receivers"][0]
    for key in ("receiver", "file", "line", "sender", "dispatch_uid", "weak", "is_async", "dead"):
        assert key in first
    assert first["receiver"] == f"{__name__}.twice" and first["sender"] is None
    assert signal["receivers"][2]["sender"] == "shop.Order"
    assert {"signal", "model", "receiver"} <= set(document["pending"][0])
    finding = document["findings"][0]
    assert {"kind", "severity", "signal", "sender", "receivers", "message", "fix"} <= set(finding)


def test_graphml_round_trips(wired):
    snap = sigscope.snapshot(scan_source=False)
    back = nx.read_graphml(io.BytesIO(to_graphml(snap.graph).encode()), force_multigraph=True)
    assert back.number_of_nodes() == snap.graph.number_of_nodes()
    assert back.number_of_edges() == snap.graph.number_of_edges()


def test_dot_quotes_names_and_marks_problems(wired):
    text = to_dot(sigscope.snapshot(scan_source=False).graph)
    assert text.startswith("digraph sigscope {") and "rankdir=LR" in text
    assert f'"signal:{__name__}.tiny" -> "receiver:{__name__}.twice"' in text
    assert 'color="#d9480f"' in text  # a duplicate is drawn in the warning colour
    assert text.count("{") == text.count("}")


def test_diff_shows_what_a_step_connected():
    before = sigscope.snapshot(scan_source=False)
    tiny.connect(twice)
    after = sigscope.snapshot(scan_source=False)
    tiny.disconnect(twice)
    result = sigscope.diff(before, after)
    assert [(r.signal, r.receiver.name) for r in result.added] == [
        (f"{__name__}.tiny", f"{__name__}.twice")
    ]
    assert result.removed == () and result.changed == ()
    back = sigscope.diff(after, sigscope.snapshot(scan_source=False))
    assert len(back.removed) == 1 and not back.added
