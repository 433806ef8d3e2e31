"""A send's keyword arguments as kept: every shape of call, redaction, a tracer changed mid-send.

The C path reads them straight from the call (the dict Django's receivers
get is built only when Python code needs it) and remembers per call site
which redactors hide none of them; both paths must keep the same pairs
(``conftest.py`` runs each test on both).
"""

from __future__ import annotations

import pytest
from django.dispatch import Signal

from sigscope.demo.shop.models import Customer
from sigscope.tracing import Tracer, active_tracers

from .helpers import forget_receivers

signal = Signal()
HIDDEN = "*" * 20  # Django's cleansed_substitute


@pytest.fixture(autouse=True)
def _clean():
    signal.connect(_quiet, weak=False)
    yield
    forget_receivers(signal)
    assert active_tracers() == ()


def _quiet(sender, **kwargs):
    return None


def _kwargs(tracer: Tracer) -> list[tuple[tuple[str, str], ...]]:
    return [e.kwargs for e in tracer.events]


def _traced(fire, times: int = 3, **options) -> list[tuple[tuple[str, str], ...]]:
    tracer = Tracer(**options).start()
    try:
        for _ in range(times):
            fire()
    finally:
        tracer.stop()
    return _kwargs(tracer)


def test_the_sender_keyword_is_skipped_wherever_it_is():
    def fire():
        signal.send(value=1, sender=None, other="two")
        signal.send(None, value=3)
        signal.send(sender=None)
        signal.send(None)

    kept = _traced(fire, times=2)
    expected = [(("value", "1"), ("other", "'two'")), (("value", "3"),), (), ()]
    assert kept == expected * 2


def test_keyword_names_built_at_run_time_are_kept_and_hidden_like_literal_ones():
    def fire():
        signal.send(sender=None, **{"a" + "b": 1, "pass" + "word": "hunter2"})
        signal.send(**{"sen" + "der": None, "c" + "d": [1]})

    kept = _traced(fire)
    assert kept == [(("ab", "1"), ("password", HIDDEN)), (("cd", "[1]"),)] * 3


def test_a_hidden_name_stays_hidden_on_every_send_of_the_call_site():
    def fire():
        signal.send(sender=None, password="hunter2", ok=1, customer=None)

    kept = _traced(fire, times=4)
    assert kept == [(("password", HIDDEN), ("ok", "1"), ("customer", "None"))] * 4


def test_each_tracers_own_words_decide_for_the_same_call_site():
    def fire():
        signal.send(sender=None, card="4111", sku=9)

    shown = _traced(fire)  # the default words do not hide "card"
    hidden = _traced(fire, redact=["card"])
    again = _traced(fire)
    assert shown == again == [(("card", "'4111'"), ("sku", "9"))] * 3
    assert hidden == [(("card", HIDDEN), ("sku", "9"))] * 3
    assert _traced(fire, times=1, redact=None) == [(("card", "'4111'"), ("sku", "9"))]


def test_model_instances_and_results_are_described_on_the_python_fallback_too():
    customer = Customer(id=41, name="Ada", email="ada@example.com")  # never saved

    def fire():
        signal.send(sender=Customer, instance=customer, created=True)

    quiet = _traced(fire, times=2)
    signal.connect(lambda sender, **kw: "seen", weak=False)  # a result: Python describes it
    answered = _traced(fire, times=2)
    expected = (("instance", "<shop.Customer pk=41>"), ("created", "True"))
    assert quiet == answered == [expected] * 2


def test_a_receiver_that_stops_the_tracer_mid_send_leaves_the_send_recorded_whole():
    tracer = Tracer()

    def stopper(sender, **kwargs):
        tracer.stop()

    signal.connect(stopper, weak=False)
    tracer.start()
    signal.send(sender=None, token="abc", count=2)
    signal.send(sender=None, token="abc", count=3)  # stopped: not recorded
    assert _kwargs(tracer) == [(("token", HIDDEN), ("count", "2"))]


