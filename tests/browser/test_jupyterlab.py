"""The widgets in a real JupyterLab (and Notebook 7), driven by headless Chromium.

Each test writes its own notebook, opens it in a fresh browser context, runs it, checks one
widget, and closes it (its kernel is shut down) whatever happened — a failure never
cascades into the next test.  Every wait ends on a condition, under a generous ceiling
(``lab.CEILING``).  Screenshots go to ``$SIGSCOPE_SCREENSHOTS`` (the README's come from
``SIGSCOPE_SCREENSHOTS=docs/screenshots python -m pytest tests/browser``), else to a
temporary directory; a failing test's page goes to ``out/browser-failures/``.

Run: ``python -m pytest -q tests/browser``.  Chromium is required (see conftest.py).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from .lab import CEILING, LabPage, wait_until

SCREENSHOTS = Path(
    os.environ.get("SIGSCOPE_SCREENSHOTS") or tempfile.mkdtemp(prefix="sigscope-screenshots-")
)

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'

SETUP = """\
import sigscope, sigscope.demo
sigscope.demo.setup()
sigscope.demo.migrate()  # before tracing: the trace shows the story, not the migrations"""

INSPECTOR = """\
inspector = sigscope.inspect()
inspector"""

#: The demo scenario, then one send_robust whose receiver raises (a red bar).
TRACE = """\
from django.dispatch import Signal
checked = Signal()
def broken(sender, **kwargs):
    raise ValueError("bad total")
checked.connect(broken, weak=False)
with sigscope.trace() as t:
    sigscope.demo.run_scenario()
    checked.send_robust(sender=None, total=42)
view = t.show()
view"""

EVIL = f"""\
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
sigscope.inspect(search="pwned")"""

EVIL_TRACE = """\
with sigscope.trace() as evil_trace:
    evil_signal.send(sender=EvilSender, note=PAYLOAD)
evil_view = evil_trace.show()
evil_view"""

MONITOR = """\
m = sigscope.monitor()
m"""

PUMP = """\
import logging, threading, time
from sigscope.demo.shop.signals import order_placed

# send_robust logs each failing receiver: 100 tracebacks a second would grow this
# cell's output without end, and JupyterLab's layout of it would starve the page.
logging.getLogger("django.dispatch").disabled = True
pump_stop = threading.Event()
pumped = 0

def pump():
    global pumped
    deadline = time.monotonic() + 600
    while not pump_stop.is_set() and time.monotonic() < deadline:
        order_placed.send_robust(sender=None, n=pumped)
        pumped += 1
        time.sleep(0.01)

threading.Thread(target=pump, daemon=True).start()"""


def output(lab: LabPage, cell: int) -> Any:
    """The output area of code cell number ``cell``."""
    return lab.page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea")


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


def options(select: Any) -> list[str]:
    """The options' text (ipywidgets' Select writes spaces as no-break spaces)."""
    return [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]


def wait_for(check: Any, what: str, timeout: float = CEILING) -> Any:
    return wait_until(check, timeout, what, interval=0.1)


# -- the Inspector


def test_inspector(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, INSPECTOR])
    inspector = output(lab, 1).locator(".sigscope-inspector")
    inspector.wait_for()
    graph = inspector.locator(".sigscope-gw")  # the graph widget (test_graph_widget.py)
    graph.locator("g.sigscope-node").first.wait_for()

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
    findings.wait_for(state="visible")
    assert "fix:" in findings.inner_text()


def test_inspector_dark_theme(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, INSPECTOR])
    inspector = output(lab, 1).locator(".sigscope-inspector")
    inspector.locator(".sigscope-gw g.sigscope-node").first.wait_for()
    lab.set_theme("JupyterLab Dark")  # waits until the dark colours apply
    background = luminance(effective_background(inspector.locator(".sigscope-receivers select")))
    assert background < 0.3, f"the list is not dark in the dark theme ({background:.2f})"
    screenshot(inspector, "inspector-dark.png")


# -- the live monitor


def sends(monitor: Any) -> int:
    text = monitor.locator(".sigscope-monitor-counters").inner_text()
    match = re.search(r"sends:\s*(\d+)", text)
    assert match, f"no 'sends: N' in the counters: {text!r}"
    return int(match.group(1))


