"""The send in progress as a C struct (``capture.CSend``) and the tracer state pushed to C.

Runs on both paths (``tests/tracing/conftest.py``); the C-only checks skip
when the accelerator is not built.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from django.dispatch import Signal

from sigscope.tracing import Tracer, accel, active_tracers, current_call
from sigscope.tracing import capture as cap
from sigscope.tracing.tracer import _regroup

from .helpers import forget_receivers

signal = Signal()
inner = Signal()

#: PureSend's class attributes: a C send starts with the same values.
DEFAULTS = {
    "proxied": False,
    "wired": False,
    "receivers": None,
    "running": -1,
    "n": 0,
    "async_calls": (),
    "error": None,
    "task": None,
    "task_key": 0,
}


class _Anchor:
    """Something an application would own (weakly referenceable)."""


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    assert current_call() is None
    forget_receivers(signal, inner)


def _compiled():
    if accel.compiled is None:
        pytest.skip("the C accelerator is not built")
    return accel.compiled


def _nested_parents() -> list[object]:
    signal.connect(lambda sender, **kw: inner.send(sender=None), weak=False)
    inner.connect(lambda sender, **kw: None, weak=False)
    tracer = Tracer().start()
    try:
        signal.send(sender=None)
        kinds = {type(entry[0] if type(entry) is tuple else entry) for entry in tracer._buffer}
        assert kinds == {cap.Send}
    finally:
        tracer.stop()
    outer, nested = sorted(tracer.events, key=lambda e: e.id)
    return [outer.parent, nested.parent, outer.id]


def test_the_send_type_is_chosen_when_tracing_starts_and_both_may_live(monkeypatch, tracing_path):
    found = _nested_parents()
    assert found[:2] == [None, (found[2], 0)]
    assert cap.Send is (cap.CSend if tracing_path == "c" else cap.PureSend)
    if accel.compiled is None:
        return
    monkeypatch.setattr(accel, "enabled", tracing_path != "c")  # the other type, same process
    signal.receivers.clear()
    inner.receivers.clear()
    again = _nested_parents()
    assert again[:2] == [None, (again[2], 0)]
    assert cap.Send is (cap.PureSend if tracing_path == "c" else cap.CSend)


def test_a_c_send_starts_with_the_pure_class_defaults():
    _compiled()
    send = cap.CSend.__new__(cap.CSend)
    for name, value in DEFAULTS.items():
        assert getattr(send, name) == value == getattr(cap.PureSend, name), name
        assert type(getattr(send, name)) is type(value), name
    assert send.calls is cap.NO_CALLS is cap.PureSend.calls
    assert send.parent is None
    for name in ("signal", "sender", "thread_id", "infos", "results", "id", "marks"):
        with pytest.raises(AttributeError):
            getattr(send, name)
    with pytest.raises(TypeError):
        send.wired = 1  # a bool field takes True/False only (what the Python code stores)
    with pytest.raises(AttributeError):
        send.other = 1  # no __dict__: every field is a struct member
    send.infos = ("x",)
    del send.infos
    with pytest.raises(AttributeError):
        send.infos  # noqa: B018


def test_a_c_send_in_a_reference_cycle_is_collected():
    _compiled()
    anchor = _Anchor()
    alive = weakref.ref(anchor)
    send = cap.CSend.__new__(cap.CSend)
    send.receivers = [anchor]
    send.async_calls = [cap.AsyncCall(send, 0, anchor)]  # the call refers back to its send
    del anchor, send
    gc.collect()
    assert alive() is None


def test_a_stopped_tracer_is_not_kept_by_the_accelerator():
    signal.connect(lambda sender, **kw: None, weak=False)
    tracer = Tracer().start()
    signal.send(sender=None)
    tracer.stop()
    assert len(tracer.events) == 1
    alive = weakref.ref(tracer)
    del tracer
    gc.collect()
    assert alive() is None


def test_regroup_rejects_what_it_cannot_use_and_keeps_the_last_state():
    compiled = _compiled()
    signal.connect(lambda sender, **kw: None, weak=False)
    with pytest.raises(TypeError):
        compiled.regroup([], (), False, None, None)  # catch_all must be a tuple
    with pytest.raises(TypeError):
        compiled.regroup((), (), False, [], None)  # lone_unheard: a dict or None
    with pytest.raises(AttributeError):
        compiled.regroup((), (), False, None, object())  # no _buffer: not a tracer
    tracer = Tracer().start()
    try:
        with pytest.raises(AttributeError):
            compiled.regroup((), (), False, None, object())
        signal.send(sender=None)  # the state of tracer.start() is still in force
    finally:
        tracer.stop()
        _regroup()
    assert len(tracer.events) == 1


def test_a_listener_set_while_running_is_called():
    signal.connect(lambda sender, **kw: None, weak=False)
    heard = []
    tracer = Tracer().start()
    try:
        signal.send(sender=None)
        tracer.listener = heard.append  # read per send, also by the C path
        signal.send(sender=None)
    finally:
        tracer.stop()
    assert [e.id for e in heard] == [tracer.events[1].id]
