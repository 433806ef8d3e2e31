"""Fixtures for the real-browser tests: Chromium (required, never skipped) and one browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .lab import chromium, find_chromium

MISSING = (
    "the real-browser test needs Debian's Chromium at /usr/bin/chromium (or $SIGSCOPE_CHROMIUM) "
    "and it is not installed. `.ci/run` installs it (`apt-get install chromium`); locally run "
    "`sudo apt-get install -y chromium`. Never `playwright install`: the test uses the system "
    "browser."
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
