"""The Trace view (``t.show()``: waterfall + cascade) in a real JupyterLab and Notebook 7.

Each test opens its own notebook (see conftest.py's ``open_notebook``) and checks what a
user sees and does: hover a bar → a tooltip with the kwargs; click → details and
``view.selected`` in the kernel; zoom on the time axis; collapse a send; the cascade of what
ran; the dark theme's colours; HTML payloads shown as text and never run.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from .test_jupyterlab import (
    EVIL,
    EVIL_TRACE,
    SETUP,
    TRACE,
    colour,
    contrast,
    effective_background,
    luminance,
    output,
    screenshot,
    wait_for,
)

LARGE = """\
with sigscope.trace(exclude=["pre_init", "post_init"]) as big:
    for _ in range(32):
        sigscope.demo.run_scenario()
assert len(big.events) >= 480, len(big.events)
big.show()"""


def trace_view(lab: Any, cell: int) -> Any:
    view = output(lab, cell).locator(".sigscope-tv")
    view.locator(".sigscope-tv-row").first.wait_for()
    return view


def row(view: Any, text: str) -> Any:
    return view.locator(".sigscope-tv-row", has_text=text).first


def domain(view: Any) -> tuple[float, float]:
    a, b = view.locator(".sigscope-tv-waterfall").get_attribute("data-domain").split(",")
    return float(a), float(b)


def ticks(view: Any) -> list[str]:
    return view.locator(".sigscope-tv-tick").all_inner_texts()


def test_waterfall_hover_click_zoom(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, TRACE, "t"])
    view = trace_view(lab, 1)
    text = view.inner_text()
    assert "post_save ← shop.Order" in text and "notify_shipped" in text, text[:2000]

    # nested: order_shipped sits below notify_shipped, one level deeper
    def pad(r: Any) -> float:
        return float(
            r.locator(".sigscope-tv-label").evaluate("e => parseFloat(e.style.paddingLeft)")
        )

    shipped, notify = row(view, "order_shipped ← shop.Order"), row(view, "notify_shipped")
    assert pad(shipped) > pad(notify), "the nested send is not indented below its receiver"

    # the error: red bar with the exception type written on it
    failed = row(view, "__main__.broken")
    assert failed.locator(".sigscope-tv-bar.sigscope-tv-failed").count() == 1
    assert "✗ ValueError" in failed.locator(".sigscope-tv-track").inner_text(), failed.inner_text()

    # hover → a tooltip with the kwargs
    tooltip = lab.page.locator(".sigscope-tv-tooltip")
    row(view, "update_search_index").locator(".sigscope-tv-label").hover()
    wait_for(lambda: tooltip.is_visible(), "the tooltip to show")
    tip = tooltip.inner_text()
    assert "update_search_index" in tip and "kwargs.instance" in tip, tip
    assert "<shop.Order pk=" in tip and "indexed order" in tip, tip

    # click → details, and view.selected in Python
    row(view, "update_search_index").click()
    details = view.locator(".sigscope-tv-details")
    wait_for(lambda: "returned" in details.inner_text(), "the details of the clicked bar")
    assert "'indexed order" in details.inner_text() and "signals.py:" in details.inner_text()
    selected = lab.wait_kernel(
        "view.selected is not None and view.selected.name", "view.selected to follow the click"
    )
    assert selected.endswith("update_search_index'"), selected
    assert lab.kernel_eval("type(view.selected).__name__") == "'ReceiverCall'"
    row(view, "__main__.broken").click()
    wait_for(lambda: "Traceback" in details.inner_text(), "the traceback of the failed receiver")
    assert "ValueError: bad total" in details.inner_text()

    # zoomed in on the failed bar, the exception type is written on it
    waterfall = view.locator(".sigscope-tv-waterfall")
    waterfall.scroll_into_view_if_needed()
    failed.scroll_into_view_if_needed()
    bar = failed.locator(".sigscope-tv-bar").bounding_box()
    box = failed.locator(".sigscope-tv-track").bounding_box()  # a drag on the bars zooms too
    y = box["y"] + box["height"] / 2
    lab.page.mouse.move(max(bar["x"] - 20, box["x"] + 1), y)
    lab.page.mouse.down()
    lab.page.mouse.move(min(bar["x"] + bar["width"] + 20, box["x"] + box["width"] - 1), y, steps=5)
    lab.page.mouse.up()
    on_bar = failed.locator(".sigscope-tv-bar-text")
    wait_for(lambda: on_bar.is_visible(), "the exception type to fit on the zoomed bar")
    assert on_bar.inner_text() == "✗ ValueError"
    view.get_by_role("button", name="Reset zoom").click()

    waterfall.evaluate("e => { e.scrollTop = 0; }")
    row(view, "update_search_index").locator(".sigscope-tv-label").hover()
    wait_for(lambda: tooltip.is_visible(), "the tooltip to show again")
    screenshot(view, "trace.png")
    lab.page.mouse.move(0, 0)

    # zoom: the wheel on the axis, then a drag, then Reset
    waterfall.evaluate("e => { e.scrollTop = 0; }")
    full, full_ticks = domain(view), ticks(view)
    axis = view.locator(".sigscope-tv-axis .sigscope-tv-track")
    box = axis.bounding_box()
    lab.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    for _ in range(3):
        lab.page.mouse.wheel(0, -200)
    zoomed = wait_for(lambda: (d := domain(view)) != full and d, "the wheel to zoom the axis")
    assert zoomed[1] - zoomed[0] < (full[1] - full[0]) * 0.7, (full, zoomed)
    assert ticks(view) != full_ticks, "the axis labels did not change"
    assert "(zoomed)" in view.locator(".sigscope-tv-zoom").inner_text()
    y = box["y"] + box["height"] / 2
    lab.page.mouse.move(box["x"] + box["width"] * 0.2, y)
    lab.page.mouse.down()
    lab.page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    lab.page.mouse.up()
    dragged = wait_for(lambda: (d := domain(view)) != zoomed and d, "the drag to zoom in")
    assert dragged[1] - dragged[0] < (zoomed[1] - zoomed[0]) * 0.3, (zoomed, dragged)
    view.get_by_role("button", name="Reset zoom").click()
    wait_for(lambda: domain(view) == full, "Reset to show the whole trace again")

    # collapse a send: its receivers (and what they sent) hide
    rows = view.locator(".sigscope-tv-row").count()
    row(view, "post_save ← shop.Order").locator(".sigscope-tv-caret").click()
    wait_for(lambda: view.locator(".sigscope-tv-row").count() < rows, "the send to collapse")

    # the static trace (text/html) is still there for a notebook without widgets
    static = output(lab, 2).locator(".sigscope-trace")
    assert "notify_shipped" in static.inner_text()
    assert static.locator("details details").count() > 0


def test_cascade_graph(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, TRACE])
    view = trace_view(lab, 1)
    view.get_by_role("button", name="cascade").click()
    svg = view.locator("svg.sigscope-tv-cascade-svg")
    svg.wait_for(state="visible")
    labels = svg.locator(".sigscope-tv-node-label").all_text_contents()
    # what runs when an Order is saved: post_save → notify_shipped → order_shipped → send_email
    assert any("post_save ← shop.Order" in x for x in labels), labels
    order_shipped = [x for x in labels if "order_shipped ← shop.Order" in x]
    assert order_shipped, labels
    saved = view.locator(".sigscope-tv-node", has_text="post_save ← shop.Order").first
    # its count is the number of post_save(shop.Order) sends the kernel recorded
    expected = lab.kernel_eval(
        "sum(1 for e in t.events if e.signal.endswith('.post_save') and e.sender == 'shop.Order')"
    )
    assert f"×{expected} " in saved.locator(".sigscope-tv-node-stats").text_content() + " "
    failed = view.locator(".sigscope-tv-node.sigscope-tv-failed")
    assert "broken" in " ".join(failed.all_text_contents()), "the raising receiver is not marked"
    # the data is the kernel's cascade, aggregated from the records
    tree = json.loads(
        ast.literal_eval(lab.kernel_eval("__import__('json').dumps(view.data['cascade'])"))
    )
    assert [n["label"] for n in tree if n["label"] == "post_save ← shop.Order"]
    view.locator(".sigscope-tv-node", has_text="order_shipped").first.hover()
    tooltip = lab.page.locator(".sigscope-tv-tooltip")
    wait_for(lambda: "send_email" in tooltip.inner_text(), "the cascade tooltip")
    lab.page.mouse.move(0, 0)
    screenshot(view, "trace-cascade.png")


def test_trace_view_dark_theme_is_readable(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, TRACE])
    view = trace_view(lab, 1)
    lab.set_theme("JupyterLab Dark")
    name = row(view, "update_search_index").locator(".sigscope-tv-name")
    background = effective_background(name)
    assert luminance(background) < 0.1, f"the view is not dark: {background}"
    assert contrast(colour(name), background) >= 7, (colour(name), background)
    tick = view.locator(".sigscope-tv-tick").first
    assert contrast(colour(tick), effective_background(tick)) >= 4.5
    failed = view.locator(".sigscope-tv-bar.sigscope-tv-failed")
    on_bar = contrast(colour(failed.locator("span")), colour(failed, "backgroundColor"))
    assert on_bar >= 4.5, f"the exception type on the red bar is hard to read ({on_bar:.1f})"
    beside = row(view, "__main__.broken").locator(".sigscope-tv-took")
    assert contrast(colour(beside), effective_background(beside)) >= 4.5
    row(view, "notify_shipped").hover()
    tooltip = lab.page.locator(".sigscope-tv-tooltip")
    wait_for(lambda: tooltip.is_visible(), "the tooltip")
    assert contrast(colour(tooltip), effective_background(tooltip)) >= 7
    screenshot(view, "trace-dark.png")


def test_payloads_in_the_trace_view_are_text(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, EVIL, EVIL_TRACE])
    view = trace_view(lab, 2)
    text = view.inner_text()
    assert "EvilReceiver<script>window.__pwned=1</script>" in text, text
    assert "Sender<script>" in text, text
    row(view, "EvilReceiver").locator(".sigscope-tv-label").hover()
    tooltip = lab.page.locator(".sigscope-tv-tooltip")
    wait_for(lambda: "kwargs.note" in tooltip.inner_text(), "the tooltip with the kwargs")
    assert 'onerror="window.__pwned=2"' in tooltip.inner_text()
    row(view, "EvilReceiver").click()
    details = view.locator(".sigscope-tv-details")
    wait_for(lambda: "returned" in details.inner_text(), "the details")
    assert "<script>window.__pwned=1</script>" in details.inner_text()
    view.get_by_role("button", name="cascade").click()
    labels = " ".join(view.locator(".sigscope-tv-node-label").all_text_contents())
    assert "EvilReceiver<script>" in labels and "Sender<script>" in labels, labels
    for where in (view, tooltip):
        assert where.locator("script").count() == 0, "a <script> element"
        assert where.locator("img").count() == 0, "an <img> element"
    assert lab.page.locator("img[src='x']").count() == 0
    assert lab.page.evaluate("() => typeof window.__pwned") == "undefined"


def test_trace_view_in_notebook_7(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, TRACE], ui="notebook")
    assert "/notebooks/" in lab.page.url
    view = trace_view(lab, 1)
    assert "notify_shipped" in view.inner_text()
    row(view, "order_shipped ← shop.Order").click()
    selected = lab.wait_kernel(
        "view.selected is not None and view.selected.signal", "view.selected in Notebook 7"
    )
    assert selected.endswith("order_shipped'"), selected


def test_large_trace(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, LARGE])
    view = trace_view(lab, 1)
    assert view.locator(".sigscope-tv-send").count() >= 440  # the top-level ones
    summary = view.locator(".sigscope-tv-summary").inner_text()
    assert f"{lab.kernel_eval('len(big.events)')} sends" in summary, summary
    # a long trace opens folded (one row per send); Expand all shows every receiver
    assert view.locator(".sigscope-tv-call").count() == 0
    screenshot(view, "trace-large.png")
    view.get_by_role("button", name="Expand all").click()
    calls = int(lab.kernel_eval("sum(len(e.calls) for e in big.events)"))
    assert calls > 1000, calls
    wait_for(lambda: view.locator(".sigscope-tv-call").count() == calls, "every receiver row")
    assert view.locator(".sigscope-tv-send").count() >= 480  # nested ones too
    row(view, "update_search_index").click()
    wait_for(lambda: "returned" in view.locator(".sigscope-tv-details").inner_text(), "details")
