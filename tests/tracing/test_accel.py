"""The C accelerator: in use when built, and the error paths it must get right.

Every test here runs on both paths (``tests/tracing/conftest.py``): the C one
and the pure-Python one must give the same outcome.
"""

from __future__ import annotations

import os
import threading
import time
import traceback

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.demo.shop.models import Customer
from sigscope.tracing import Tracer, accel, active_tracers, current_call, record

from .helpers import forget_receivers

signal = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    assert current_call() is None
    forget_receivers(signal)


def _frames(exc: BaseException) -> list[tuple[str, str]]:
    return [(f.filename, f.name) for f in traceback.extract_tb(exc.__traceback__)]


def test_the_accelerator_is_built_and_used_unless_the_pure_path_is_asked_for(tracing_path):
    if os.environ.get("SIGSCOPE_PURE", "") not in ("", "0"):
        assert accel.compiled is None
        return
    assert accel.compiled is not None, "pip install -e . builds sigscope.tracing._speedups"
    originals = (Signal.send, Signal.send_robust, Signal._live_receivers)
    with sigscope.trace():
        installed = (Signal.send, Signal.send_robust, Signal._live_receivers)
        kwargs_of = record.kwargs_of
    assert (Signal.send, Signal.send_robust, Signal._live_receivers) == originals
    names = [type(f).__name__ for f in installed]
    if tracing_path == "c":
        assert names == ["SyncSend", "SyncSend", "LiveReceivers"]
        assert kwargs_of is accel.compiled.kwargs
        assert installed[0].__qualname__ == "Signal.send"
        assert installed[0]._sigscope_original is originals[0]
    else:
        assert names == ["function", "function", "function"]
        assert kwargs_of is record._kwargs


def test_the_c_clock_is_time_perf_counter_ns():
    if accel.compiled is None:
        pytest.skip("the C accelerator is not built")
    before = time.perf_counter_ns()
    now = accel.compiled.clock()
    assert before <= now <= time.perf_counter_ns()


def test_a_raising_receiver_raises_the_same_object_with_the_same_traceback():
    def fail(sender, **kwargs):
        raise ValueError("no")

    signal.connect(fail, weak=False)
    outcomes = []
    for traced in (False, True):
        with sigscope.trace() if traced else _nothing() as t, pytest.raises(ValueError) as caught:
            signal.send(sender=None, n=1)
        outcomes.append(_frames(caught.value)[-2:])
    assert outcomes[0] == outcomes[1]  # Django's send, then the receiver
    assert t.events[0].calls[0].error.type == "ValueError"
    assert t.events[0].error.message == "no"


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_a_base_exception_from_a_receiver_passes_untouched(exc_type):
    raised = exc_type("stop")

    def stop(sender, **kwargs):
        raise raised

    signal.connect(stop, weak=False)
    with sigscope.trace() as t, pytest.raises(exc_type) as caught:
        signal.send(sender=None)
    assert caught.value is raised
    assert caught.value.__context__ is None  # nothing of sigscope's was raised in between
    assert _frames(raised)[-1][1] == "stop"
    assert t.events[0].error.type == exc_type.__name__


class _Hostile:
    def __repr__(self):
        raise SystemExit("never called")

    __str__ = __repr__

    def __eq__(self, other):
        raise SystemExit("never called")

    __hash__ = object.__hash__


def test_a_hostile_kwarg_value_is_described_without_running_it():
    signal.connect(lambda sender, **kw: None, weak=False)
    with sigscope.trace() as t:
        assert signal.send(sender=None, value=_Hostile(), n=3, text="ok") != []
    (event,) = t.events
    assert event.kwargs == (("value", f"<{__name__}._Hostile>"), ("n", "3"), ("text", "'ok'"))


