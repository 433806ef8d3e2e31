"""The ring buffer: the C path's ``Ring`` keeps a common send as a compact record.

What the events show must not depend on how a send was kept: a compact record,
the send itself (one that does not fit a record), a pure-path entry, or a
``deque``.  Runs on both paths; the record-specific checks need the C path.
"""

from __future__ import annotations

import gc
import sys
import weakref

import pytest
from django.dispatch import Signal

import sigscope.demo
from sigscope.tracing import Tracer, accel

from .helpers import forget_receivers

signal = Signal()
nested = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    forget_receivers(signal, nested)


def _quiet(sender: object, **kwargs: object) -> None:
    return None


def _answers(sender: object, **kwargs: object) -> int:
    return 42


def _sends_nested(sender: object, **kwargs: object) -> None:
    nested.send(sender=None, depth=1)


def _on_c_path(tracer: Tracer) -> bool:
    return accel.compiled is not None and type(tracer._buffer) is accel.compiled.Ring


def _records(tracer: Tracer) -> set[int]:
    """The ids of the sends the ring keeps as compact records (read back as their ids)."""
    known = {event.id: event for event in tracer.events}
    return {entry for entry in tracer._buffer.entries(known) if type(entry) is int}


def _shape(event: object) -> tuple[object, ...]:
    """What an event says, without its ids, clock readings and addresses."""
    calls = tuple((c.index, c.receiver.qualname, c.result, c.error) for c in event.calls)
    return (event.signal, event.method, event.sender, event.kwargs, event.thread, calls)


def test_the_ring_is_the_c_path_s_buffer_and_a_deque_otherwise():
    tracer = Tracer(max_events=3)
    if accel.enabled and accel.compiled is not None:
        assert type(tracer._buffer) is accel.compiled.Ring
    else:
        assert type(tracer._buffer).__name__ == "deque"
    assert tracer._buffer.maxlen == 3 and len(tracer._buffer) == 0


def test_a_common_send_is_a_record_that_reads_back_as_its_event():
    sigscope.demo.migrate()
    from sigscope.demo.blog.models import Tag

    signal.connect(_quiet)
    tag = Tag(name="a", pk=12)
    tracer = Tracer()
    with tracer as trace:
        for _ in range(2):  # a call site's first send is recorded by the Python code
            signal.send(sender=Tag, instance=tag, n=3, text="x", flag=True, nothing=None)
            signal.send(sender=None)
    assert [_shape(e) for e in trace.events[:2]] == [_shape(e) for e in trace.events[2:]]
    first, second = trace.events[2:]
    assert first.signal == second.signal == f"{__name__}.signal"
    assert _shape(first) == (
        first.signal,
        "send",
        "blog.Tag",
        (
            ("instance", "<blog.Tag pk=12>"),
            ("n", "3"),
            ("text", "'x'"),
            ("flag", "True"),
            ("nothing", "None"),
        ),
        "MainThread",
        ((0, "_quiet", "None", None),),
    )
    assert second.kwargs == () and second.sender is None and len(second.calls) == 1
    assert first.duration_ns >= first.calls[0].offset_ns + first.calls[0].duration_ns >= 0
    if _on_c_path(tracer):
        assert {first.id, second.id} <= _records(tracer)
        # read back as a new send each time, the same event (frozen once)
        rebuilt = tracer._buffer.entries({})[2]
        assert rebuilt is not tracer._buffer.entries({})[2] and rebuilt.id == first.id
        assert rebuilt.end - rebuilt.start == first.duration_ns
        assert trace.events[2] is trace.events[2]


def test_sends_that_do_not_fit_a_record_keep_themselves_and_read_the_same():
    nested.connect(_quiet)
    tracer = Tracer()
    with tracer as trace:
        for _ in range(2):  # the first round fills the caches the C path reads
            for i in range(9):  # 9 receivers: 10 clock readings, more than a record holds
                signal.connect(_quiet, dispatch_uid=f"quiet-{i}")
            signal.send(sender=None)
            signal.receivers.clear()
            signal.sender_receivers_cache.clear()
            signal.connect(_quiet)
            signal.send(sender=None, a=1, b=2, c=3, d=4, e=5, f=6, g=7)  # too many kwargs
            signal.send(sender=None, a=1, b=2, c=3, d=4, e=5, f=6)  # fits
            signal.connect(_sends_nested)
            signal.send(sender=None)  # fits; its nested send has a parent
            signal.disconnect(_sends_nested)
            signal.connect(_answers)
            signal.send(sender=None)  # a result: recorded by the Python code
            signal.receivers.clear()
            signal.sender_receivers_cache.clear()
    events = trace.events
    assert [_shape(e) for e in events[:6]] == [_shape(e) for e in events[6:]]
    assert [len(e.calls) for e in events[6:]] == [9, 1, 1, 2, 1, 2]
    assert [e.kwargs[-1][0] if e.kwargs else None for e in events[6:]] == [
        None,
        "g",
        "f",
        None,
        "depth",
        None,
    ]
    outer, inner = events[9], events[10]
    assert inner.parent == (outer.id, 1) and inner.signal == f"{__name__}.nested"
    assert [c.result for c in events[11].calls] == ["None", "42"]
    if _on_c_path(tracer):
        records = _records(tracer)
        assert {events[8].id, events[9].id} <= records
        assert records.isdisjoint(e.id for i, e in enumerate(events) if i % 6 not in (2, 3))


