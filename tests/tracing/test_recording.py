"""Items 4 and 6 and the listener contract: what is kept, what is counted, who is told."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import threading
import weakref

import pytest
from django.apps import apps
from django.db.models.signals import pre_init
from django.dispatch import Signal
from django.test import override_settings

import sigscope
import sigscope.demo
from sigscope.records import UnheardSends
from sigscope.tracing import active_tracers, current_call
from sigscope.tracing.jsonl import iter_jsonl

from .helpers import forget_receivers

signal = Signal()
other = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    forget_receivers(signal, other)


class Payload:
    pass


def test_nothing_is_kept_alive_once_a_send_returns():
    def receiver(sender, **kwargs):
        return Payload()

    def raising(sender, **kwargs):
        raise ValueError(kwargs["payload"], Payload())

    payload, sender, result_holder = Payload(), Payload(), []
    with override_settings(DEBUG=False):  # DEBUG's signature cache would keep receivers alive
        signal.connect(receiver)
        other.connect(raising)
    refs = [weakref.ref(x) for x in (payload, sender, receiver, raising)]
    logger = logging.getLogger("django.dispatch")  # pytest's log capture keeps exc_info
    logger.disabled = True
    with sigscope.trace() as t:
        result_holder.append(weakref.ref(signal.send(sender=sender, payload=payload)[0][1]))
        robust = other.send_robust(sender=sender, payload=payload)
        refs.append(weakref.ref(robust[0][1].args[1]))
        del robust
    logger.disabled = False
    signal.disconnect(receiver)
    other.disconnect(raising)
    del payload, sender, receiver, raising
    gc.collect()
    assert [r() for r in refs] == [None] * 5 and result_holder[0]() is None
    assert [e.calls[0].name.rpartition(".")[2] for e in t.events] == ["receiver", "raising"]


def test_the_ring_buffer_bounds_memory():
    signal.connect(lambda sender, **kw: None, weak=False)
    with sigscope.trace(max_events=10) as t:
        for n in range(1000):
            signal.send(sender=None, n=n)
    assert len(t.events) == 10 and t.dropped == 990
    assert dict(t.events[-1].kwargs)["n"] == "999"


def test_sends_nobody_hears_are_counted_per_signal_and_sender_without_events():
    sigscope.demo.migrate()
    tag = apps.get_model("blog", "Tag")
    signal.connect(lambda sender, **kw: None, sender=tag, weak=False)
    with sigscope.trace() as t:
        for _ in range(3):
            tag(name="x")  # pre_init and post_init: nobody listens
        signal.send(sender=None)  # a receiver exists, but for another sender
        other.send(sender="billing")
        other.send(sender="billing")
    assert t.events == () or all(not e.signal.endswith((".signal", ".other")) for e in t.events)
    counts = {(u.signal.rpartition(".")[2], u.sender): u.count for u in t.unheard}
    assert counts[("pre_init", "blog.Tag")] == 3 and counts[("post_init", "blog.Tag")] == 3
    assert counts[("signal", None)] == 1 and counts[("other", "'billing'")] == 2
    assert all(type(u) is UnheardSends for u in t.unheard)
    assert "sent to no receiver" in t.tree() and "pre_init(blog.Tag) ×3" in t.tree()
    assert "sent to no receiver" in t.summary_text()
    assert "sent to no receiver" in t._repr_html_()
    buffer = io.StringIO()
    t.to_jsonl(buffer)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert lines[0]["pid"] > 0 and lines[0]["host"] and lines[0]["unheard"] == len(t.unheard)
    unheard = [r for r in iter_jsonl(buffer.getvalue().splitlines()) if r["type"] == "unheard"]
    assert {"signal", "sender", "count"} <= set(unheard[0])


def test_unheard_counts_survive_their_sender_and_are_not_merged_with_another():
    class First:
        pass

    class Second:
        pass

    with sigscope.trace() as t:
        first = First()
        signal.send(sender=first)
        del first
        gc.collect()
        second = Second()  # very likely at the first one's address
        signal.send(sender=second)
        signal.send(sender=second)
    counts = {
        u.sender.rpartition(".")[2]: u.count for u in t.unheard if u.signal.endswith(".signal")
    }
    assert counts == {"First>": 1, "Second>": 2}


def test_filters_apply_to_unheard_counts():
    with sigscope.trace(signals=[signal]) as t:
        signal.send(sender=None)
        other.send(sender=None)
        pre_init  # noqa: B018 - unrelated built-ins are not counted either
    assert [u.signal.rpartition(".")[2] for u in t.unheard] == ["signal"]


def test_the_listener_is_called_inner_send_first_with_frozen_events():
    seen = []

    def relay(sender, **kwargs):
        assert current_call() is not None
        other.send(sender=None)

    signal.connect(relay, weak=False)
    other.connect(lambda sender, **kw: 1, weak=False)
    tracer = sigscope.Tracer(listener=seen.append)
    with tracer as t:
        signal.send(sender=None)
        signal.send(sender="no one")  # recorded too
        Signal().send(sender=None)  # not recorded: never told
    assert [e.signal.rpartition(".")[2] for e in seen] == ["other", "signal", "other", "signal"]
    assert seen[0].parent == (seen[1].id, 0)
    assert list(t.events) == sorted(seen, key=lambda e: e.id)
    assert current_call() is None


def test_listener_errors_are_counted_and_warned_about_once():
    signal.connect(lambda sender, **kw: None, weak=False)

    def broken(event):
        raise RuntimeError("listener bug")

    tracer = sigscope.Tracer(listener=broken)
    with pytest.warns(RuntimeWarning, match="listener raised RuntimeError"), tracer:
        for _ in range(3):
            assert signal.send(sender=None)[0][1] is None
    assert tracer.listener_errors == 3


def test_the_listener_hears_a_send_that_raised():
    def boom(sender, **kwargs):
        raise ValueError("x")

    signal.connect(boom, weak=False)
    seen = []
    with sigscope.Tracer(listener=seen.append), pytest.raises(ValueError):
        signal.send(sender=None)
    assert seen[0].error.type == "ValueError"


def test_threads_and_asyncio_tasks_at_once_get_their_own_parents():
    def relay(sender, n, **kwargs):
        other.send(sender=None, n=n)

    signal.connect(relay, weak=False)
    other.connect(lambda sender, n, **kw: n, weak=False)

    async def task(n):
        await asyncio.sleep(0)
        signal.send(sender=None, n=n)
        await asyncio.sleep(0)

    async def tasks():
        await asyncio.gather(*(task(n) for n in range(20)))

    def pump(base):
        for n in range(base, base + 50):
            signal.send(sender=None, n=n)

    with sigscope.trace() as t:
        threads = [threading.Thread(target=pump, args=(1000 * (i + 1),)) for i in range(3)]
        for thread in threads:
            thread.start()
        asyncio.run(tasks())
        for thread in threads:
            thread.join()
    events = {e.id: e for e in t.events}
    children = [e for e in events.values() if e.signal.endswith(".other")]
    assert len(children) == 170
    for child in children:
        parent = events[child.parent[0]]
        assert dict(parent.kwargs)["n"] == dict(child.kwargs)["n"]
        assert parent.thread_id == child.thread_id


def test_record_empty_keeps_sends_nobody_heard_as_events_too():
    with sigscope.trace(record_empty=True) as everything, sigscope.trace() as usual:
        signal.send(sender=None)
    assert [e.signal.rpartition(".")[2] for e in everything.events] == ["signal"]
    assert everything.events[0].calls == () and usual.events == ()
    assert [u.count for u in everything.unheard] == [1] == [u.count for u in usual.unheard]


def test_a_bound_method_receivers_sequence_is_named_right_after_its_instance_dies():
    from sigscope.tracing import names

    class Counter:
        def __init__(self, label):
            self.label = label

        def count(self, sender, **kwargs):
            return self.label

    def plain(sender, **kwargs):
        return None

    pinged = Signal()
    first = Counter("a")
    pinged.connect(plain)
    pinged.connect(first.count)
    with sigscope.trace() as t:
        pinged.send(sender=None)
        pinged.send(sender=None)
    assert [c.receiver.qualname.rpartition(".<locals>.")[2] for c in t.events[1].calls] == [
        "plain",
        "Counter.count",
    ]
    cached = [k for k in names._by_ids if len(k) == 2 and k[0] == id(plain)]
    assert cached and type(cached[0][1]) is tuple  # keyed by (id(self), id(func))
    del first
    gc.collect()
    assert not [k for k in names._by_ids if len(k) == 2 and k[0] == id(plain)]
    second = Counter("b")
    pinged.connect(second.count)
    with sigscope.trace() as t:
        pinged.send(sender=None)
    assert [
        (c.receiver.qualname.rpartition(".<locals>.")[2], c.result) for c in t.events[0].calls
    ] == [
        ("plain", "None"),
        ("Counter.count", "'b'"),
    ]
    assert t.events[0].calls[1].receiver.self_id == id(second)
