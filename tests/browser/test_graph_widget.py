"""The graph widget in a real JupyterLab, driven by headless Chromium.

One JupyterLab server per module; **each test opens its own notebook in a fresh page
with its own kernel**, so no test depends on another.  Every wait is on a condition
with a generous ceiling (the machine may be busy); a failing test saves a screenshot
of its page.  Screenshots go to ``$SIGSCOPE_SCREENSHOTS`` (the README's come from
``SIGSCOPE_SCREENSHOTS=docs/screenshots python -m pytest tests/browser``), else to a
temporary directory.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from .graph_helpers import kernel_eval, node, nodes_of
from .lab import LabPage, build_notebook, jupyter_lab

SCREENSHOTS = Path(
    os.environ.get("SIGSCOPE_SCREENSHOTS") or tempfile.mkdtemp(prefix="sigscope-screenshots-")
)
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CEILING = 60_000  # ms: generous, the machine may be busy
PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
SETUP = "import sigscope, sigscope.demo\nsigscope.demo.setup()"

NOTEBOOKS = {
    "demo": [SETUP, "inspector = sigscope.inspect()\ninspector"],
    "fixture": [
        SETUP,
        f"import sys\nsys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "import synthetic_apps\nsynthetic_apps.build_apps(200)",
        "inspector = sigscope.inspect()\ninspector",
    ],
    "live": [
        SETUP + "\nsigscope.demo.migrate()",
        "live = sigscope.inspect(live=True)\nlive",
        """\
import logging, threading, time
from sigscope.demo.shop.signals import order_placed

# send_robust logs each failing receiver: 100 tracebacks a second would grow this
# cell's output without end, and JupyterLab's layout of it would starve the page.
logging.getLogger("django.dispatch").disabled = True
pump_stop = threading.Event()

def pump():
    deadline = time.monotonic() + 120
    while not pump_stop.is_set() and time.monotonic() < deadline:
        order_placed.send_robust(sender=None, n=1)
        time.sleep(0.01)

threading.Thread(target=pump, daemon=True).start()""",
    ],
    "evil": [
        SETUP,
        f"""\
from django.dispatch import Signal

PAYLOAD = {PAYLOAD!r}
evil_signal = Signal()

def evil(sender, **kwargs):
    return PAYLOAD

evil.__qualname__ = "Evil" + PAYLOAD
evil_signal.connect(evil, weak=False, dispatch_uid=PAYLOAD)
inspector = sigscope.inspect(search="Evil")
inspector""",
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    first = build_notebook(tmp_path_factory.mktemp("nb") / "demo.ipynb", NOTEBOOKS["demo"])
    with jupyter_lab(first) as (url, root):
        for name, cells in NOTEBOOKS.items():
            build_notebook(root / f"{name}.ipynb", cells)
        yield url, root


@contextmanager
def notebook(browser: Any, server: tuple[str, Path], name: str) -> Iterator[LabPage]:
    """``name``'s notebook, run, in a fresh page (a screenshot of it if the test fails)."""
    url, _ = server
    page = LabPage(browser)
    try:
        # a workspace of its own, reset: no tab of an earlier test is restored
        own = re.sub(
            r"/lab/(workspaces/[^/]+/)?tree/demo\.ipynb",
            f"/lab/workspaces/{name}/tree/{name}.ipynb",
            url,
        )
        assert f"/{name}.ipynb" in own, own
        page.open(own + "&reset")
        page.collapse_sidebars()
        page.run_all(timeout=120)
        assert page.errors() == [], "\n\n".join(page.errors())
        yield page
    except BaseException:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with suppress(Exception):  # the failure, not a failing screenshot, is the news
            page.page.screenshot(path=str(SCREENSHOTS / f"FAILED-graph-{name}.png"))
        raise
    finally:
        page.close()


def graph_widget(page: LabPage) -> Any:
    widget = page.page.locator(".sigscope-gw").last
    widget.wait_for(timeout=CEILING)
    widget.locator("g.sigscope-node").first.wait_for(timeout=CEILING)
    return widget


