"""The tracer records every send and changes nothing Django does."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import threading
import weakref

import pytest
from django.apps import apps
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.test import override_settings

import sigscope
from sigscope import _compat
from sigscope.tracing import Tracer, active_tracers
from sigscope.tracing.jsonl import iter_jsonl

from .helpers import forget_receivers

HAS_ASYNC = _compat.HAS_ASYNC_SIGNALS
needs_async = pytest.mark.skipif(not HAS_ASYNC, reason="Django 4.2 has no async signals")

ping = Signal()
pong = Signal()


def plain(sender, **kwargs):
    return ("plain", kwargs.get("n"))


def boom(sender, **kwargs):
    raise ValueError("boom <b>")


class Callable:
    def __call__(self, sender, **kwargs):
        return "callable"


class Owner:
    def method(self, sender, **kwargs):
        return "method"


async def coroutine(sender, **kwargs):
    await asyncio.sleep(0)
    return "async"


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()  # every test stops what it starts
    forget_receivers(ping, pong)


def _class_attributes():
    return dict(vars(Signal))


def _wire_every_kind():
    keep = [Callable(), Owner(), functools.partial(plain, n=1), lambda sender, **kw: "lambda"]
    ping.connect(plain)
    ping.connect(keep[0])
    ping.connect(keep[1].method)
    ping.connect(keep[2], weak=False)
    ping.connect(keep[3])
    if HAS_ASYNC:
        ping.connect(coroutine)
    return keep


def _same(a, b):
    """Responses equal item by item: the same receiver objects, equal values."""
    assert len(a) == len(b)
    for (ra, va), (rb, vb) in zip(a, b):
        assert ra == rb and type(ra) is type(rb)  # originals, never wrappers
        assert va == vb


def test_send_and_send_robust_return_what_django_returns():
    keep = _wire_every_kind()
    before = _class_attributes()
    plain_send, plain_robust = ping.send(sender=Owner, n=2), ping.send_robust(sender=Owner, n=2)
    with sigscope.trace() as t:
        traced_send = ping.send(sender=Owner, n=2)
        traced_robust = ping.send_robust(sender=Owner, n=2)
    _same(plain_send, traced_send)
    _same(plain_robust, traced_robust)
    assert _class_attributes() == before
    assert all(_class_attributes()[k] is v for k, v in before.items())  # identical objects
    first = t.events[0]
    assert [c.receiver.kind for c in first.calls][:5] == [
        "function",
        "callable",
        "method",
        "partial",
        "lambda",
    ]
    assert [c.index for c in first.calls] == list(range(len(first.calls)))
    assert first.calls[0].result == "('plain', 2)" and first.sender == f"<class {__name__}.Owner>"
    if HAS_ASYNC:
        assert first.calls[-1].is_async and first.calls[-1].result == "'async'"
    del keep


@needs_async
def test_asend_and_asend_robust_return_what_django_returns():
    keep = _wire_every_kind()
    plain_results = asyncio.run(_both(ping))
    with sigscope.trace() as t:
        traced_results = asyncio.run(_both(ping))
    for a, b in zip(plain_results, traced_results):
        _same(a, b)
    assert [e.method for e in t.events] == ["asend", "asend_robust"]
    assert all(len(e.calls) == 6 for e in t.events)
    del keep


async def _both(signal):
    return [await signal.asend(sender=None, n=3), await signal.asend_robust(sender=None, n=3)]


def test_the_same_exception_object_propagates_and_later_receivers_do_not_run():
    ran = []
    ping.connect(boom)
    ping.connect(lambda sender, **kw: ran.append(1), weak=False)
    with pytest.raises(ValueError) as plain_error:
        ping.send(sender=None)
    with sigscope.trace() as t, pytest.raises(ValueError) as traced_error:
        ping.send(sender=None)
    assert type(traced_error.value) is type(plain_error.value) and ran == []
    [event] = t.events
    assert event.error.type == "ValueError" and len(event.calls) == 1
    assert event.calls[0].error.message == "boom <b>"
    assert "raise ValueError" in event.calls[0].error.traceback


def test_exception_identity_is_preserved():
    error = KeyError("mine")

    def raiser(sender, **kwargs):
        raise error

    ping.connect(raiser)
    with sigscope.trace(), pytest.raises(KeyError) as caught:
        ping.send(sender=None)
    assert caught.value is error


def test_send_robust_logs_the_same_and_a_raising_partial_still_breaks_it(caplog):
    ping.connect(boom)
    caplog.set_level(logging.ERROR, logger="django.dispatch")
    ping.send_robust(sender=None)
    plain_records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    caplog.clear()
    with sigscope.trace() as t:
        result = ping.send_robust(sender=None)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == plain_records
    assert isinstance(result[0][1], ValueError) and result[0][0] is boom
    assert t.events[0].calls[0].error.type == "ValueError"
    # Django logs receiver.__qualname__: a raising partial makes send_robust itself raise.
    ping.receivers.clear()
    ping.connect(functools.partial(boom), weak=False)
    with pytest.raises(AttributeError) as plain_attr:
        ping.send_robust(sender=None)
    with sigscope.trace(), pytest.raises(AttributeError) as traced_attr:
        ping.send_robust(sender=None)
    assert str(traced_attr.value) == str(plain_attr.value)


def test_tracing_connects_nothing_and_has_listeners_is_unchanged():
    order = apps.get_model("shop", "Order")
    listeners = {s: s.has_listeners(order) for s in (post_save, ping)}
    lengths = {s: len(s.receivers) for s in (post_save, ping)}
    with sigscope.trace():
        assert {s: s.has_listeners(order) for s in (post_save, ping)} == listeners
        assert {s: len(s.receivers) for s in (post_save, ping)} == lengths


def test_nested_and_overlapping_tracers_restore_the_class_exactly():
    before = _class_attributes()
    ping.connect(plain)
    outer = Tracer().start()
    inner = Tracer(signals=[ping]).start()
    ping.send(sender=None)
    outer.stop()  # overlapping: the inner one still records
    ping.send(sender=None)
    assert _class_attributes() != before
    inner.stop()
    assert all(_class_attributes()[k] is v for k, v in before.items())
    assert len(outer.events) == 1 and len(inner.events) == 2


def test_nested_sends_are_children_of_the_receiver_that_made_them():
    def relay(sender, **kwargs):
        return pong.send(sender=sender)

    ping.connect(plain)
    ping.connect(relay)
    pong.connect(plain)
    with sigscope.trace() as t:
        ping.send(sender=None)
    outer, inner = t.events
    assert inner.parent == (outer.id, 1)  # made by the second receiver, relay
    assert t.children(outer, outer.calls[1]) == [inner]
    assert "▸ pong(-)" in t.tree()


def test_signals_created_after_tracing_started_are_traced():
    with sigscope.trace() as t:
        late = Signal()
        late.connect(plain)
        late.send(sender=None)
    assert len(t.events) == 1 and t.events[0].calls[0].name == f"{__name__}.plain"


def test_ring_buffer_keeps_the_latest_and_counts_the_dropped():
    ping.connect(plain)
    with sigscope.trace(max_events=5) as t:
        for n in range(20):
            ping.send(sender=None, n=n)
    assert len(t.events) == 5 and t.dropped == 15
    assert [e.calls[0].result for e in t.events] == [f"('plain', {n})" for n in range(15, 20)]
    assert "15 earlier sends dropped" in t.tree()


def test_clear_while_recording_starts_the_dropped_count_again():
    ping.connect(plain)
    tracer = Tracer(max_events=3).start()
    try:
        for n in range(10):
            ping.send(sender=None, n=n)
        assert tracer.dropped == 7
        tracer.clear()
        assert tracer.dropped == 0 and tracer.events == ()
        for n in range(5):
            ping.send(sender=None, n=n)
    finally:
        tracer.stop()
    assert len(tracer.events) == 3 and tracer.dropped == 2
    assert [e.calls[0].result for e in tracer.events] == [f"('plain', {n})" for n in (2, 3, 4)]


def test_sends_of_threads_that_take_turns_carry_each_thread_s_name():
    ping.connect(plain)
    turns = [threading.Event() for _ in range(7)]

    def take_turns(mine: range) -> None:
        for turn in mine:
            assert turns[turn].wait(timeout=60)
            ping.send(sender=None, n=turn)
            if turn + 1 < len(turns):
                turns[turn + 1].set()

    workers = [
        threading.Thread(target=take_turns, args=(range(first, 7, 2),), name=f"worker-{first}")
        for first in (0, 1)
    ]
    with sigscope.trace() as t:
        ping.send(sender=None, n=-2)
        ping.send(sender=None, n=-1)  # this thread's name is known and found now
        for worker in workers:  # both alive throughout: two different idents
            worker.start()
        turns[0].set()
        for worker in workers:
            worker.join(timeout=60)
        ping.send(sender=None, n=7)
    names = [e.thread for e in sorted(t.events, key=lambda e: e.id)]
    mine = threading.current_thread().name
    assert names == [mine, mine] + ["worker-0", "worker-1"] * 3 + ["worker-0", mine]


def test_a_thread_that_gets_a_finished_thread_s_ident_shows_its_own_name():
    ping.connect(plain)
    idents = []

    def work() -> None:
        idents.append(threading.get_ident())
        ping.send(sender=None)
        ping.send(sender=None)

    with sigscope.trace() as t:
        for n in range(10):  # one after the other: glibc hands a finished thread's ident out again
            worker = threading.Thread(target=work, name=f"one-after-another-{n}")
            worker.start()
            worker.join(timeout=60)
    names = [e.thread for e in sorted(t.events, key=lambda e: e.id)]
    assert names == [f"one-after-another-{n}" for n in range(10) for _ in range(2)]
    assert [e.thread_id for e in sorted(t.events, key=lambda e: e.id)][::2] == idents


def test_filters_by_signal_sender_and_app():
    order, post = apps.get_model("shop", "Order"), apps.get_model("blog", "Post")
    ping.connect(plain)
    pong.connect(plain)
    with (
        Tracer(signals=[ping]) as by_object,
        Tracer(signals=["pong"]) as by_name,
        Tracer(senders=["shop.Order"]) as by_label,
        Tracer(apps=["blog"]) as by_app,
        Tracer(exclude=[ping]) as without_ping,
        Tracer(exclude=["pong"]) as without_pong,
    ):
        for signal in (ping, pong):
            signal.send(sender=order)
            signal.send(sender=post)
    assert {e.signal.rpartition(".")[2] for e in by_object.events} == {"ping"}
    assert {e.signal.rpartition(".")[2] for e in by_name.events} == {"pong"}
    assert {e.sender for e in by_label.events} == {"shop.Order"}
    assert {e.sender for e in by_app.events} == {"blog.Post"}
    assert {e.signal.rpartition(".")[2] for e in without_ping.events} == {"pong"}
    assert {e.signal.rpartition(".")[2] for e in without_pong.events} == {"ping"}


def test_sensitive_kwargs_are_redacted_by_default_and_configurably():
    ping.connect(plain)
    hidden = "********************"  # SafeExceptionReporterFilter.cleansed_substitute
    with (
        sigscope.trace() as default,
        sigscope.trace(redact=["card"]) as custom,
        sigscope.trace(redact=None) as bare,
    ):
        ping.send(sender=None, password="hunter2", api_key="k", card_number="4111", n=1)
    assert dict(default.events[0].kwargs) == {
        "password": hidden,
        "api_key": hidden,
        "card_number": "'4111'",
        "n": "1",
    }
    assert dict(custom.events[0].kwargs)["card_number"] == hidden
    assert dict(custom.events[0].kwargs)["password"] == hidden  # Django's filter still applies
    assert dict(bare.events[0].kwargs)["password"] == "'hunter2'"


class Hostile:
    def __repr__(self):
        raise RuntimeError("no repr for you")


def test_hostile_kwargs_and_results_never_break_the_application():
    cyclic: list = []
    cyclic.append(cyclic)
    ping.connect(lambda sender, **kw: Hostile(), weak=False)
    ping.connect(lambda sender, **kw: "x" * 1_000_000, weak=False)
    with sigscope.trace() as t:
        result = ping.send(sender=Hostile(), bad=Hostile(), huge="y" * 1_000_000, cyclic=cyclic)
    assert len(result) == 2 and len(result[1][1]) == 1_000_000  # the app got its values
    [event] = t.events
    kwargs = dict(event.kwargs)
    by_class = f"<{Hostile.__module__}.Hostile>"  # described by its class only
    assert kwargs["bad"] == by_class
    assert len(kwargs["huge"]) <= 220 and "<list of 1>" in kwargs["cyclic"]
    assert event.sender == by_class
    assert event.calls[0].result == by_class
    assert len(event.calls[1].result) <= 220


def test_model_instances_are_described_without_a_query():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sigscope.demo.migrate()
    order_model = apps.get_model("shop", "Order")
    order = order_model(pk=41, customer_id=999)  # its __str__ would not query, but a FK might
    ping.connect(plain)
    with CaptureQueriesContext(connection) as queries, sigscope.trace() as t:
        ping.send(sender=order_model, instance=order)
    assert len(queries) == 0
    assert dict(t.events[0].kwargs)["instance"] == "<shop.Order pk=41>"


def test_tracer_keeps_nothing_alive():
    class Payload:
        pass

    def local(sender, **kwargs):
        return Payload()

    payload, sender = Payload(), Owner()
    refs = [weakref.ref(x) for x in (payload, sender, local)]
    with override_settings(DEBUG=False):  # DEBUG's signature cache would keep `local` alive
        ping.connect(local)
    with sigscope.trace() as t:
        ping.send(sender=sender, payload=payload)
    ping.disconnect(local)
    del payload, sender, local
    gc.collect()
    assert [r() for r in refs] == [None, None, None]
    assert t.events[0].calls[0].name.endswith("local")  # the record outlives them


def test_eight_threads_sending_lose_nothing_and_attach_children_correctly():
    def relay(sender, **kwargs):
        pong.send(sender=sender, n=kwargs["n"])

    ping.connect(relay)
    pong.connect(plain)
    barrier = threading.Barrier(8)

    def worker(k):
        barrier.wait()
        for n in range(50):
            ping.send(sender=None, n=k * 1000 + n)

    with sigscope.trace(max_events=10_000) as t:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    events = {e.id: e for e in t.events}
    pings = [e for e in events.values() if e.signal.endswith(".ping")]
    pongs = [e for e in events.values() if e.signal.endswith(".pong")]
    assert len(pings) == len(pongs) == 400 and t.dropped == 0
    for child in pongs:
        parent = events[child.parent[0]]
        assert parent.signal.endswith(".ping") and parent.thread_id == child.thread_id
        assert dict(parent.kwargs)["n"] == dict(child.kwargs)["n"]


def test_a_thread_started_inside_a_receiver_sends_as_its_child():
    def spawn(sender, **kwargs):
        thread = threading.Thread(target=lambda: pong.send(sender=None))
        thread.start()
        thread.join()

    ping.connect(spawn)
    pong.connect(plain)
    with sigscope.trace() as t:
        ping.send(sender=None)
    outer, inner = t.events
    assert inner.parent == (outer.id, 0) and inner.thread_id != outer.thread_id


def test_once_a_receiver_started_a_thread_each_thread_keeps_its_own_parent():
    from sigscope.tracing import accel, capture

    def spawn(sender, **kwargs):
        thread = threading.Thread(target=lambda: [pong.send(sender=None) for _ in range(2)])
        thread.start()
        thread.join()

    ping.connect(spawn)
    pong.connect(plain)
    tracer = sigscope.Tracer()
    with tracer as t:
        ping.send(sender=None)  # marks the threads: a send outside receivers asks for its parent
        for _ in range(2):
            pong.send(sender=None)
        outside = threading.Thread(target=lambda: pong.send(sender=None))
        outside.start()
        outside.join()
    assert capture.threads_marked
    outer, child_1, child_2, main_1, main_2, other = t.events
    assert child_1.parent == child_2.parent == (outer.id, 0)
    assert main_1.parent is main_2.parent is other.parent is None
    assert child_1.thread_id == child_2.thread_id != main_1.thread_id == outer.thread_id
    if accel.enabled and accel.compiled is not None:
        # the sends the C path made itself (its clock readings a Marks): all but the children's
        kept = [entry[0] if type(entry) is tuple else entry for entry in tracer._buffer]
        made_in_c = {send.id for send in kept if type(send.marks) is accel.compiled.Marks}
        assert made_in_c == {outer.id, main_1.id, main_2.id, other.id}


def test_a_sync_send_inside_a_running_loop_carries_its_task_as_a_notebook_cell_s_does():
    from sigscope.tracing import accel

    class OddName(asyncio.Task):
        def get_name(self):
            return 5  # not a str: shown as "<task>"

    class BrokenName(asyncio.Task):
        def get_name(self):
            raise RuntimeError("no name")  # an Exception: shown as "<task>", the send unharmed

    def quiet(sender, **kwargs):
        return None

    pong.connect(quiet)

    async def cell():
        for _ in range(2):  # the second: every cache warm
            pong.send(sender=None, n=1)

    async def main():
        pong.send(sender=None, n=0)  # the loop's main task
        loop = asyncio.get_running_loop()
        await asyncio.create_task(cell(), name="cell-7")
        await OddName(cell(), loop=loop)
        await BrokenName(cell(), loop=loop)
        loop.call_soon(pong.send, None)  # a callback: a loop runs, no task
        await asyncio.sleep(0)

    tracer = sigscope.Tracer()
    with tracer as t:
        asyncio.run(main())
    tasks = [e.task for e in t.events]
    assert tasks[1:] == ["cell-7"] * 2 + ["<task>"] * 4 + [None]
    assert tasks[0] is not None and tasks[0].startswith("Task-")
    assert all(e.parent is None and len(e.calls) == 1 for e in t.events)
    if accel.enabled and accel.compiled is not None:  # each made by the C path, not Send.__init__
        kept = [entry[0] if type(entry) is tuple else entry for entry in tracer._buffer]
        assert {type(send.marks) for send in kept} == {accel.compiled.Marks}
        assert len({send.task_key for send in kept if send.task == "cell-7"}) == 1


@needs_async
def test_concurrent_tasks_and_async_receivers_get_the_right_parents():
    async def relay(sender, n, **kwargs):
        await asyncio.sleep(0)  # let the other receivers and tasks interleave
        await pong.asend(sender=None, n=n)
        await asyncio.sleep(0)
        return n

    async def relay_too(sender, n, **kwargs):
        await asyncio.sleep(0)
        await pong.asend(sender=None, n=n + 0.5)

    async def echo(sender, n, **kwargs):
        return n

    # pong's receiver is async too: on Django 6.1, sync receivers reached through asend()
    # from concurrently running async receivers of one send raise asgiref's "Single thread
    # executor already being used" (with or without tracing).
    ping.connect(relay)
    ping.connect(relay_too)
    pong.connect(echo, weak=False)

    async def main():
        await asyncio.gather(*(ping.asend(sender=None, n=n) for n in range(20)))

    with sigscope.trace() as t:
        asyncio.run(main())
    events = {e.id: e for e in t.events}
    pongs = [e for e in events.values() if e.signal.endswith(".pong")]
    assert len(pongs) == 40
    for child in pongs:
        parent = events[child.parent[0]]
        n = float(dict(child.kwargs)["n"])
        assert float(dict(parent.kwargs)["n"]) == int(n)
        assert child.parent[1] == (0 if n == int(n) else 1)  # relay, or relay_too


@needs_async
def test_async_receivers_under_sync_send_are_timed_and_returned_unwrapped():
    ping.connect(coroutine)
    with sigscope.trace() as t:
        result = ping.send(sender=None)
    assert result[0][0] is coroutine and result[0][1] == "async"
    assert t.events[0].calls[0].is_async


def test_reprs_are_escaped_and_readable():
    def evil(sender, **kwargs):
        return "<script>alert(1)</script>"

    ping.connect(evil)
    with sigscope.trace() as t:
        ping.send(sender=None, html='<img src=x onerror="alert(2)">')
    bundle = t._repr_mimebundle_()
    assert "<script>alert" not in bundle["text/html"] and "<img src=x" not in bundle["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["text/html"]
    assert "ping(-)" in bundle["text/plain"] and "evil" in bundle["text/plain"]


def test_jsonl_round_trip(tmp_path):
    ping.connect(plain)
    ping.connect(boom)
    with sigscope.trace() as t:
        ping.send_robust(sender=None, n=5)
    path = tmp_path / "events.jsonl"
    assert t.to_jsonl(str(path)) == 1
    header = json.loads(path.read_text().splitlines()[0])
    assert header["schema"] == 1 and header["events"] == 1
    [event] = list(iter_jsonl(path.read_text().splitlines()))
    assert event["signal"].endswith(".ping") and event["kwargs"] == {"n": "5"}
    assert [c["receiver"] for c in event["calls"]] == [f"{__name__}.plain", f"{__name__}.boom"]
    assert event["calls"][1]["error"]["type"] == "ValueError"


def test_assertion_helpers_say_what_was_sent():
    ping.connect(plain)
    with sigscope.trace() as t:
        ping.send(sender=Owner)
    t.assert_sent(ping, sender=Owner, times=1)
    t.assert_not_sent(pong)
    assert t.receivers_called(ping) == [f"{__name__}.plain"]
    with pytest.raises(AssertionError, match=r"pong was never sent\. Sent: ping\("):
        t.assert_sent(pong)
    with pytest.raises(AssertionError, match="sent 1 times, expected 2"):
        t.assert_sent("ping", times=2)


def test_demo_scenario_shows_the_nested_shipping_send():
    with sigscope.trace(signals=[post_save, "order_shipped"]) as t:
        sigscope.demo.run_scenario()
    shipped = t.sends("order_shipped")
    assert len(shipped) == 1
    parent = next(e for e in t.events if e.id == shipped[0].parent[0])
    assert parent.signal == "django.db.models.signals.post_save"
    assert parent.calls[shipped[0].parent[1]].name == "sigscope.demo.shop.signals.notify_shipped"
    sig, rec = t.summary()
    assert sig[0].signal == "django.db.models.signals.post_save"
    # the slow one (it sleeps 2 ms a call) is timed at least that long; the summary is by time
    # (which receiver is slowest is up to the machine's load, not asserted)
    [index] = [r for r in rec if r.receiver.endswith("update_search_index")]
    assert index.total_ns >= index.calls * 2_000_000, index
    assert [r.total_ns for r in rec] == sorted((r.total_ns for r in rec), reverse=True)


def test_a_tracer_started_before_django_setup_catches_everything_after(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "from sigscope.tracing import Tracer\n"
        "tracer = Tracer().start()\n"
        "import django.apps\n"
        "assert not django.apps.apps.ready\n"
        "import sigscope.demo\n"
        "sigscope.demo.run_scenario()\n"
        "tracer.stop()\n"
        "names = sorted({e.signal.rpartition('.')[2] for e in tracer.events})\n"
        "print(' '.join(names))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    assert {"post_migrate", "post_save", "order_shipped", "m2m_changed"} <= set(names)


NOTEBOOK = """
import asyncio, os, warnings
import sigscope

async def cell():
    # a Jupyter kernel runs cells with an event loop running in the main thread
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sigscope.setup("sigscope.demo.settings")
    assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"
    assert any("event loop is running" in str(w.message) for w in caught)
    from sigscope import demo
    demo.migrate()  # ORM calls from the cell work
    from sigscope.demo.shop.models import Customer, Order
    from sigscope.demo.shop.signals import order_shipped
    order = Order.objects.create(customer=Customer.objects.first())
    with sigscope.trace() as t:
        await order_shipped.asend(sender=Order, order=order)
    [event] = t.events
    print(event.method, [c.name.rpartition(".")[2] for c in event.calls])

asyncio.run(cell())
"""


@needs_async
def test_notebook_style_setup_with_a_running_loop_and_a_traced_asend():
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    result = subprocess.run(
        [sys.executable, "-c", NOTEBOOK], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1)[0] == "asend"
    assert "push_to_dashboard" in result.stdout and "post_webhook" in result.stdout
