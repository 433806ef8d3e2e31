"""The graph views without a browser: layout, static SVG, the widget's state, the live feed."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.views.graph_widget import GraphWidget
from sigscope.views.layout import default_collapsed, group_of, layout_graph
from sigscope.views.ordering import count_crossings, minimise_crossings
from sigscope.views.select import Filters, rows, select_graph
from sigscope.views.svg import events_svg, snapshot_svg

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def wait_for(check, what, timeout=60.0):  # generous: the machine may be busy
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


@pytest.fixture
def demo_graph():
    snap = sigscope.snapshot()
    return snap, select_graph(snap, rows(snap, Filters(hide_builtin=False)))


def test_crossings_are_counted_and_reduced():
    order = [["a", "b", "c"], ["x", "y", "z"]]
    edges = [[("a", "z"), ("b", "y"), ("c", "x")]]
    assert count_crossings(order, edges) == 3
    best, before, after = minimise_crossings(order, edges)
    assert (before, after) == (3, 0) and best[1] == ["z", "y", "x"]
    grouped, _, _ = minimise_crossings(
        [["a", "b"], ["p", "q", "r"]],
        [[("a", "r"), ("b", "p"), ("a", "q")]],
        groups={"p": "g1", "q": "g2", "r": "g2"},
    )
    assert grouped[1].index("q") + 1 == grouped[1].index("r") or grouped[1][:2] == ["q", "r"]


def test_layout_of_the_demo(demo_graph):
    _, graph = demo_graph
    lay = layout_graph(graph, collapsed=())
    assert lay == layout_graph(graph, collapsed=())  # deterministic
    assert lay.crossings_after < lay.crossings_before
    kinds = {n.id: n.kind for n in lay.nodes}
    calls = [
        (u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if d["relation"] == "calls"
    ]
    sites = [u for u, _, d in graph.edges(data=True) if d["relation"] == "send_site"]
    assert sites and all(kinds[u] == "site" for u in sites)  # send sites: the first layer
    assert {k for _, _, k in calls} == {link.id for link in lay.links if link.kind == "calls"}
    assert any(link.lane == 1 for link in lay.links)  # a doubled registration is two lines
    xs = {kind: {n.x for n in lay.nodes if n.kind == kind} for kind in ("signal", "receiver")}
    assert len(xs["signal"]) == 1 and min(xs["receiver"]) > max(xs["signal"])  # left to right
    receivers = [n for n in lay.nodes if n.kind == "receiver"]
    groups = [n.group for n in sorted(receivers, key=lambda n: n.y)]
    runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(runs) == len(set(runs))  # each app's receivers are contiguous
    assert kinds["sender:*"] == "sender"
    severe = {n.title: n.severity for n in receivers if n.severity}
    assert severe.get("sigscope.demo.shop.signals.sync_to_erp") == "warning"  # no severities


def test_folding_groups(demo_graph):
    _, graph = demo_graph
    assert "django" in default_collapsed(graph)
    assert default_collapsed(graph, budget=0) >= {"shop", "blog", "django"}
    lay = layout_graph(graph, collapsed={"django", "shop"})
    folded = {n.id: n for n in lay.nodes if n.kind == "group"}
    assert set(folded) == {"group:django", "group:shop"}
    received = [v for _, v, d in graph.edges(data=True) if d["relation"] == "calls"]
    shop = sum(1 for v in received if group_of(graph.nodes[v]) == "shop")
    assert folded["group:shop"].count == shop
    assert not any(n.group == "shop" and n.kind == "receiver" for n in lay.nodes)
    assert all(lay.shown_as[v] == "group:shop" for v in received if "shop" in v)


@pytest.fixture
def evil():
    signal = Signal()

    def receiver(sender, **kwargs):
        raise ValueError(PAYLOAD)

    receiver.__qualname__ = "EvilReceiver" + PAYLOAD
    signal.connect(receiver, weak=False, dispatch_uid=PAYLOAD)
    yield signal
    signal.receivers.clear()


def test_static_svg_is_well_formed_and_escaped(evil):
    snap = sigscope.snapshot()
    svg = snapshot_svg(snap)
    root = ET.fromstring(svg)  # well-formed XML
    texts = "".join(root.itertext())
    assert "EvilReceiver" + PAYLOAD in texts and "post_save" in texts
    assert "<script" not in svg and "<img" not in svg
    assert "<svg" in snap._repr_mimebundle_()["text/html"]
    with sigscope.trace() as t:
        evil.send_robust(sender=None)
    picture = events_svg(t.events)
    assert picture is not None and "<script" not in picture
    assert "✖" in "".join(ET.fromstring(picture).itertext())  # the error, as a glyph too
    assert "<svg" in t._repr_mimebundle_()["text/html"]


def test_inspector_graph_selection_details_and_folds():
    inspector = sigscope.inspect()
    graph = inspector.graph
    ids = [row[0] for row in graph.nodes]
    assert "group:django" in ids and "signal:django.db.models.signals.post_save" in ids
    target = next(i for i in ids if i.endswith("blog.handlers.reindex_tags"))
    graph.selected_id = target  # what a click does
    details = graph.details
    assert details["title"] == "blog.handlers.reindex_tags"
    labels = [k for k, _ in details["rows"]]
    assert {"signal", "sender", "where", "dispatch_uid", "weak", "async"} <= set(labels)
    assert "def reindex_tags" in details["source"]
    assert details["findings"] and details["findings"][0][1] == "duplicate_module_alias"
    record = inspector.selected
    assert record is not None and record.receiver.name == "blog.handlers.reindex_tags"
    assert inspector.receivers.value == next(r.key for r in inspector.rows if r.node == target)

    graph.collapsed = [*graph.collapsed, "blog"]  # what clicking the group head does
    assert "group:blog" in [row[0] for row in graph.nodes]
    inspector.hide_builtin.value = False
    assert "group:django" not in [row[0] for row in graph.nodes]
    assert "group:blog" in [row[0] for row in graph.nodes]  # the user's fold is kept
    inspector.search.value = "reindex"
    assert graph.search == "reindex"
    graph.selected_id = "signal:django.db.models.signals.m2m_changed"
    assert inspector.selected.name == "django.db.models.signals.m2m_changed"
    assert graph.details["kind"] == "signal"

    # send sites come first, on the left: the demo's place_order() sends order_placed
    placed = inspector.snap.signal("sigscope.demo.shop.signals.order_placed")
    [site] = [s for s in placed.sent_from if s.function == "place_order"]
    node = f"site:{site.file}:{site.line}"
    assert node in [row[0] for row in graph.nodes]
    assert (node, "signal:sigscope.demo.shop.signals.order_placed") in {
        (row[1], row[2]) for row in graph.links
    }
    graph.selected_id = node
    assert inspector.selected == site
    assert graph.details["kind"] == "site" and "order_placed.send" in graph.details["source"]


def test_widget_ships_its_module_and_stays_compact(demo_graph):
    _, graph = demo_graph
    widget = GraphWidget(graph)
    assert "export default" in widget._esm and ".sigscope-gw" in widget._css
    assert "innerHTML" not in widget._esm  # strings are set as text
    assert all(len(row) == 11 for row in widget.nodes)


def test_live_graph_counts_pulses_and_errors(evil):
    ok = Signal()

    def listener(sender, **kwargs):
        return 1

    ok.connect(listener, weak=False)
    inspector = sigscope.inspect(live=True, hide_builtin=False)
    try:
        graph = inspector.graph
        before = len(graph.nodes)
        link = next(row[0] for row in graph.links if row[2].endswith(".listener"))
        bad = next(row[0] for row in graph.links if "EvilReceiver" in row[2])

        def pump():
            for _ in range(500):
                ok.send(sender=None)
            evil.send_robust(sender=None)

        thread = threading.Thread(target=pump)
        thread.start()
        thread.join()
        # both sends are in once the thread ended; a flush may still show only the first
        live = wait_for(
            lambda: (
                graph.live.get("calls", {}).get(link) == 500
                and graph.live.get("errors")
                and graph.live
            ),
            "500 calls and the error",
        )
        assert live["errors"] == {bad: 1} and live["state"] == "recording"
        assert len(graph.nodes) == before  # nothing reflows while live
        assert inspector.live.updates <= 50  # coalesced, not one update per send
        inspector.live.pause()
        ok.send(sender=None)
        wait_for(lambda: graph.live.get("state") == "paused", "the paused state")
        assert graph.live["calls"][link] == 500
        inspector.live.clear()
        wait_for(lambda: graph.live.get("calls") == {}, "Clear to empty the counts")
    finally:
        inspector.close()
    assert graph.live["state"] == "stopped"
    assert sigscope.tracing.active_tracers() == ()
    ok.receivers.clear()