def press(monitor: Any, name: str) -> None:
    """Click one of the monitor's buttons.  A DOM click event rather than a mouse click:
    the monitor's output changes 10 times a second, and Playwright's mouse click waits for
    the element to stop moving, which a busy machine can stretch past any ceiling."""
    monitor.get_by_role("button", name=name).dispatch_event("click")


def test_monitor(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, MONITOR, PUMP])
    monitor = output(lab, 1).locator(".sigscope-monitor")
    monitor.wait_for()
    assert re.search(r"dropped:\s*\d+", monitor.inner_text()), monitor.inner_text()

    first = wait_for(lambda: sends(monitor), "the counter to count the thread's sends")
    wait_for(lambda: sends(monitor) > first, f"the counter to rise past {first}")
    events = monitor.locator(".sigscope-monitor-events")
    wait_for(lambda: "order_placed" in events.inner_text(), "order_placed in the latest sends")

    press(monitor, "Pause")
    counters = monitor.locator(".sigscope-monitor-counters")
    wait_for(lambda: "paused" in counters.inner_text(), "the monitor to say 'paused'")
    paused = sends(monitor)
    assert lab.kernel_eval("m.tracer.total") == str(paused)
    pumped = int(lab.kernel_eval("pumped"))
    lab.wait_kernel(f"pumped >= {pumped + 30}", "the thread to send 30 more while paused")
    assert lab.kernel_eval("m.tracer.total") == str(paused), "recorded while paused"
    assert sends(monitor) == paused, "the counter rose while paused"

    press(monitor, "Clear")
    wait_for(lambda: sends(monitor) == 0, "Clear to reset the counter to 0")

    press(monitor, "Resume")
    wait_for(lambda: sends(monitor) > 0, "the counter to rise again after Resume")

    # the picture once the thread stopped: a monitor updating 10 times a second never holds
    # still for Playwright's screenshot on a busy machine
    lab.kernel_eval("pump_stop.set()")
    lab.wait_kernel(
        "not any(t.is_alive() for t in threading.enumerate() if t.name != 'MainThread' "
        "and t.daemon and 'pump' in repr(t))",
        "the pump thread to stop",
    )
    wait_for(lambda: str(sends(monitor)) == lab.kernel_eval("m.tracer.total"), "the last update")
    screenshot(monitor, "monitor.png")


# -- receivers and senders named with HTML (the Inspector and the static trace)


def test_html_in_names_is_text(open_notebook: Any) -> None:
    lab = open_notebook([SETUP, EVIL, EVIL_TRACE, "evil_trace"])
    inspector = output(lab, 1).locator(".sigscope-inspector")
    inspector.wait_for()
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

    static = output(lab, 3).locator(".sigscope-trace")
    text = static.inner_text()
    assert "EvilReceiver<script>window.__pwned=1</script>" in text, text
    assert "Sender<script>" in text, text
    for cell in (1, 2, 3):
        area = output(lab, cell)
        assert area.locator("script").count() == 0, f"a <script> element in cell {cell}"
        assert area.locator("img[src='x']").count() == 0, f"an <img src=x> element in cell {cell}"
    assert lab.page.evaluate("() => typeof window.__pwned") == "undefined"


# -- colours


_COLOURS = """
function rgba(text) {
  const v = text.match(/[\\d.]+/g).map(Number);
  return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
}
"""


def effective_background(locator: Any) -> list[float]:
    """The opaque colour behind an element (its own, else the first opaque ancestor's)."""
    return locator.evaluate(
        "el => {"
        + _COLOURS
        + """
          for (let n = el; n; n = n.parentElement) {
            const c = rgba(getComputedStyle(n).backgroundColor);
            if (c[3] > 0.5) return c;
          }
          return [255, 255, 255, 1];
        }"""
    )


def colour(locator: Any, prop: str = "color") -> list[float]:
    return locator.evaluate(
        "(el, p) => {" + _COLOURS + " return rgba(getComputedStyle(el)[p]); }", prop
    )


def luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: list[float], bg: list[float]) -> float:
    """WCAG contrast ratio; a translucent foreground is blended over the background first."""
    alpha = fg[3] if len(fg) > 3 else 1
    blended = [alpha * f + (1 - alpha) * b for f, b in zip(fg[:3], bg[:3])]
    hi, lo = sorted((luminance(blended), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
