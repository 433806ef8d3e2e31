"""pytest plugin (registered through the ``pytest11`` entry point when sigscope is installed).

* ``signal_trace`` fixture: a :class:`~sigscope.tracing.result.Trace` recording
  every send during the test, with ``assert_sent``/``assert_not_sent``/
  ``receivers_called``.
* ``--sigscope-check``: after collection, inspect the configured Django
  project; the session fails if any receiver is registered twice
  (``duplicate_*`` and ``stale_reload`` findings), listed in the summary.

Importing this module does not import Django: pytest loads it in every
project where sigscope is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

DUPLICATE_KINDS = (
    "duplicate_dispatch_uid",
    "duplicate_any_and_specific",
    "duplicate_module_alias",
    "duplicate_rerun",
    "stale_reload",
)
_FOUND = pytest.StashKey[list[Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sigscope", "Django signal wiring (sigscope)")
    group.addoption(
        "--sigscope-check",
        action="store_true",
        default=False,
        help="fail the session when a Django signal receiver is registered twice",
    )


@pytest.fixture
def signal_trace() -> Iterator[Any]:
    """Every signal send made during the test (a ``sigscope`` Trace)."""
    from sigscope.tracing import Tracer

    tracer = Tracer(max_events=100_000)
    tracer.start()
    try:
        yield tracer.trace
    finally:
        tracer.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.config.getoption("--sigscope-check"):
        return
    import os

    from django.apps import apps

    if not apps.ready:
        if not os.environ.get("DJANGO_SETTINGS_MODULE"):
            raise pytest.UsageError(
                "--sigscope-check needs a configured Django: set DJANGO_SETTINGS_MODULE "
                "(or use pytest-django's --ds)."
            )
        import django

        django.setup()
    import sigscope

    snap = sigscope.snapshot()
    session.config.stash[_FOUND] = [f for f in snap.findings if f.kind in DUPLICATE_KINDS]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(_FOUND, None) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_FOUND, None)
    if found is None:
        return
    from sigscope.views.text import format_findings

    if not found:
        terminalreporter.write_line("sigscope: no duplicate signal registrations", green=True)
        return
    terminalreporter.section("sigscope: duplicate signal registrations", sep="=", red=True)
    terminalreporter.write(format_findings(found))
    terminalreporter.write_line(
        f"sigscope: {len(found)} duplicate registration(s): failing the session (--sigscope-check)",
        red=True,
    )