def test_model_instances_and_environ_dicts_are_described_as_in_python():
    signal.connect(lambda sender, **kw: None, weak=False)
    saved = Customer(pk=41, name="x", email="x@example.com")
    environ = {"PATH_INFO": "/ping/", "REQUEST_METHOD": "GET", "HTTP_COOKIE": "sessionid=1"}
    with sigscope.trace() as t:
        for _ in range(2):  # the second time, the model class is in the description cache
            signal.send(sender=Customer, instance=saved, unsaved=Customer(), environ=environ)
    kwargs = dict(t.events[1].kwargs)
    assert kwargs["instance"] == "<shop.Customer pk=41>"
    assert kwargs["unsaved"] == "<shop.Customer pk=None>"
    assert "'PATH_INFO': '/ping/'" in kwargs["environ"] and "sessionid=1" not in kwargs["environ"]
    assert t.events[0].kwargs == t.events[1].kwargs


def test_an_unheard_send_is_counted_not_recorded():
    with sigscope.trace() as t:
        assert signal.send(sender=None) == []
        assert signal.send(sender=None) == []
    assert t.events == ()
    assert [(u.count, u.sender) for u in t.unheard] == [(2, None)]


def test_nested_sends_attach_to_the_receiver_that_made_them():
    inner = Signal()
    inner.connect(lambda sender, **kw: "inner result", weak=False)

    def outer(sender, **kwargs):
        return inner.send(sender=None)

    signal.connect(lambda sender, **kw: None, weak=False)
    signal.connect(outer, weak=False)
    with sigscope.trace() as t:
        responses = signal.send(sender=None)
    assert responses[1][1][0][1] == "inner result"
    first, second = sorted(t.events, key=lambda e: e.id)
    assert second.parent == (first.id, 1) and first.parent is None
    assert [c.result for c in second.calls] == ["'inner result'"]


def test_sends_in_threads_are_recorded_with_their_thread():
    signal.connect(lambda sender, **kw: threading.get_ident(), weak=False)
    results: dict[int, object] = {}

    def work(n):
        results[n] = signal.send(sender=None, n=n)[0][1]

    with sigscope.trace() as t:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(t.events) == 4
    assert {e.thread_id for e in t.events} == set(results.values())
    assert {dict(e.kwargs)["n"] for e in t.events} == {"0", "1", "2", "3"}
    assert all(e.parent is None for e in t.events)


def test_calls_of_other_shapes_raise_what_django_raises():
    signal.connect(lambda sender, **kw: None, weak=False)

    def errors():
        found = []
        for call in (
            lambda: signal.send(),
            lambda: signal.send(None, sender=None),
            lambda: signal.send(None, None),
        ):
            with pytest.raises(TypeError) as caught:
                call()
            found.append(str(caught.value))
        return found

    untraced = errors()
    with sigscope.trace() as t:
        traced = errors()
        dynamic = "".join(["sen", "der"])  # a keyword name that is not interned
        assert Signal.send(signal, **{dynamic: None, "x": 1}) != []
    assert traced == untraced
    assert [dict(e.kwargs) for e in t.events] == [{"x": "1"}]


class _Interrupting(Tracer):
    def _record(self, send, kwargs):
        raise KeyboardInterrupt("from sigscope")


def test_a_base_exception_inside_sigscope_propagates_with_the_applications_as_context():
    raised = ValueError("the application's")

    def fail(sender, **kwargs):
        raise raised

    signal.connect(fail, weak=False)
    tracer = _Interrupting()
    tracer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            signal.send(sender=None)
        assert caught.value.__context__ is raised
        assert current_call() is None
        signal.receivers.clear()
        signal.connect(lambda sender, **kw: None, weak=False)
        with pytest.raises(KeyboardInterrupt, match="from sigscope"):
            signal.send(sender=None)
    finally:
        tracer.stop()


class _Failing(Tracer):
    def _record(self, send, kwargs):
        raise RuntimeError("a sigscope bug")


def test_an_exception_while_recording_is_counted_and_the_send_returns(monkeypatch):
    monkeypatch.setattr(record, "internal_errors", 0)
    signal.connect(lambda sender, **kw: 7, weak=False)
    tracer = _Failing()
    tracer.start()
    try:
        with pytest.warns(RuntimeWarning, match="recording a send failed"):
            responses = signal.send(sender=None)
        assert [r for _, r in responses] == [7]
        assert record.internal_errors == 1
    finally:
        tracer.stop()
