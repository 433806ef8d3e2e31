"""A signal or sender that died and a new object at its address are never confused.

The C path remembers the last signals' names and senders' labels by address,
checked by weak reference; these tests put a new object at a dead one's
address on purpose (on both paths: ``conftest.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal
from django.test import override_settings

from sigscope.records import SendEvent
from sigscope.tracing import Tracer


def _quiet(sender, **kwargs):
    return None


def _send_twice(signal: Signal, sender: Any) -> None:
    signal.connect(_quiet, weak=False)
    signal.send(sender=sender, n=1)
    signal.send(sender=sender, n=2)  # the second send finds the cached names


def _reborn(
    make_first: Callable[[], Any],
    make_second: Callable[[], Any],
    send: Callable[[Any], None],
    collect: bool,
) -> tuple[SendEvent, ...]:
    """The events of sends from ``first``, then from a ``second`` made at its address."""
    for _ in range(50):  # the allocator hands a freed block out again, mostly at once
        if collect:
            gc.collect()  # earlier garbage first: then the collection below frees only ``first``
        tracer = Tracer().start()
        try:
            first = make_first()
            address = id(first)
            send(first)
            del first
            if collect:
                gc.collect()
            spares = [make_second() for _ in range(2_000)]
            second = next((s for s in spares if id(s) == address), None)
            del spares
            if second is not None:
                send(second)
        finally:
            tracer.stop()
        if second is not None:
            return tracer.events
    raise AssertionError("no new object at a freed address in 50 tries")


def test_a_new_signal_at_a_dead_ones_address_gets_its_own_name():
    # freed at once (no cycle): a collection would hand its block elsewhere first
    events = _reborn(Signal, Signal, lambda s: _send_twice(s, None), collect=False)
    names = [e.signal for e in events]
    assert len(names) == 4
    assert names[0] == names[1] != names[2] == names[3]  # the new signal: its own holder


def test_a_new_sender_class_at_a_dead_ones_address_gets_its_own_label():
    signal = Signal()
    events = _reborn(
        lambda: type("FirstSender", (), {}),  # labels are cached for classes only
        lambda: type("OtherSender", (), {}),
        lambda sender: _send_twice(signal, sender),
        collect=True,  # a class lives in reference cycles
    )
    labels = [e.sender or "" for e in events]
    assert len(labels) == 4 and all("FirstSender" in label for label in labels[:2])
    assert all("OtherSender" in label for label in labels[2:])


class FirstReceiver:
    # a callable instance without a __dict__: a freed one's address is reliably
    # handed to the next such object (a function's is often taken by others first;
    # padded to a larger size, 3.10's cached frames of the weakref callbacks took it)
    __slots__ = ("__weakref__",)

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        return None


class SecondReceiver:
    __slots__ = ("__weakref__",)

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        return None


def test_a_new_receiver_at_a_dead_ones_address_gets_its_own_name():
    signal = Signal()

    def send(receiver: Any) -> None:
        signal.connect(receiver)  # weak: the receiver dies with its last reference
        signal.send(sender=None)
        signal.send(sender=None)  # the second finds the sequence remembered by address
        signal.disconnect(receiver)

    # DEBUG makes connect() check the receiver's signature through an lru_cache,
    # which keeps the receiver alive (the tracers start inside: no event for this)
    with override_settings(DEBUG=False):
        events = _reborn(FirstReceiver, SecondReceiver, send, collect=False)
    names = [call.receiver.qualname.split(".")[-2] for event in events for call in event.calls]
    assert names == ["FirstReceiver"] * 2 + ["SecondReceiver"] * 2


def test_bound_method_receivers_are_told_apart_by_their_instance():
    class Handler:
        def __init__(self, label: str) -> None:
            self.label = label

        def on(self, sender: Any, **kwargs: Any) -> None:
            return None

    signal = Signal()
    first, second = Handler("a"), Handler("b")
    signal.connect(first.on, weak=False)
    with Tracer() as trace:
        signal.send(sender=None)
        signal.send(sender=None)
        signal.disconnect(first.on)
        signal.connect(second.on, weak=False)
        signal.send(sender=None)
    bound = [call.receiver.self_id for event in trace.events for call in event.calls]
    assert bound == [id(first), id(first), id(second)]
