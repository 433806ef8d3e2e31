"""The accelerator under load: no leak, nothing of the application kept, threads, GC mid-send.

Every test runs on the C path and on the pure-Python one (``conftest.py``):
the pure path is the reference the C one must match.  Leaks are measured in
allocated blocks (``sys.getallocatedblocks``: every object, also ints and
strings that ``gc`` does not track) and in references to sentinel objects.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
import weakref

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.demo.shop.models import Customer
from sigscope.tracing import Tracer, active_tracers, current_call, record

from .helpers import forget_receivers

signal = Signal()
inner = Signal()
quiet = Signal()  # never has a receiver: every send of it is unheard


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    assert current_call() is None
    forget_receivers(signal, inner, quiet)


class Thing:
    """A plain application object: described by type, never run."""


class Result:
    pass


RESULT = Result()
SENDER = Thing()
VALUE = Thing()


def returns_object(sender, **kwargs):
    return RESULT


def returns_none(sender, **kwargs):
    return None


def maybe_raises(sender, **kwargs):
    if kwargs.get("fail"):
        raise ValueError(kwargs.get("value"))


def nests(sender, **kwargs):
    return inner.send(sender=sender, value=kwargs.get("value"))


class Owner:
    def method(self, sender, **kwargs):
        return 1


OWNER = Owner()
CUSTOMER = Customer(pk=7, name="c", email="c@example.com")
ENVIRON = {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_COOKIE": "sessionid=x"}


def _one_of_each(n: int) -> None:
    """One traced send of every shape (receivers already connected)."""
    signal.send(sender=SENDER, value=VALUE, n=n, text="t" * 300, password="p")
    signal.send(SENDER, obj=VALUE, items=[VALUE], mapping={1: VALUE}, environ=ENVIRON)
    signal.send(sender=None, instance=CUSTOMER, flag=True, nothing=None)
    signal.send_robust(sender=SENDER, value=VALUE, n=n, fail=True)
    with pytest.raises(ValueError):
        signal.send(sender=SENDER, value=VALUE, fail=True)
    inner.send(sender=SENDER, value=VALUE)  # not nested this time
    quiet.send(sender=SENDER, value=VALUE)  # unheard, counted
    quiet.send_robust(sender=VALUE)


def _connect_all() -> None:
    signal.connect(returns_object, weak=False)
    signal.connect(returns_none, weak=False)
    signal.connect(OWNER.method)  # a bound method, weakly
    signal.connect(nests, weak=False)
    signal.connect(maybe_raises, weak=False)
    inner.connect(returns_object, weak=False)


def _batch(count: int) -> None:
    for n in range(count):
        _one_of_each(n % 5)  # a few distinct values: the caches stay small


def test_many_traced_sends_of_every_shape_leak_nothing(monkeypatch):
    # send_robust logs each error with its traceback: pytest's log capture would keep them all
    monkeypatch.setattr(logging.getLogger("django.dispatch"), "disabled", True)
    _connect_all()
    sentinels = (RESULT, SENDER, VALUE, OWNER, CUSTOMER, ENVIRON)
    with sigscope.trace(max_events=50) as t:  # the ring buffer turns over many times
        _batch(500)  # warm every cache (names, labels, descriptions, plans)
        gc.collect()
        refs = [sys.getrefcount(s) for s in sentinels]
        blocks = sys.getallocatedblocks()
        _batch(3_000)  # 24,000 sends (+ nested ones)
        gc.collect()
        grown = sys.getallocatedblocks() - blocks
        assert [sys.getrefcount(s) for s in sentinels] == refs
    assert grown < 2_000, f"{grown} blocks more after 24,000 sends"  # a leak per send: >24,000
    assert len(t.events) == 50
    assert t.dropped > 0
    assert record.internal_errors == 0


def test_200_000_common_sends_leak_nothing():
    signal.connect(returns_none, weak=False)
    signal.connect(returns_object, weak=False)
    sentinels = (RESULT, SENDER, VALUE)
    with sigscope.trace(max_events=100) as t:

        def sends(count: int) -> None:
            for n in range(count):
                signal.send(sender=SENDER, value=VALUE, n=n & 7, text="short")
                quiet.send(sender=SENDER, value=VALUE)

        sends(2_000)
        gc.collect()
        refs = [sys.getrefcount(s) for s in sentinels]
        blocks = sys.getallocatedblocks()
        sends(100_000)
        gc.collect()
        grown = sys.getallocatedblocks() - blocks
        assert [sys.getrefcount(s) for s in sentinels] == refs
    assert grown < 1_000, f"{grown} blocks more after 200,000 sends"
    assert len(t.events) == 100 and t.dropped == 102_000 - 100
    assert [u.count for u in t.unheard] == [102_000]


def test_objects_passed_to_a_traced_send_are_freed_when_it_returns():
    signal.connect(returns_none, weak=False)
    signal.connect(lambda sender, **kw: kw["value"], weak=False)  # returns the object itself
    with sigscope.trace() as t:
        for method in (signal.send, signal.send_robust):
            sender, value = Thing(), Thing()
            refs = (weakref.ref(sender), weakref.ref(value))
            responses = method(sender=sender, value=value, again=[value])
            assert responses[1][1] is value
            del sender, value, responses
            assert [r() for r in refs] == [None, None]  # no gc.collect(): nothing kept them
    assert len(t.events) == 2


class Failure(ValueError):
    """A raised exception that can be referenced weakly."""


def test_an_exception_and_what_it_references_are_freed_after_a_traced_send():
    def fail(sender, **kwargs):
        raise Failure(kwargs["value"])

    signal.connect(fail, weak=False)
    with sigscope.trace() as t:
        value = Thing()
        ref = weakref.ref(value)
        with pytest.raises(ValueError) as caught:
            signal.send(sender=None, value=value)
        error = caught.value
        assert error.args[0] is value
        error_ref = weakref.ref(error)
        del value, error, caught
        gc.collect()  # a raised exception's traceback holds frames (Python's own cycles)
        assert ref() is None and error_ref() is None
    assert t.events[0].error.type == "Failure"


def test_threads_sending_while_tracers_start_and_stop():
    signal.connect(lambda sender, **kw: threading.get_ident(), weak=False)
    signal.connect(returns_object, weak=False)
    stop = threading.Event()
    failures: list[BaseException] = []
    counts = []

    def work() -> None:
        done = 0
        try:
            while not stop.is_set() or done < 200:
                responses = signal.send(sender=SENDER, value=VALUE, n=done)
                assert responses[0][1] == threading.get_ident()
                assert responses[1][1] is RESULT
                assert quiet.send(sender=SENDER) == []
                done += 1
        except BaseException as exc:  # reported by the test (a thread cannot raise into it)
            failures.append(exc)
        counts.append(done)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    recorded = 0
    try:
        for _ in range(60):
            with sigscope.trace(max_events=20) as t:
                signal.send(sender=None)
            recorded += len(t.events)
            tracer = Tracer().start()
            quiet.send(sender=None)
            tracer.stop()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(counts) == 3 and min(counts) >= 200
    assert recorded >= 60  # at least the main thread's own send each time
    assert type(Signal.__dict__["send"]).__name__ == "function"  # all put back


class _Collected:
    """An object in a reference cycle whose finalizer sends a traced signal."""

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        inner.send(sender=None, value="from __del__")


def test_a_receiver_that_collects_and_disconnects_others_mid_send():
    class Weak:
        def method(self, sender, **kwargs):
            return "weak"

    owner = Weak()
    calls = []

    def collector(sender, **kwargs):
        nonlocal owner
        calls.append("collector")
        _Collected()  # garbage in a cycle: its __del__ runs inside gc.collect()
        owner = None  # the weak receiver's owner: Django's list for this send still holds it
        signal.disconnect(last)
        gc.collect()
        return "collected"

    def last(sender, **kwargs):
        calls.append("last")
        return "last"

    inner.connect(returns_object, weak=False)
    signal.connect(collector, weak=False)
    signal.connect(owner.method)
    signal.connect(last, weak=False)
    with sigscope.trace() as t:
        first = [r for _, r in signal.send(sender=SENDER, value=VALUE)]  # the pairs: dropped
        second = [r for _, r in signal.send(sender=SENDER, value=VALUE)]
    assert first == ["collected", "weak", "last"]  # this send's receivers all ran
    assert second == ["collected"]  # the dead and the disconnected are gone
    assert calls == ["collector", "last", "collector"]
    by_signal = [(e.signal.split(".")[-1], len(e.calls)) for e in t.events]
    assert by_signal.count(("inner", 1)) == 2  # the sends from __del__, recorded
    assert len([e for e in t.events if len(e.calls) == 3]) == 1
    assert record.internal_errors == 0


_SUBINTERPRETER = r'''
import os, _testcapi
import django
django.setup()
import sigscope
from django.dispatch import Signal

code = """
import django
django.setup()
import sigscope
from django.dispatch import Signal
s = Signal()
s.connect(lambda sender, **kw: 5, weak=False)
with sigscope.trace() as t:
    assert s.send(sender=None, x=[1])[0][1] == 5
assert [dict(e.kwargs) for e in t.events] == [{"x": "[1]"}], t.events
"""
main = Signal()
main.connect(lambda sender, **kw: 6, weak=False)
with sigscope.trace() as t:  # the main interpreter configures the accelerator first
    assert _testcapi.run_in_subinterp(code) == 0
    main.send(sender=None, y=2)
assert [dict(e.kwargs) for e in t.events] == [{"y": "2"}], t.events
print("ok")
'''


def test_a_sub_interpreter_records_its_own_sends_and_leaves_the_main_ones(tracing_path):
    # mod_wsgi runs each application in a sub-interpreter: the C globals are the first
    # interpreter's; the other one must use its own objects (before: it replaced them)
    pytest.importorskip("_testcapi")
    env = dict(os.environ, SIGSCOPE_PURE="1" if tracing_path == "pure" else "0")
    env.setdefault("DJANGO_SETTINGS_MODULE", "sigscope.demo.settings")
    done = subprocess.run(
        [sys.executable, "-c", _SUBINTERPRETER], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
