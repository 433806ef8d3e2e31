"""Open each notebook in JupyterLab (headless Chromium), run it, and screenshot it page by page.

Run:  python tools/screenshot_notebooks.py OUTPUT_DIR [NOTEBOOK ...]

For looking at the notebooks as people will see them (widgets included); uses the
browser-test harness in tests/browser/lab.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.lab import LabPage, chromium, find_chromium, jupyter_lab  # noqa: E402


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    notebooks = [Path(a) for a in argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    executable = find_chromium()
    if executable is None:
        print("Chromium is missing: apt-get install chromium", file=sys.stderr)
        return 2
    with chromium(executable) as browser:
        for notebook in notebooks:
            with jupyter_lab(notebook) as (url, _):
                page = LabPage(browser, width=1300, height=1100)
                try:
                    page.open(url)
                    page.collapse_sidebars()
                    page.run_all(timeout=120)
                    page.page.wait_for_timeout(1500)
                    scroller = ".jp-WindowedPanel-outer"
                    height = page.page.evaluate(
                        f"() => document.querySelector('{scroller}').scrollHeight"
                    )
                    for n, top in enumerate(range(0, int(height), 1000)):
                        page.page.evaluate(
                            f"() => document.querySelector('{scroller}').scrollTo(0, {top})"
                        )
                        page.page.wait_for_timeout(400)
                        path = out / f"{notebook.stem}-{n:02d}.png"
                        page.page.screenshot(path=str(path))
                        print(path)
                finally:
                    page.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
