"""Item 2: Signal subclasses (pretix's patterns) are traced as they really run."""

from __future__ import annotations

import time

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.tracing import active_tracers

from . import pretix_signals as px

inner = Signal()


def _busy(ms: float) -> None:
    """Work for ``ms`` milliseconds (a receiver that takes measurable time)."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def _receiver(module: str, name: str, result: object, ms: float = 0, nested: bool = False):
    def receiver(sender, **kwargs):
        _busy(ms)
        if nested:
            inner.send(sender=None)
        if "value" in kwargs:  # send_chained: pass the chain on
            return f"{kwargs['value']}+{name}"
        if result == "raise":
            raise RuntimeError(name)
        return result

    receiver.__module__, receiver.__name__, receiver.__qualname__ = module, name, name
    return receiver


@pytest.fixture
def plugins():
    """Registration order z, a, m, core; sorted order: core first, then by module."""
    signal = px.EventPluginSignal()
    receivers = {
        "stripe": _receiver("pretix.plugins.stripe.signals", "stripe", "S", ms=5, nested=True),
        "bank": _receiver("pretix.plugins.banktransfer.signals", "bank", "B", ms=1),
        "other": _receiver("otherplugin.signals", "other", "O"),
        "core": _receiver("pretix.base.signals", "core", "C"),
    }
    for receiver in receivers.values():
        signal.connect(receiver, weak=False)
    inner.connect(_receiver("pretix.base.inner", "inner_receiver", None), weak=False)
    yield signal, receivers
    inner.receivers.clear()
    assert active_tracers() == ()


def test_a_plugin_signal_records_only_the_receivers_it_called_in_their_order(plugins):
    signal, receivers = plugins
    event_obj = px.Event(plugins=["stripe", "banktransfer"])
    untraced = signal.send(event_obj, amount=3)
    with sigscope.trace() as t:
        traced = signal.send(event_obj, amount=3)
    assert traced == untraced  # same receivers, same objects, same results
    assert [r for r, _ in traced] == [receivers["core"], receivers["bank"], receivers["stripe"]]
    outer = t.sends(signal)[0]
    assert [c.name.rpartition(".")[2] for c in outer.calls] == ["core", "bank", "stripe"]
    assert [c.result for c in outer.calls] == ["'C'", "'B'", "'S'"]
    core, bank, stripe = outer.calls
    assert stripe.duration_ns >= 5_000_000 and bank.duration_ns >= 1_000_000  # their own times
    assert core.offset_ns + core.duration_ns <= bank.offset_ns
    assert bank.offset_ns + bank.duration_ns <= stripe.offset_ns
    assert stripe.offset_ns + stripe.duration_ns <= outer.duration_ns
    [nested] = t.sends(inner)
    assert nested.parent == (outer.id, 2)  # made inside "stripe", the third receiver that ran
    assert outer.method == "send"


def test_send_chained_and_send_robust_of_a_plugin_signal(plugins):
    signal, receivers = plugins
    event_obj = px.Event(plugins=["banktransfer"])
    broken = _receiver("pretix.plugins.banktransfer.more", "broken", "raise")
    signal.connect(broken, weak=False)
    with sigscope.trace() as t:
        chained = signal.send_chained(event_obj, "value", value="start")
        robust = signal.send_robust(event_obj)
    assert chained == "start+core+broken+bank"  # sorted by module: ...banktransfer.more first
    chain_event, robust_event = t.sends(signal)
    assert chain_event.method == "send_chained"
    assert [c.result for c in chain_event.calls] == [
        "'start+core'",
        "'start+core+broken'",
        "'start+core+broken+bank'",
    ]
    assert [r for r, _ in robust] == [receivers["core"], broken, receivers["bank"]]
    assert type(robust[1][1]) is RuntimeError
    assert robust_event.calls[1].error.type == "RuntimeError"
    assert robust_event.calls[1].name.endswith("broken") and robust_event.calls[2].error is None


def test_the_global_signal_pattern_chains_through_every_receiver():
    signal = px.GlobalSignal()
    first, second = _receiver("a", "first", None), _receiver("b", "second", None)
    signal.connect(first, weak=False)
    signal.connect(second, weak=False)
    with sigscope.trace() as t:
        assert signal.send_chained(None, "value", value="x") == "x+first+second"
        assert signal.send(sender=None) == [(first, None), (second, None)]
        signal.send_chained(sender="shop", chain_kwarg_name="value", value="y")
    chained, plain, by_keyword = t.sends(signal)
    assert by_keyword.sender == "'shop'" and "sender" not in dict(by_keyword.kwargs)
    assert [c.result for c in chained.calls] == ["'x+first'", "'x+first+second'"]
    assert [c.name for c in plain.calls] == ["a.first", "b.second"]


def test_a_sorting_live_receivers_override_pairs_each_receiver_with_its_own_result():
    signal = px.SortedSignal()
    slow = _receiver("m", "b_slow", "slow", ms=5, nested=True)
    fast = _receiver("m", "a_fast", "fast")
    signal.connect(slow, weak=False)
    signal.connect(fast, weak=False)
    inner.connect(_receiver("m", "inner_receiver", None), weak=False)
    try:
        with sigscope.trace() as t:
            result = signal.send(sender=None)
    finally:
        inner.receivers.clear()
    assert result == [(fast, "fast"), (slow, "slow")]
    [event] = t.sends(signal)
    assert [(c.name, c.result) for c in event.calls] == [
        ("m.a_fast", "'fast'"),
        ("m.b_slow", "'slow'"),
    ]
    first, second = event.calls
    assert (
        second.duration_ns >= 5_000_000 and first.offset_ns + first.duration_ns <= second.offset_ns
    )
    assert t.sends(inner)[0].parent == (event.id, 1)


def test_a_subclass_defined_while_tracing_is_traced_and_restored():
    before = dict(vars(Signal))
    with sigscope.trace() as t:

        class Late(Signal):
            def send_twice(self, sender, **named):
                return [pair for _ in range(2) for pair in _pairs(self, sender, named)]

        late = Late()
        receiver = _receiver("late", "late_receiver", 1)
        late.connect(receiver, weak=False)
        assert late.send_twice(sender=None) == [(receiver, 1), (receiver, 1)]
    [event] = t.sends(late)
    assert event.method == "send_twice" and [c.result for c in event.calls] == ["1", "1"]
    assert dict(vars(Signal)) == before
    assert "_sigscope_original" not in dir(Late.send_twice)


def _pairs(signal, sender, named):
    live = px._sync(signal._live_receivers(sender))
    return [(receiver, receiver(signal=signal, sender=sender, **named)) for receiver in live]


def test_every_subclass_gets_its_exact_attributes_back():
    classes = [Signal, px.PluginSignal, px.EventPluginSignal, px.GlobalSignal, px.SortedSignal]
    before = [dict(vars(cls)) for cls in classes]
    with sigscope.trace():
        assert px.PluginSignal.send is not before[1]["send"]
        assert px.SortedSignal._live_receivers is not before[4]["_live_receivers"]
    assert [dict(vars(cls)) for cls in classes] == before


class _SendsWhenHashed:
    """A sender whose ``__hash__`` sends ``signal`` (Django's own loop hashes its sender)."""

    busy = False

    def __init__(self, signal: Signal, tag: str) -> None:
        self.signal, self.tag = signal, tag

    def __hash__(self) -> int:
        if self.tag == "outer" and not _SendsWhenHashed.busy:
            _SendsWhenHashed.busy = True
            try:
                self.signal.send(sender=_SendsWhenHashed(self.signal, "inner"))
            finally:
                _SendsWhenHashed.busy = False
        return id(self)


def test_a_send_made_while_djangos_loop_starts_is_a_send_of_its_own():
    """Only an outer *subclass* method's send is joined by Django's loop: a send of the
    same signal made by the sender's ``__hash__`` (a finalizer, a weakref callback)
    before the receivers are fetched used to be folded into the outer send."""
    signal = Signal()
    ran: list[str] = []

    def receiver(sender, **kwargs):
        ran.append(sender.tag)

    signal.connect(receiver, weak=False)
    signal.send(sender=_SendsWhenHashed(signal, "outer"))
    untraced, ran[:] = list(ran), []
    with sigscope.trace() as t:
        signal.send(sender=_SendsWhenHashed(signal, "outer"))
    assert ran == untraced == ["inner", "outer"]
    outer, nested = t.sends(signal)
    assert [len(outer.calls), len(nested.calls)] == [1, 1]
    assert outer.id < nested.id and nested.parent is None  # not made by a receiver
    assert outer.calls[0].offset_ns > nested.duration_ns  # the outer receiver ran after it
