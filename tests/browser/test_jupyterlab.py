"""The widgets in a real JupyterLab, driven by headless Chromium.

One notebook (built here with nbformat) shows the Inspector, a TraceView, the static trace,
the same three for receivers and senders whose names are HTML payloads, and the live
Monitor fed by a thread.  It is run once per module; each test then checks one widget in
the page.  Screenshots go to ``$SIGSCOPE_SCREENSHOTS`` (the README's come from
``SIGSCOPE_SCREENSHOTS=docs/screenshots python -m pytest tests/browser``), else to a
temporary directory.

Run: ``python -m pytest -q tests/browser``.  Chromium is required (see conftest.py).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import LabPage, jupyter_lab, wait_until

SCREENSHOTS = Path(
    os.environ.get("SIGSCOPE_SCREENSHOTS") or tempfile.mkdtemp(prefix="sigscope-screenshots-")
)

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'

# The notebook's code cells, in order; tests find a widget by its cell.
CELLS = {
    "setup": """\
import sigscope, sigscope.demo
sigscope.demo.setup()
sigscope.demo.migrate()  # before tracing: the trace shows the story, not the migrations""",
    "inspector": """\
inspector = sigscope.inspect()
inspector""",
    "trace_view": """\
with sigscope.trace() as t:
    sigscope.demo.run_scenario()
t.show()""",
    "trace_static": "t",
    "evil_inspector": f"""\
from django.dispatch import Signal

PAYLOAD = {PAYLOAD!r}
evil_signal = Signal()

class EvilSender:
    pass

class EvilReceiver:
    def __call__(self, sender, **kwargs):
        return PAYLOAD

EvilSender.__qualname__ = EvilSender.__name__ = "Sender" + PAYLOAD
EvilReceiver.__call__.__qualname__ = "EvilReceiver" + PAYLOAD
evil = EvilReceiver()
evil_signal.connect(evil, weak=False)
evil_signal.connect(EvilReceiver.__call__.__get__(evil), weak=False, dispatch_uid=PAYLOAD)
sigscope.inspect(search="pwned")""",
    "evil_trace_view": """\
with sigscope.trace() as evil_trace:
    evil_signal.send(sender=EvilSender)
evil_trace.show()""",
    "evil_trace_static": "evil_trace",
    "monitor": """\
m = sigscope.monitor()
m""",
    "pump": """\
import threading, time
from sigscope.demo.shop.signals import order_placed

pump_stop = threading.Event()

def pump():
    deadline = time.monotonic() + 120
    i = 0
    while not pump_stop.is_set() and time.monotonic() < deadline:
        order_placed.send_robust(sender=None, n=i)
        i += 1
        time.sleep(0.01)

threading.Thread(target=pump, daemon=True).start()""",
}
INDEX = {name: i for i, name in enumerate(CELLS)}


def build_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPage]:
    """The notebook open in JupyterLab with every cell run (the pump thread keeps sending)."""
    notebook = build_notebook(tmp_path_factory.mktemp("nb") / "sigscope_widgets.ipynb")
    with jupyter_lab(notebook) as (url, _root):
        page = LabPage(browser)
        try:
            page.open(url)
            page.collapse_sidebars()
            page.run_all()
            assert page.errors() == [], "\n\n".join(page.errors())
            yield page
        finally:
            page.close()


def output(lab: LabPage, cell: str) -> Any:
    """The output area of one of CELLS."""
    return lab.page.locator(".jp-Notebook .jp-Cell").nth(INDEX[cell]).locator(".jp-OutputArea")