def test_model_primary_keys_of_every_size_are_described_alike():
    keys = [0, -3, 2**62, 2**70, None]  # 2**70 fits no C integer; None: described in Python
    customers = [Customer(id=k, name="Ada", email="ada@example.com") for k in keys]

    def fire():
        for customer in customers:
            signal.send(sender=Customer, instance=customer)

    kept = _traced(fire, times=2)
    texts = [f"<shop.Customer pk={k}>" for k in keys]
    assert kept == [(("instance", text),) for text in texts] * 2


class _StoppingKey(str):
    """A keyword name whose hash (run by every lookup keyed by it) may stop a tracer."""

    __slots__ = ()
    countdown: list[tuple[int, Tracer]] = []

    def __hash__(self) -> int:
        if self.countdown:
            left, tracer = self.countdown[0]
            self.countdown[0] = (left - 1, tracer)
            if left == 1:
                self.countdown.clear()
                tracer.stop()
        return str.__hash__(self)

    __eq__ = str.__eq__


def test_a_keyword_names_hash_that_stops_the_tracer_while_its_plan_is_read_is_survived():
    # the C path looked the plan up by the call site's names, then read the
    # slot's names again: the hash (Python code) had stopped the tracer and
    # emptied the slot (a crash).  Stopped at every hash of the last send.
    for hashes in range(1, 12):
        tracer = Tracer().start()
        try:
            for value in range(3):
                signal.send(sender=None, **{_StoppingKey("alpha"): value})
            _StoppingKey.countdown[:] = [(hashes, tracer)]
            signal.send(sender=None, **{_StoppingKey("alpha"): 3})
        finally:
            _StoppingKey.countdown.clear()
            tracer.stop()
        kept = _kwargs(tracer)
        assert kept[:3] == [(("alpha", str(v)),) for v in range(3)]
        assert kept[3:] in ([], [(("alpha", "3"),)])


_HIDING_NOTHING = {"b": 1}


class _DyingKey(str):
    """A keyword name that sends when it dies, e.g. when the C path's call-site slot lets it go."""

    __slots__ = ()
    busy: list[bool] = []

    def __del__(self) -> None:
        if not self.busy:
            self.busy.append(True)
            try:
                signal.send(sender=None, **_HIDING_NOTHING)  # names built at run time
            finally:
                self.busy.clear()


def test_a_send_from_a_dying_keyword_name_leaves_no_other_names_plan_behind():
    # a call site's slot, replaced, let its old names die; the send their __del__
    # made refilled the slot, and its redactor stayed with the new names: a
    # hidden value was shown as if none of them were hidden
    tracer = Tracer(max_events=1).start()  # the names live in the slot alone
    shown = set()
    try:
        for _ in range(3):
            signal.send(sender=None, b=1)  # ("b",): known to hide nothing
        for _ in range(100):
            signal.send(sender=None, **{_DyingKey("password"): "hunter2"})
            shown.add(str(tracer.events[-1].kwargs))  # a str: the name dies with the slot
    finally:
        tracer.stop()
    assert shown == {str((("password", HIDDEN),))}


class _StartingKey(str):
    """A keyword name that starts a tracer when it dies (the one whose id is armed)."""

    __slots__ = ()
    armed: list[tuple[int, Tracer]] = []

    def __del__(self) -> None:
        if self.armed and self.armed[0][0] == id(self):
            self.armed.pop()[1].start()


def test_a_tracer_started_while_another_start_lets_a_call_sites_names_go_records():
    # the C path's regroup() let the call sites' names go, then set its state: a
    # tracer that a dying name started meanwhile (a regroup() within) was left out
    late = Tracer()
    first = Tracer(max_events=1).start()
    second = Tracer()
    try:
        signal.send(sender=None, **{_StartingKey("k"): 1})  # the redactor keeps this name
        key = _StartingKey("k")
        _StartingKey.armed[:] = [(id(key), late)]
        signal.send(sender=None, **{key: 2})
        del key
        first.clear()  # the ring buffer lets it go: the C call-site slot alone has it
        second.start()
        started = late.running  # the name died (C path: in second.start()) and started it
        signal.send(sender=None, after=3)
    finally:
        _StartingKey.armed.clear()
        for tracer in (second, first, late):
            tracer.stop()
    assert started
    assert _kwargs(late)[-1:] == [(("after", "3"),)]
