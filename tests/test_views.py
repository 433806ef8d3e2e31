"""The views without a kernel: widget logic, pictures, static HTML, escaping, the monitor."""

from __future__ import annotations

import json
import threading
import time

import anywidget
import pytest
from django.dispatch import Signal

import sigscope
from sigscope.records import (
    BypassEvent,
    CallableInfo,
    OnCommitCallback,
    ReceiverCall,
    SendEvent,
    UnheardSends,
)
from sigscope.views.draw import draw_graph, draw_timeline, figure_png
from sigscope.views.html import details_html, snapshot_html
from sigscope.views.inspector import Inspector
from sigscope.views.monitor import Monitor
from sigscope.views.select import Filters, rows, select_graph
from sigscope.views.trace_data import cascade, waterfall_data

PNG = b"\x89PNG\r\n\x1a\n"
hostile = Signal()


class Evil:
    """A callable whose names carry HTML payloads."""

    def __call__(self, sender, **kwargs):
        return "<script>window.__pwned=1</script>"


Evil.__qualname__ = "Evil<script>alert(1)</script>"
Evil.__call__.__qualname__ = "Evil<img src=x onerror=alert(2)>.__call__"


@pytest.fixture
def evil():
    receiver = Evil()
    hostile.connect(receiver, weak=False)
    yield receiver
    hostile.receivers.clear()


def test_inspector_filters_search_and_details():
    inspector = Inspector()
    everything = len(inspector.receivers.options)
    assert everything > 10 and len(inspector.graph.nodes) > 10
    inspector.search.value = "reindex"
    labels = [label for label, _ in inspector.receivers.options]
    assert len(labels) == 2 and all("reindex_tags" in label for label in labels)
    assert all(label.startswith("⚠ ") for label in labels)  # both copies are a duplicate
    inspector.receivers.value = inspector.receivers.options[0][1]
    assert "blog.handlers.reindex_tags" in inspector.details.value
    assert "duplicate_module_alias" in inspector.details.value and "fix:" in inspector.details.value
    assert "handlers.py" in inspector.details.value  # file:line and the source excerpt
    inspector.search.value = ""
    inspector.hide_builtin.value = False
    assert len(inspector.receivers.options) > everything  # Django's own receivers too
    inspector.app.value = "blog"
    assert all("blog" in label for label, _ in inspector.receivers.options)
    inspector.app.value = "(all)"
    inspector.severity.value = "error"
    assert all(label.startswith("⚠ ") for label, _ in inspector.receivers.options)


def test_inspector_keyword_filters_and_refresh():
    inspector = sigscope.inspect(signal="m2m_changed")
    assert {label.split(" ← ")[0].lstrip("⚠ ") for label, _ in inspector.receivers.options} == {
        "m2m_changed"
    }
    inspector.refresh()
    assert inspector.signal.value == "m2m_changed"


class Temporary:
    def on(self, sender, **kwargs):
        return None


def test_graph_picture_is_deterministic_and_aggregates_large_registries():
    hostile.connect(Temporary().on)  # dead at once (Django prunes it later)
    snap = sigscope.snapshot(scan_source=False)
    hostile.receivers.clear()
    chosen = select_graph(snap, rows(snap, Filters()))
    first, second = figure_png(draw_graph(chosen)), figure_png(draw_graph(chosen))
    assert first == second and first.startswith(PNG)
    grouped = draw_graph(chosen, aggregate_above=3)
    texts = [t.get_text() for t in grouped.axes[0].texts]
    assert any("registrations)" in t for t in texts)
    assert any("grouped by app" in t for t in texts)
    detailed = [t.get_text() for t in draw_graph(chosen).axes[0].texts]
    assert any("⚠ " in t and "reindex_tags" in t for t in detailed)
    assert any("[dead]" in t for t in detailed) and any("[pending]" in t for t in detailed)


def test_html_payloads_are_escaped_everywhere(evil):
    snap = sigscope.snapshot(scan_source=False)
    page = snapshot_html(snap)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    [row] = rows(snap, Filters(text="evil"))
    details = details_html(row)
    assert "<img src=x" not in details and "&lt;img" in details
    inspector = Inspector(snap, search="evil")
    assert next(label for label, _ in inspector.receivers.options).endswith(".__call__")
    with sigscope.trace() as t:
        hostile.send(sender=None, note="<b>bold</b>")
    bundle = t._repr_mimebundle_()
    assert "<script>window" not in bundle["text/html"] and "<b>bold" not in bundle["text/html"]
    assert bundle["image/png"]


def test_snapshot_and_findings_display_without_widgets():
    snap = sigscope.snapshot()
    bundle = snap._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert "Findings" not in bundle["text/plain"] and "post_save" in bundle["text/plain"]
    assert "<svg" in bundle["text/html"] and "data:image/png" not in bundle["text/html"]
    findings = snap.findings._repr_mimebundle_()
    assert "duplicate_module_alias" in findings["text/plain"]
    assert "sigscope-finding-list" in findings["text/html"]


