"""Fixtures for the real-browser tests: Chromium (required, never skipped), one browser per
module, one Jupyter server per session, and a fresh notebook page per test.

A failing test leaves a screenshot of every page it had open in
``out/browser-failures/<test>.png`` (``$SIGSCOPE_FAILURE_SCREENSHOTS`` overrides the folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from .lab import JupyterServer, LabPage, chromium, find_chromium, jupyter_server

MISSING = (
    "the real-browser test needs Debian's Chromium at /usr/bin/chromium (or $SIGSCOPE_CHROMIUM) "
    "and it is not installed. `.ci/run` installs it (`apt-get install chromium`); locally run "
    "`sudo apt-get install -y chromium`. Never `playwright install`: the test uses the system "
    "browser."
)

FAILURES = Path(
    os.environ.get("SIGSCOPE_FAILURE_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "out" / "browser-failures"
)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's Chromium; a missing browser fails the test (it is not optional)."""
    path = find_chromium()
    if path is None:
        pytest.fail(MISSING, pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        pytest.fail(
            f"the real-browser test needs the playwright package ({e}): pip install -e '.[dev]'",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """A headless Chromium for one test module.

    Module scope, not session: while a sync Playwright is alive an asyncio loop runs in this
    thread, and the rest of the suite (``asyncio.run``, ``async_to_sync``, sigscope.setup()'s
    notebook detection) must not see it.  One sync Playwright may be alive at a time.
    """
    with chromium(chromium_executable) as b:
        yield b


@pytest.fixture(scope="session")
def jupyter() -> Iterator[JupyterServer]:
    """One isolated Jupyter server (JupyterLab + Notebook 7) for the whole session; each
    test opens its own notebook on it (see ``open_notebook``)."""
    with jupyter_server() as server:
        yield server


_names = count()
LIGHT = "JupyterLab Light"


@pytest.fixture
def open_notebook(
    browser: Any, jupyter: JupyterServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., LabPage]]:
    """``open_notebook(cells, ui="lab"|"notebook")``: a new notebook of these code cells, in
    a fresh browser context, every cell run without errors.  Its page is closed and its
    kernel shut down after the test, pass or fail."""
    opened: list[tuple[LabPage, str]] = []

    def open_(cells: Iterable[str], *, ui: str = "lab", width: int = 1400) -> LabPage:
        slug = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]
        name = f"{slug}_{next(_names)}.ipynb"
        jupyter.add_notebook(name, cells)
        page = LabPage(browser, width=width)
        opened.append((page, name))
        page.open(jupyter.lab_url(name) if ui == "lab" else jupyter.notebook_url(name))
        if ui == "lab":
            page.collapse_sidebars()
            # the theme is a server-side setting: an earlier test may have left it dark
            if page.page.evaluate("() => document.body.dataset.jpThemeName") != LIGHT:
                page.set_theme(LIGHT)
        page.run_all()
        assert page.errors() == [], "\n\n".join(page.errors())
        return page

    try:
        yield open_
    finally:
        for page, name in opened:
            try:
                page.close()
            finally:
                jupyter.shutdown_kernels(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, screenshot every page still open (before fixtures close them)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when == "teardown" or not LabPage.open_pages:
        return
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.rpartition("/")[2])
    for i, page in enumerate(list(LabPage.open_pages)):
        path = FAILURES / (f"{slug}.png" if i == 0 else f"{slug}-{i}.png")
        try:
            page.save_screenshot(path)
        except Exception as e:  # a dead page must not hide the test's own failure
            report.sections.append(("browser screenshot", f"could not save {path}: {e}"))
        else:
            report.sections.append(("browser screenshot", str(path)))