def screenshot(locator: Any, name: str) -> None:
    """Save the widget's picture; a widget taller than the window gets a taller window
    (JupyterLab scrolls the notebook inside the window, so the rest would be blank)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = locator.page
    viewport = page.viewport_size
    height = locator.bounding_box()["height"]
    if height + 200 > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": int(height) + 250})
    try:
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(SCREENSHOTS / name), animations="disabled")
    finally:
        page.set_viewport_size(viewport)


def natural_width(img: Any) -> int:
    img.wait_for(state="attached", timeout=15_000)
    return int(img.evaluate("i => i.complete ? i.naturalWidth : 0"))


def options(select: Any) -> list[str]:
    """The options' text (ipywidgets' Select writes spaces as no-break spaces)."""
    return [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]


def wait_for(check: Any, what: str, timeout: float = 10) -> Any:
    return wait_until(check, timeout, what, interval=0.1)


# -- the Inspector


def test_inspector(lab: LabPage) -> None:
    inspector = output(lab, "inspector").locator(".sigscope-inspector")
    inspector.wait_for(timeout=20_000)
    graph = inspector.locator(".sigscope-gw")  # the graph widget (test_graph_widget.py)
    graph.locator("g.sigscope-node").first.wait_for(timeout=20_000)

    select = inspector.locator(".sigscope-receivers select")
    everything = wait_for(lambda: options(select), "the receivers list")
    assert any("post_save ← shop.Order" in o for o in everything), everything
    details = inspector.locator(".sigscope-details")
    assert "Select a registration" in details.inner_text() or details.inner_text().strip() == ""

    hide_builtin = inspector.locator(".sigscope-hide-builtin input")
    assert hide_builtin.is_checked()
    hide_builtin.uncheck()
    with_django = wait_for(
        lambda: len(o := options(select)) > len(everything) and o, "Django's receivers to show"
    )
    assert any(o.endswith("django.contrib.auth.management.create_permissions") for o in with_django)
    hide_builtin.check()
    wait_for(lambda: options(select) == everything, "Django's receivers to hide again")

    inspector.locator(".sigscope-search input").fill("reindex")
    found = wait_for(
        lambda: (o := options(select)) and len(o) < len(everything) and o,
        "the search to narrow the receivers list",
    )
    assert all("reindex" in o for o in found), found

    select.select_option(index=0)
    name = found[0].rpartition(" · ")[2]
    assert name.endswith("reindex_tags"), found[0]
    text = wait_for(lambda: name in (t := details.inner_text()) and t, f"the details of {name}")
    assert re.search(r"handlers\.py:\d+", text), text
    for label in ("sender", "dispatch_uid", "weak", "async", "fix:"):
        assert label in text, (label, text)
    assert "blog.Post_tags" in text, text

    # the graph marks the selection
    wait_for(lambda: graph.locator(".sigscope-selected").count() > 0, "the graph to mark it")
    screenshot(inspector, "inspector.png")

    findings = inspector.locator(".jupyter-widgets.sigscope-findings")  # not details' own
    inspector.get_by_role("tab", name="findings").click()
    findings.wait_for(state="visible", timeout=10_000)
    assert "fix:" in findings.inner_text()
    inspector.get_by_role("tab", name="receivers").click()

    try:
        lab.set_theme("JupyterLab Dark")
        time.sleep(0.5)  # the theme's stylesheet is applied after the attribute changes
        screenshot(inspector, "inspector-dark.png")
    finally:
        lab.set_theme("JupyterLab Light")


# -- the trace


def test_trace_view(lab: LabPage) -> None:
    view = output(lab, "trace_view").locator(".sigscope-trace-view")
    view.wait_for(timeout=20_000)
    tree = view.locator(".sigscope-trace")
    assert "notify_shipped" in tree.inner_text()
    assert tree.locator("details details").count() > 0, "no nested send in the tree"
    timeline = view.locator("img.sigscope-timeline")
    assert wait_for(lambda: natural_width(timeline), "the timeline picture to load") > 0
    screenshot(view, "trace.png")

    static = output(lab, "trace_static").locator(".sigscope-trace")
    assert "notify_shipped" in static.inner_text()
    assert static.locator("details details").count() > 0


# -- the live monitor


def sends(monitor: Any) -> int:
    text = monitor.locator(".sigscope-monitor-counters").inner_text()
    match = re.search(r"sends:\s*(\d+)", text)
    assert match, f"no 'sends: N' in the counters: {text!r}"
    return int(match.group(1))


def test_monitor(lab: LabPage) -> None:
    monitor = output(lab, "monitor").locator(".sigscope-monitor")
    monitor.wait_for(timeout=20_000)
    assert re.search(r"dropped:\s*\d+", monitor.inner_text()), monitor.inner_text()

    first = sends(monitor)
    time.sleep(1)
    second = sends(monitor)
    assert second > first, f"the counter did not rise while the thread sends ({first} → {second})"
    events = monitor.locator(".sigscope-monitor-events")
    assert "order_placed" in events.inner_text()
    screenshot(monitor, "monitor.png")

    monitor.get_by_role("button", name="Pause").click()
    time.sleep(0.5)  # let the last flush land
    paused = sends(monitor)
    time.sleep(1)
    assert sends(monitor) == paused, "the counter rose while paused"

    monitor.get_by_role("button", name="Clear").click()
    wait_for(lambda: sends(monitor) == 0, "Clear to reset the counter to 0")

    monitor.get_by_role("button", name="Resume").click()
    wait_for(lambda: sends(monitor) > 0, "the counter to rise again after Resume")


# -- receivers and senders named with HTML


def test_html_in_names_is_text(lab: LabPage) -> None:
    inspector = output(lab, "evil_inspector").locator(".sigscope-inspector")
    inspector.wait_for(timeout=20_000)
    select = inspector.locator(".sigscope-receivers select")
    labels = wait_for(lambda: options(select), "the payload receivers in the list")
    assert len(labels) == 2, labels
    assert all("<script>window.__pwned=1</script>" in o for o in labels), labels

    details = inspector.locator(".sigscope-details")
    texts = []
    for index in range(len(labels)):
        before = details.inner_text()
        select.select_option(index=index)
        texts.append(
            wait_for(
                lambda b=before: (
                    (t := details.inner_text()) != b and "EvilReceiver<script>" in t and t
                ),
                f"the details of payload receiver {index}",
            )
        )
        assert 'onerror="window.__pwned=2"' in texts[-1], texts[-1]
    assert any(f"dispatch_uid\t{PAYLOAD}" in t for t in texts), texts

    for cell in ("evil_trace_view", "evil_trace_static"):
        trace = output(lab, cell).locator(".sigscope-trace")
        text = trace.inner_text()
        assert "EvilReceiver<script>window.__pwned=1</script>" in text, text
        assert "Sender<script>" in text, text

    for cell in ("evil_inspector", "evil_trace_view", "evil_trace_static"):
        area = output(lab, cell)
        assert area.locator("script").count() == 0, f"a <script> element in {cell}"
        assert area.locator("img[src='x']").count() == 0, f"an <img src=x> element in {cell}"
    assert lab.page.evaluate("() => typeof window.__pwned") == "undefined"
