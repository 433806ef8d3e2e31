"""Item 3: with a tracer running, Django behaves exactly as without one."""

from __future__ import annotations

import logging
import sys
import threading
import warnings

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import Signal
from django.test.utils import CaptureQueriesContext

import sigscope
import sigscope.demo
from sigscope.tracing import accel, active_tracers

from . import pretix_signals as px
from .helpers import forget_receivers

signal = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    forget_receivers(signal)


def _both(run):
    """``run()`` untraced, then traced: both outcomes."""
    untraced = run()
    with sigscope.trace():
        traced = run()
    return untraced, traced


def _warned_at(level: int, send=lambda: signal.send(sender=None)):
    def warn(sender, **kwargs):
        warnings.warn("attributed", UserWarning, stacklevel=level)

    signal.receivers.clear()
    signal.connect(warn, weak=False)

    def run():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            send()  # the line a stacklevel past Django's send points to
        return [(w.filename, w.lineno) for w in caught]

    return _both(run)


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_warning_stacklevels_point_where_they_point_without_tracing(level):
    untraced, traced = _warned_at(level)
    assert untraced == traced and len(traced) == 1
    untraced, traced = _warned_at(level, lambda: signal.send_robust(sender=None))
    assert untraced == traced


@pytest.mark.parametrize("level", [2, 3])
def test_warning_stacklevels_in_a_plugin_signal_are_unchanged(level):
    plugin = px.GlobalSignal()

    def warn(sender, **kwargs):
        warnings.warn("attributed", UserWarning, stacklevel=level)

    plugin.connect(warn, weak=False)

    def run():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plugin.send_chained(None, "value", value=1)
        return [(w.filename, w.lineno) for w in caught]

    untraced, traced = _both(run)
    assert untraced == traced


def test_recursion_fails_within_one_frame_per_level_of_plain_django():
    reached = []

    def recurse(sender, depth, **kwargs):
        reached.append(depth)
        signal.send(sender=None, depth=depth + 1)

    signal.connect(recurse, weak=False)

    def deepest():
        reached.clear()
        with pytest.raises(RecursionError) as caught:
            signal.send(sender=None, depth=0)
        return max(reached), caught.value

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        plain, _ = deepest()
        with sigscope.trace(max_events=50) as t:
            traced, error = deepest()
    finally:
        sys.setrecursionlimit(limit)
    # plain Django: 2 frames per level (receiver, send); traced: 3 (the patched send), or 2
    # with the C accelerator (its send adds no Python frame): the same depth as plain Django.
    if accel.enabled:
        assert traced == plain
    else:
        assert plain * 2 // 3 - 3 <= traced < plain
    assert type(error) is RecursionError and len(t.events) == 50
    assert t.events[-1].calls[0].error.type == "RecursionError"


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exceptions_propagate_untouched(exc_type):
    raised = exc_type("stop")
    ran = []

    def stop(sender, **kwargs):
        raise raised

    signal.connect(stop, weak=False)
    signal.connect(lambda sender, **kw: ran.append(1), weak=False)
    for method in ("send", "send_robust"):
        with sigscope.trace() as t, pytest.raises(exc_type) as caught:
            getattr(signal, method)(sender=None)
        assert caught.value is raised and ran == []
        assert t.events[0].calls[0].error.type == exc_type.__name__


def test_a_listener_raising_keyboardinterrupt_propagates():
    signal.connect(lambda sender, **kw: None, weak=False)

    def listener(event):
        raise KeyboardInterrupt

    tracer = sigscope.Tracer(listener=listener)
    with tracer, pytest.raises(KeyboardInterrupt):
        signal.send(sender=None)


def test_send_robust_results_and_log_records_are_the_same(caplog):
    class Raising:
        def __call__(self, sender, **kwargs):
            raise ValueError("callable")

    def failing(sender, **kwargs):
        raise ValueError("function")

    signal.connect(failing, weak=False)

    def run():
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="django.dispatch"):
            result = signal.send_robust(sender=None)
        return [(r, type(v), v.args) for r, v in result], [
            (rec.getMessage(), rec.exc_info[0]) for rec in caplog.records
        ]

    untraced, traced = _both(run)
    assert untraced == traced and "failing" in traced[1][0][0]
    signal.connect(Raising(), weak=False)  # Django logs receiver.__qualname__: it has none
    errors = []
    for tracing in (False, True):
        with sigscope.trace() if tracing else _null():
            try:
                signal.send_robust(sender=None)
            except AttributeError as exc:
                errors.append(str(exc))
    assert len(errors) == 2 and errors[0] == errors[1]


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def test_has_listeners_and_the_sql_django_runs_are_unchanged():
    sigscope.demo.migrate()
    customer_model = apps.get_model("shop", "Customer")
    before = [pre_delete.has_listeners(customer_model), post_delete.has_listeners(customer_model)]

    def run():
        customer = customer_model.objects.create(name="x", email="x@example.com")
        with CaptureQueriesContext(connection) as queries:
            customer_model.objects.filter(pk=customer.pk).delete()
        return [q["sql"].split(" WHERE")[0] for q in queries.captured_queries]

    untraced, traced = _both(run)
    assert untraced == traced
    with sigscope.trace():
        during = [
            pre_delete.has_listeners(customer_model),
            post_delete.has_listeners(customer_model),
        ]
    assert before == during


def test_the_same_objects_come_back_from_every_method():
    receivers = [lambda sender, i=i, **kw: [i] for i in range(3)]
    for receiver in receivers:
        signal.connect(receiver, weak=False)
    with sigscope.trace():
        result = signal.send(sender=None)
        robust = signal.send_robust(sender=None)
    assert [r for r, _ in result] == receivers and all(
        a is b for a, (b, _) in zip(receivers, result)
    )
    assert [v for _, v in robust] == [[0], [1], [2]]


def test_signal_attributes_are_identical_after_stop_even_across_threads():
    before = dict(vars(Signal))
    start = threading.Thread.start
    tracers = [sigscope.Tracer() for _ in range(4)]
    threads = [threading.Thread(target=t.start) for t in tracers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for tracer in tracers:
        tracer.stop()
    assert dict(vars(Signal)) == before and threading.Thread.start is start
