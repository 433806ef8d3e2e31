"""The graph widget at scale, in headless Chromium (Debian's; never ``playwright install``).

Run:  python benchmarks/bench_widget.py        (prints Markdown tables; ~1 min)

For 200, 1,000 and 5,000 receivers (``synthetic_apps.build_apps``: apps of 20
receivers each, on top of the demo project) it measures

* ``sigscope.inspect()`` build time (snapshot, rows, layout, widget state), median of 3;
* the synced state's size (the JSON the comm carries);
* first paint of the widget's ES module in Chromium, from module import to the
  second animation frame after ``render()`` (a static host page implementing
  anywidget's ``model`` interface: ``tests/browser/graph_helpers.py``), median of 3
  page loads; at 1,000 every receiver is drawn (only Django's group folded), at
  5,000 the default view (apps folded into aggregates);
* unfolding one app at 5,000 (the Python relayout a click triggers);
* edge crossings before/after minimisation, and the drawing's size.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_apps
from tests.browser.graph_helpers import graph_state, host_page
from tests.browser.lab import CHROMIUM_ARGS, find_chromium

import sigscope
import sigscope.demo
from sigscope.views.graph_widget import GraphWidget


def paint_ms(browser, state: dict, tmp: Path, runs: int = 3) -> float:
    page_path = host_page(tmp / "host.html", state)
    times = []
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_path.as_uri())
        page.wait_for_function("() => window.__painted !== undefined", timeout=60_000)
        times.append(page.evaluate("window.__painted"))
        drawn = page.locator("g.sigscope-node").count()
        assert drawn == len(state["nodes"]), (drawn, len(state["nodes"]))
        page.close()
    return statistics.median(times)


def measure(browser, n: int, tmp: Path) -> dict:
    synthetic_apps.build_apps(n)
    try:
        builds, inspector = [], None
        for _ in range(3):
            start = time.perf_counter()
            inspector = sigscope.inspect()
            builds.append(time.perf_counter() - start)
        widget = inspector.graph
        lay = widget.layout_result
        row = {
            "n": n,
            "build": statistics.median(builds),
            "state": len(json.dumps(graph_state(widget))),
            "default_size": (lay.width, lay.height),
            "default_nodes": len(widget.nodes),
            "crossings": (lay.crossings_before, lay.crossings_after),
            "paint_default": paint_ms(browser, graph_state(widget), tmp),
        }
        if n <= 1000:
            full = GraphWidget(widget._graph, collapsed={"django"})
            flay = full.layout_result
            row["full_size"] = (flay.width, flay.height)
            row["full_crossings"] = (flay.crossings_before, flay.crossings_after)
            row["paint_full"] = paint_ms(browser, graph_state(full), tmp)
            row["full_state"] = len(json.dumps(graph_state(full)))
        folded = sorted(set(widget.collapsed) - {"django"})
        if folded:
            start = time.perf_counter()
            widget.collapsed = [g for g in widget.collapsed if g != folded[0]]
            row["unfold"] = time.perf_counter() - start
        inspector.close()
        return row
    finally:
        synthetic_apps.remove_apps()


def main() -> None:
    from playwright.sync_api import sync_playwright

    sigscope.demo.setup()
    print(f"Python {platform.python_version()}, Django {django.get_version()}, Chromium headless\n")
    demo = sigscope.inspect(hide_builtin=False).graph.layout_result
    print(f"demo (Django's receivers unfolded): crossings {demo.crossings_before} → "
          f"{demo.crossings_after}, drawing {demo.width:.0f}×{demo.height:.0f} px\n")  # fmt: skip
    executable = find_chromium()
    if executable is None:
        raise SystemExit("needs Chromium at /usr/bin/chromium")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        rows = [measure(browser, n, Path(tmp)) for n in (200, 1_000, 5_000)]
        browser.close()
    print("| receivers | inspect() build | synced state | default view: nodes, drawing, "
          "crossings before → after | first paint (default) | everything unfolded: drawing, "
          "crossings, first paint | unfold one app |")  # fmt: skip
    print("|---:|---:|---:|---|---:|---|---:|")
    for r in rows:
        w, h = r["default_size"]
        full = "—"
        if "paint_full" in r:
            fw, fh = r["full_size"]
            fb, fa = r["full_crossings"]
            full = f"{fw:.0f}×{fh:.0f} px, {fb:,} → {fa:,}, {r['paint_full']:.0f} ms"
            full += f" ({r['full_state'] / 1e3:.0f} kB)"
        print(
            f"| {r['n']:,} (+demo) | {r['build']:.2f} s | {r['state'] / 1e3:.0f} kB | "
            f"{r['default_nodes']} nodes, {w:.0f}×{h:.0f} px, {r['crossings'][0]:,} → "
            f"{r['crossings'][1]:,} | {r['paint_default']:.0f} ms | {full} | "
            f"{r.get('unfold', 0) * 1e3:.0f} ms |"
        )


if __name__ == "__main__":
    main()