def test_trace_view_is_an_anywidget_of_plain_data_from_the_records():
    with sigscope.trace() as t:
        sigscope.demo.run_scenario()
    view = t.show()
    assert isinstance(view, anywidget.AnyWidget)
    assert json.loads(json.dumps(view.data)) == view.data  # plain JSON, no live object
    sends = view.data["sends"]
    assert [s["id"] for s in sends] == [e.id for e in t.events]
    shipped = next(s for s in sends if s["sig"] == "order_shipped")
    parent = next(s for s in sends if s["id"] == shipped["p"][0])
    assert parent["calls"][shipped["p"][1]]["n"].endswith("notify_shipped")
    assert view.selected is None
    view.selection = f"call:{parent['id']}:{shipped['p'][1]}"
    assert view.selected.name.endswith("notify_shipped")
    assert view.send_of(view.selected).signal == "django.db.models.signals.post_save"
    view.selection = f"send:{shipped['id']}"
    assert view.selected.signal.endswith("order_shipped")
    assert "text/html" in t._repr_mimebundle_()  # the static fallback stays
    figure = draw_timeline(t.events, limit=10)
    assert "first 10 of" in figure.axes[0].get_title()


def test_cascade_answers_what_runs_when_an_order_is_saved():
    with sigscope.trace() as t:
        sigscope.demo.run_scenario()
    roots = {n["label"]: n for n in cascade(t.events)}
    saved = roots["post_save ← shop.Order"]
    assert saved["count"] == len(t.sends("post_save", sender="shop.Order"))
    receivers = {n["label"].rpartition(".")[2]: n for n in saved["children"]}
    assert receivers["update_search_index"]["count"] == saved["count"]
    nested = receivers["notify_shipped"]["children"]
    assert [n["label"] for n in nested] == ["order_shipped ← shop.Order"]
    assert nested[0]["count"] == 1 and nested[0]["children"]
    total = sum(
        c.duration_ns
        for e in t.sends("post_save", sender="shop.Order")
        for c in e.calls
        if c.name.endswith("update_search_index")
    )
    assert abs(receivers["update_search_index"]["us"] - total / 1e3) < 1


def test_trace_view_shows_bypass_on_commit_and_unheard_records():
    send = SendEvent(
        1,
        None,
        "x.placed",
        "send",
        None,
        (("note", "'<b>'"),),
        "T",
        1,
        None,
        100.0,
        5000,
        (ReceiverCall(0, CallableInfo("function", "m", "r"), False, 4000, result="None"),),
    )
    bypass = BypassEvent(
        7,
        "bulk_update",
        "shop.Order",
        3,
        ("django.db.models.signals.post_save",),
        ("shop.signals.reindex",),
        "/x/jobs.py",
        12,
        "nightly",
        100.001,
        (1, 0),
    )
    commit = OnCommitCallback(3, "shop.tasks.mail", (1, 0), "default", 100.002, True, 100.01)
    data = waterfall_data(
        [send],
        bypassed=[bypass],
        on_commit=[commit],
        unheard=[UnheardSends("x.nobody", "shop.Order", 4)],
    )
    assert data["bypassed"][0]["p"] == [1, 0] and data["bypassed"][0]["signals"] == ["post_save"]
    assert data["on_commit"][0]["t"] == 2000.0 and data["on_commit"][0]["ran"] is True
    assert data["unheard"] == [{"sig": "nobody", "snd": "shop.Order", "count": 4}]
    tree = cascade([send], bypassed=[bypass], on_commit=[commit])
    kinds = [n["kind"] for n in tree[0]["children"][0]["children"]]
    assert kinds == ["bypass", "on_commit"]


def _until(check, what: str, timeout: float = 60.0):
    """Poll ``check`` until it is true (a generous ceiling for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_monitor_counts_every_send_from_threads_with_few_widget_updates():
    signal = Signal()
    signal.connect(lambda sender, **kw: None, weak=False)
    monitor = sigscope.monitor(signals=[signal])
    try:
        started = time.monotonic()

        def pump():
            for _ in range(2000):
                signal.send(sender=None)

        threads = [threading.Thread(target=pump) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _until(lambda: "sends: 8000" in monitor.counters.value, "all 8000 sends counted")
        elapsed = time.monotonic() - started
        assert monitor.updates <= 2 + elapsed * 10  # the flusher runs at most 10 times a second
        monitor.pause()
        _until(lambda: "paused" in monitor.counters.value, "the paused state")
        signal.send(sender=None)  # not recorded while paused
        assert monitor.tracer.running is False
        monitor.resume()
        monitor.clear()
        signal.send(sender=None)
        _until(lambda: "sends: 1 " in monitor.counters.value, "the count to restart at 1")
        _until(lambda: "latest sends" in monitor.events.value, "the latest sends")
    finally:
        monitor.stop()
    assert "stopped" in monitor.counters.value
    assert not monitor._flusher.is_alive()
    assert sigscope.tracing.active_tracers() == ()


def test_monitor_widget_type():
    monitor = Monitor()
    try:
        assert "sigscope-monitor" in monitor._dom_classes
    finally:
        monitor.close()


def test_ipython_magics():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.extension_manager.load_extension("sigscope")
        findings = shell.run_line_magic("sigscope", "check")
        assert any(f.kind == "duplicate_module_alias" for f in findings)
        inspector = shell.run_line_magic("sigscope", "inspect --app shop --search log_change")
        assert all("log_change" in label for label, _ in inspector.receivers.options)
        shell.user_ns["demo"] = sigscope.demo
        view = shell.run_cell_magic("sigscope_trace", "", "demo.run_scenario()")
        assert "notify_shipped" in json.dumps(view.data)
        line_view = shell.run_line_magic("sigscope", "trace demo.run_scenario()")
        assert "order_shipped" in json.dumps(line_view.data)
    finally:
        InteractiveShell.clear_instance()