def test_the_ring_keeps_the_latest_in_order_whatever_each_entry_is():
    signal.connect(_quiet)
    tracer = Tracer(max_events=5)
    with tracer as trace:
        for i in range(12):
            if i % 3 == 2:
                signal.send(sender=None, a=1, b=2, c=3, d=4, e=5, f=6, g=i)  # its own entry
            else:
                signal.send(sender=None, i=i)  # a record on the C path
    events = trace.events
    assert len(events) == 5 and tracer.dropped == 7
    assert [dict(e.kwargs).get("i", dict(e.kwargs).get("g")) for e in events] == [
        "7",
        "8",
        "9",
        "10",
        "11",
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    tracer.clear()
    assert trace.events == () and tracer.dropped == 0
    with tracer:
        signal.send(sender=None, i=99)
    assert [dict(e.kwargs)["i"] for e in trace.events] == ["99"]


def test_a_ring_grows_as_it_fills_and_a_huge_max_events_costs_nothing_up_front():
    signal.connect(_quiet)
    tracer = Tracer(max_events=10**12)  # a record array of that size would not fit any machine
    with tracer as trace:
        for i in range(300):  # past the first allocation, several doublings
            signal.send(sender=None, i=i)
    assert [dict(e.kwargs)["i"] for e in trace.events] == [str(i) for i in range(300)]
    assert tracer.dropped == 0


def test_the_ring_as_a_container():
    if accel.compiled is None:
        pytest.skip("the C accelerator is not built")
    Ring = accel.compiled.Ring
    with pytest.raises(ValueError):
        Ring(0)
    with pytest.raises(TypeError):
        Ring("3")
    ring = Ring(maxlen=2)
    for item in ("a", "b", "c"):
        ring.append(item)
    assert len(ring) == 2 and list(ring) == ["b", "c"] and ring.entries({}) == ["b", "c"]
    with pytest.raises(TypeError):
        ring.entries([])
    with pytest.raises(AttributeError):
        ring.maxlen = 5
    ring.clear()
    assert len(ring) == 0 and list(ring) == []
    ring.append("d")
    assert list(ring) == ["d"]


def test_entries_appended_while_the_ring_is_cleared_keep_their_order_as_it_wraps_and_grows():
    if accel.compiled is None:
        pytest.skip("the C accelerator is not built")
    ring = accel.compiled.Ring(maxlen=1000)

    class Rejoins:  # dropped by clear(), it appends again: the ring is mid-way, not empty
        def __init__(self, label: int) -> None:
            self.label = label

        def __del__(self) -> None:
            ring.append(f"again-{self.label}")

    for i in range(30):
        ring.append(Rejoins(i))
    ring.clear()  # the 30 dropped, 30 strings appended behind them: the oldest not at the start
    assert list(ring) == [f"again-{i}" for i in range(30)]
    for i in range(100):  # wraps around the first array's end, then grows past it
        ring.append(i)
    assert list(ring) == [f"again-{i}" for i in range(30)] + list(range(100))
    assert len(ring) == 130


def test_a_dropped_tracer_and_what_its_ring_holds_are_collected():
    signal.connect(_quiet)

    class Value:
        pass

    tracer = Tracer()
    with tracer:
        signal.send(sender=None, n=1)
        signal.send(sender=None, value=Value())  # described by its class: not kept
    tracer_ref = weakref.ref(tracer)
    assert len(tracer.events) == 2
    del tracer
    gc.collect()
    assert tracer_ref() is None  # the ring is part of the tracer's cycles, and collected


def test_a_ring_read_while_another_thread_records_stays_consistent():
    import threading

    signal.connect(_quiet)
    tracer = Tracer(max_events=50)
    stop = threading.Event()
    sent = []

    def keep_sending() -> None:
        while not stop.is_set():
            signal.send(sender=None, i=1)
            sent.append(1)

    with tracer as trace:
        worker = threading.Thread(target=keep_sending)
        worker.start()
        try:
            for _ in range(200):  # reads while the sender wraps the ring
                events = trace.events
                assert [e.id for e in events] == sorted({e.id for e in events})
                assert all(dict(e.kwargs) == {"i": "1"} for e in events)
        finally:
            stop.set()
            worker.join()
    assert len(trace.events) + tracer.dropped == len(sent) and len(trace.events) <= 50


@pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason="CPython 3.10/3.11 crash when gc callbacks run Python code at any allocation "
    "(frame-lifetime bugs of the python/cpython#94262 kind); reproduced without sigscope's "
    "C extension installed",
)
def test_sends_made_by_the_collector_while_the_ring_is_read_or_written_keep_it_whole():
    signal.connect(_quiet)
    nested.connect(_quiet)
    tracer = Tracer(max_events=20)
    during = []

    def send_during_gc(phase: str, info: object) -> None:
        if phase == "start" and len(during) < 60:  # a __del__ or gc callback that sends
            during.append(1)
            nested.send(sender=None, during="gc")

    with tracer as trace:
        for i in range(30):
            signal.send(sender=None, i=i)
        threshold = gc.get_threshold()
        gc.callbacks.append(send_during_gc)
        gc.set_threshold(1)  # a collection at almost every allocation, sigscope's own included
        try:
            for i in range(10):
                signal.send(sender=None, i=100 + i)
                events = trace.events
        finally:
            gc.set_threshold(*threshold)
            gc.callbacks.remove(send_during_gc)
    events = trace.events
    assert during, "the collector never ran"
    assert len(events) == 20 and len(events) + tracer.dropped == 40 + len(during)
    assert [e.id for e in events] == sorted({e.id for e in events})
    for event in events:
        assert dict(event.kwargs) in ({"during": "'gc'"}, {"i": dict(event.kwargs).get("i")})
        assert [c.result for c in event.calls] == ["None"]