def scale(widget: Any) -> float:
    transform = widget.locator("g.sigscope-gw-viewport").get_attribute("transform") or ""
    match = re.search(r"scale\(([\d.e-]+)\)", transform)
    return float(match.group(1)) if match else 0.0


def wait_js(page: LabPage, script: str, arg: Any = None) -> Any:
    return page.page.wait_for_function(script, arg=arg, timeout=CEILING, polling=100)


def screenshot(locator: Any, name: str) -> None:
    """The element's part of the page (a clip, not an element shot: a live graph never
    holds still, and Playwright's element shots wait for it to)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    box = locator.bounding_box()
    viewport = locator.page.viewport_size
    clip = {
        "x": max(box["x"], 0),
        "y": max(box["y"], 0),
        "width": min(box["width"], viewport["width"]),
        "height": min(box["height"], viewport["height"] - max(box["y"], 0)),
    }
    locator.page.screenshot(path=str(SCREENSHOTS / name), clip=clip, animations="disabled")


def test_graph_renders_zooms_hovers_selects_searches_and_folds(browser, server):
    with notebook(browser, server, "demo") as page:
        widget = graph_widget(page)
        ids = nodes_of(widget)
        post_save = "signal:django.db.models.signals.post_save"
        assert {post_save, "sender:shop.Order", "group:django"} <= set(ids), ids
        assert any(i.endswith("blog.handlers.reindex_tags") for i in ids), ids

        fitted = scale(widget)
        widget.locator("button.sigscope-gw-zoom").first.click()  # "+"
        assert scale(widget) == pytest.approx(fitted * 1.25, rel=0.01)
        widget.locator("svg.sigscope-gw-svg").hover(position={"x": 300, "y": 200})
        page.page.mouse.wheel(0, 400)
        assert scale(widget) < fitted * 1.25
        widget.locator("button.sigscope-gw-fit").click()
        assert scale(widget) == pytest.approx(fitted, rel=0.01)

        node(widget, post_save).hover()
        lit = widget.locator("g.sigscope-node.sigscope-lit")
        wait_js(page, "() => document.querySelector('svg.sigscope-hovering') !== null")
        lit_ids = set(lit.evaluate_all("els => els.map(e => e.dataset.id)"))
        assert {"sender:shop.Order", post_save} <= lit_ids
        assert "signal:django.db.models.signals.pre_save" not in lit_ids  # the rest fades
        assert "post_save" in widget.locator(".sigscope-gw-tip").inner_text()

        reindex = next(i for i in ids if i.endswith("blog.handlers.reindex_tags"))
        node(widget, reindex).click()
        details = widget.locator(".sigscope-gw-details")
        wait_js(page, "() => document.querySelector('.sigscope-gw-details h4') !== null")
        text = details.inner_text()
        assert re.search(r"handlers\.py:\d+", text) and "fix:" in text, text
        for label in ("sender", "dispatch_uid", "weak", "async", "def reindex_tags"):
            assert label in text, (label, text)
        selected = kernel_eval(page.page, "print(inspector.selected.receiver.name)")
        assert selected.strip() == "blog.handlers.reindex_tags", selected
        screenshot(page.page.locator(".sigscope-inspector"), "graph.png")

        widget.locator("input.sigscope-gw-search").fill("apply_discount")
        wait_js(page, "() => document.querySelectorAll('g.sigscope-match').length === 2")
        assert "2 matches" in widget.locator(".sigscope-gw-status").inner_text()

        widget.locator("button.sigscope-gw-fit").click()  # the search centred elsewhere
        before = len(nodes_of(widget))
        node(widget, "group:django").click()  # unfold Django's own receivers
        wait_js(page, "n => document.querySelectorAll('g.sigscope-node').length > n", before)
        assert "group:django" not in nodes_of(widget)
        widget.locator("button.sigscope-gw-fit").click()
        widget.locator("text.sigscope-group-head[data-group='blog']").click()  # fold an app
        wait_js(page, "() => document.querySelector('g[data-id=\"group:blog\"]') !== null")
        assert not any(i.endswith("reindex_tags") for i in nodes_of(widget))


def test_200_receivers_fit_one_screen_light_and_dark(browser, server):
    with notebook(browser, server, "fixture") as page:
        widget = graph_widget(page)
        ids = nodes_of(widget)
        assert sum(i.startswith("group:synth") for i in ids) >= 8, ids  # apps folded, counted
        svg = widget.locator("svg.sigscope-gw-svg").bounding_box()
        assert svg["height"] <= 660, svg  # one screen, not a 4,000 px strip
        size = kernel_eval(page.page, "print(inspector.graph.size)")
        height = float(size.strip().strip("[]").split(",")[1])
        assert height < 1500, size
        screenshot(page.page.locator(".sigscope-inspector"), "graph-200.png")
        page.set_theme("JupyterLab Dark")
        try:
            wait_js(
                page,
                "() => getComputedStyle(document.querySelector('.sigscope-gw-svg'))"
                ".backgroundColor !== 'rgb(255, 255, 255)'",
            )
            screenshot(page.page.locator(".sigscope-inspector"), "graph-200-dark.png")
        finally:
            page.set_theme("JupyterLab Light")


def counts(widget: Any) -> list[int]:
    texts = widget.locator("text.sigscope-count").evaluate_all("els => els.map(e => e.textContent)")
    return [int(t.lstrip("×")) for t in texts]


def test_live_graph_pulses_and_counts_while_a_thread_sends(browser, server):
    with notebook(browser, server, "live") as page:
        widget = graph_widget(page)
        wait_js(page, "() => document.querySelectorAll('path.sigscope-ran').length > 0")
        first = max(counts(widget))
        wait_js(
            page,
            "n => Math.max(...[...document.querySelectorAll('text.sigscope-count')]"
            ".map(e => +e.textContent.slice(1))) > n + 5",
            first,
        )
        ran = widget.locator("path.sigscope-ran").evaluate_all("els => els.map(e => e.dataset.id)")
        assert any("order_placed" in i for i in ran), ran
        screenshot(widget, "graph-live.png")
        page.page.get_by_role("button", name="Pause").click()
        try:
            wait_js(
                page,
                "() => /paused/.test(document.querySelector('.sigscope-gw-status').textContent)",
            )
        except Exception as exc:
            state = kernel_eval(
                page.page,
                "g = live.live; print(dict(paused=g.paused, running=g.tracer.running, "
                "flusher=g._flusher.is_alive(), updates=g.updates, "
                "buttons=[b.disabled for b in live.children[0].children]))",
            )
            shown = page.page.evaluate(
                "() => document.querySelector('.sigscope-gw-status').textContent"
            )
            raise AssertionError(f"not paused: kernel {state}; status {shown!r}") from exc
        total = "print(f'TOTAL={live.live.feed.total}')"
        paused = re.findall(r"TOTAL=(\d+)", kernel_eval(page.page, total))
        # half a second in the kernel: the pump keeps sending, nothing is recorded
        again = re.findall(r"TOTAL=(\d+)", kernel_eval(page.page, "time.sleep(0.5); " + total))
        assert paused and again == paused, (paused, again)
        kernel_eval(page.page, "pump_stop.set(); live.close()")


def test_labels_tooltips_and_details_are_text(browser, server):
    with notebook(browser, server, "evil") as page:
        widget = graph_widget(page)
        target = widget.locator("g.sigscope-node", has_text="pwned").first
        label = target.evaluate("e => e.textContent")
        assert 'onerror="window.__pwned=2">' in label, label  # the label, as text
        target.hover()
        wait_js(page, "() => document.querySelector('.sigscope-gw-tip').textContent !== ''")
        assert (
            "<script>window.__pwned=1</script>" in widget.locator(".sigscope-gw-tip").inner_text()
        )
        target.click()
        wait_js(page, "() => document.querySelector('.sigscope-gw-details h4') !== null")
        details = widget.locator(".sigscope-gw-details").inner_text()
        assert 'onerror="window.__pwned=2"' in details, details
        area = page.page.locator(".jp-OutputArea")
        assert area.locator("script").count() == 0
        assert area.locator("img[src='x']").count() == 0
        assert page.page.evaluate("() => typeof window.__pwned") == "undefined"
