"""The pytest plugin: the ``signal_trace`` fixture and ``--sigscope-check``, run in subprocesses."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HEADER = """
import sigscope.demo
sigscope.demo.setup()
from sigscope.demo.shop.models import Order
from sigscope.demo.shop.signals import order_placed, order_shipped
"""


@pytest.fixture
def run(pytester, monkeypatch):
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    return pytester


def test_signal_trace_fixture_passes_and_fails_with_clear_messages(run):
    run.makepyfile(
        test_shop=HEADER
        + """
def test_ships(signal_trace):
    sigscope.demo.run_scenario()
    signal_trace.assert_sent(order_shipped, sender=Order, times=1)
    assert signal_trace.receivers_called(order_placed)[:2] == [
        "sigscope.demo.shop.signals.Warehouse.reserve",
        "sigscope.demo.shop.signals.Warehouse.reserve",
    ]

def test_nothing_shipped(signal_trace):
    signal_trace.assert_sent(order_shipped)
"""
    )
    result = run.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: order_shipped was never sent. Sent: nothing*"])


def test_sigscope_check_fails_the_session_on_duplicates(run):
    run.makepyfile(test_ok=HEADER + "\ndef test_fine():\n    pass\n")
    checked = run.runpytest_subprocess("-p", "no:cacheprovider", "--sigscope-check")
    assert checked.ret == 1
    checked.assert_outcomes(passed=1)
    checked.stdout.fnmatch_lines(
        [
            "*sigscope: duplicate signal registrations*",
            "ERROR   duplicate_module_alias*",
            "*failing the session (--sigscope-check)*",
        ]
    )
    assert "dead_receiver" not in checked.stdout.str()  # only duplicates fail the check
    plain = run.runpytest_subprocess("-p", "no:cacheprovider")
    assert plain.ret == 0
