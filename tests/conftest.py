"""The whole suite runs in one process with the bundled demo project set up."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import sigscope.demo
from sigscope import _compat

sigscope.demo.setup()


def _wiring() -> dict[int, list[tuple[object, ...]]]:
    from sigscope.registry import find_signals

    return {id(s): [entry[0] for entry in s.receivers] for s, _, _ in find_signals()}


@pytest.fixture
def unchanged_wiring() -> Iterator[None]:
    """Assert a test leaves every signal's registrations and ``sys.modules`` as it found them."""
    before, modules = _wiring(), set(sys.modules)
    yield
    after = _wiring()
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(sys.modules) - modules == set()


@pytest.fixture
def django_version() -> tuple[int, int]:
    return _compat.DJANGO_VERSION


@pytest.fixture(params=["c", "pure"])
def tracing_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a tracing test on the C accelerator's path and on the pure-Python one.

    The choice is read when a tracer starts (``sigscope.tracing.patch.install``).
    The C variant is skipped, saying so, when the extension is not built or
    ``SIGSCOPE_PURE=1`` is set (``tests/tracing/test_accel.py`` fails then unless
    the pure path was asked for).
    """
    from sigscope.tracing import accel

    if request.param == "c" and accel.compiled is None:
        pytest.skip("the C accelerator is not built (or SIGSCOPE_PURE=1)")
    monkeypatch.setattr(accel, "enabled", request.param == "c")
    return str(request.param)
