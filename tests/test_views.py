"""The views without a kernel: widget logic, pictures, static HTML, escaping, the monitor."""

from __future__ import annotations

import threading
import time

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.views.draw import draw_graph, draw_timeline, figure_png
from sigscope.views.html import details_html, snapshot_html
from sigscope.views.inspector import Inspector
from sigscope.views.monitor import Monitor
from sigscope.views.select import Filters, rows, select_graph

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


def test_trace_view_filters_and_timeline():
    with sigscope.trace() as t:
        sigscope.demo.run_scenario()
    view = t.show()
    assert bytes(view.timeline.value).startswith(PNG) and "notify_shipped" in view.tree.value
    assert bytes(view.fired.value).startswith(PNG)  # the registry with what ran highlighted
    view.signal.value = "order_shipped"
    assert "order_shipped" in view.tree.value and "m2m_changed" not in view.tree.value
    assert "post_save" in view.tree.value  # shown with the send it is nested in
    view.errors_only.value = True
    assert view.summary.value.count("0 sends") == 1
    figure = draw_timeline(t.events, limit=10)
    assert "first 10 of" in figure.axes[0].get_title()


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
        time.sleep(0.35)  # a few flushes
        elapsed = time.monotonic() - started
        assert "sends: 8000" in monitor.counters.value
        assert monitor.updates <= 2 + elapsed * 10  # the flusher runs at most 10 times a second
        monitor.pause()
        signal.send(sender=None)
        time.sleep(0.25)
        assert "paused" in monitor.counters.value and "sends: 8000" in monitor.counters.value
        monitor.resume()
        monitor.clear()
        signal.send(sender=None)
        time.sleep(0.25)
        assert "sends: 1 " in monitor.counters.value
        assert "latest sends" in monitor.events.value
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
        assert "notify_shipped" in view.tree.value
        line_view = shell.run_line_magic("sigscope", "trace demo.run_scenario()")
        assert "order_shipped" in line_view.tree.value
    finally:
        InteractiveShell.clear_instance()
