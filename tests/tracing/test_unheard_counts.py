"""Unheard counts are exact whenever they are read, however they were counted.

The C path counts a lone tracer's repeated unheard sends in a table and adds
them to the tracer's dict when something reads or removes its keys; these
tests read at every such point (on both paths: ``conftest.py``).
"""

from __future__ import annotations

import gc
import io
import json
import sys

import pytest
from django.dispatch import Signal

import sigscope
from sigscope.tracing import Tracer, active_tracers

quiet = Signal()  # no receiver: every send is unheard
other = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()


class First:
    # no __dict__: on 3.13 an instance with one (its "managed dict" allocated ahead
    # of it) rarely gets a freed one's address back; these mostly do
    __slots__ = ("__weakref__",)


class Second:
    __slots__ = ("__weakref__",)


def _counts(tracer: Tracer) -> dict[tuple[str, str | None], int]:
    return {
        (u.signal.rpartition(".")[2], u.sender): u.count
        for u in tracer.unheard
        if u.signal.endswith((".quiet", ".other"))
    }


def _short(counts: dict[tuple[str, str | None], int]) -> dict[tuple[str, str], int]:
    return {(s, (who or "-").rpartition(".")[2]): n for (s, who), n in counts.items()}


def test_a_dead_senders_repeated_sends_are_retired_and_its_address_starts_afresh():
    tracer = Tracer().start()
    try:
        first = First()
        address = id(first)
        for _ in range(5):
            quiet.send(sender=first)
        del first
        gc.collect()
        retired = _short(_counts(tracer))  # (reading writes the C table back)
        stale = (id(quiet), address) in tracer._unheard
        # a new sender, at the dead one's address whenever the allocator hands it out
        # again (mostly at once; not always, hence the key check above as well)
        spares = [Second() for _ in range(10_000)]
        second = next((s for s in spares if id(s) == address), spares[0])
        del spares
        for _ in range(3):
            quiet.send(sender=second)
        counts = _short(_counts(tracer))
    finally:
        tracer.stop()
    assert retired == {("quiet", "First>"): 5}
    assert not stale  # nothing is left keyed by the dead sender's address
    assert counts == {("quiet", "First>"): 5, ("quiet", "Second>"): 3}


def test_counts_read_while_running_are_exact_and_keep_growing():
    tracer = Tracer().start()
    try:
        for _ in range(7):
            quiet.send(sender=None)
        middle = _counts(tracer)
        for _ in range(4):
            quiet.send(sender=None)
            other.send(sender="x")
        end = _counts(tracer)
    finally:
        tracer.stop()
    assert middle == {("quiet", None): 7}
    assert end == {("quiet", None): 11, ("other", "'x'"): 4}
    assert _counts(tracer) == end  # after stop, nothing pending was lost


def test_clear_forgets_counts_pending_or_not_and_counting_resumes():
    tracer = Tracer().start()
    try:
        for _ in range(6):
            quiet.send(sender=First)
        tracer.clear()  # not read in between: clear() itself must drop what is pending
        for _ in range(2):
            quiet.send(sender=First)
        counts = _short(_counts(tracer))
        for _ in range(3):
            quiet.send(sender=First)
        tracer.clear()
        cleared = _counts(tracer)
    finally:
        tracer.stop()
    assert counts == {("quiet", "First>"): 2}
    assert cleared == {}


def test_a_send_between_clears_flush_and_its_removal_leaves_later_counts_exact():
    # another thread may send right when clear() has flushed the C table and not
    # yet removed the keys: the send remembered a key about to go, and every later
    # count of it was added to that slot and dropped.  A profile hook sends there.
    from sigscope.tracing import accel

    flush = accel.compiled.flush_unheard if accel.compiled is not None else None
    fired: list[str] = []

    def meanwhile(frame, event, arg):
        if event == "c_return" and arg is flush and not fired:
            fired.append(event)
            quiet.send(sender=sender)

    sender = First()
    tracer = Tracer().start()
    try:
        for _ in range(3):
            quiet.send(sender=sender)
        sys.setprofile(meanwhile)
        try:
            tracer.clear()
        finally:
            sys.setprofile(None)
        for _ in range(5):
            quiet.send(sender=sender)
        counts = _short(_counts(tracer))
    finally:
        tracer.stop()
    assert fired == ([] if flush is None else ["c_return"])
    assert counts == {("quiet", "First>"): 5}


def test_counts_move_exactly_when_a_second_tracer_starts_and_stops():
    first = Tracer().start()
    try:
        for _ in range(4):
            quiet.send(sender=None)
        with sigscope.trace() as second:  # first is no longer the lone tracer
            for _ in range(3):
                quiet.send(sender=None)
        for _ in range(5):
            quiet.send(sender=None)  # alone again
    finally:
        first.stop()
    assert _counts(first) == {("quiet", None): 12}
    assert [u.count for u in second.unheard if u.signal.endswith(".quiet")] == [3]


def test_a_tracer_started_after_another_stopped_counts_only_its_own():
    with sigscope.trace() as before:
        for _ in range(3):
            quiet.send(sender=None)
    with sigscope.trace() as after:
        for _ in range(2):
            quiet.send(sender=None)
    assert [u.count for u in before.unheard if u.signal.endswith(".quiet")] == [3]
    assert [u.count for u in after.unheard if u.signal.endswith(".quiet")] == [2]


def test_json_lines_written_mid_trace_carry_the_pending_counts():
    with sigscope.trace() as t:
        for _ in range(9):
            quiet.send(sender=None)
        buffer = io.StringIO()
        t.to_jsonl(buffer)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    counts = [r["count"] for r in lines if r["type"] == "unheard" and r["signal"].endswith("quiet")]
    assert counts == [9]


def test_many_pairs_beyond_the_table_are_all_counted():
    senders = [type(f"S{i}", (), {}) for i in range(600)]  # more pairs than C slots
    tracer = Tracer().start()
    try:
        for _ in range(3):
            for sender in senders:
                quiet.send(sender=sender)
        counts = _counts(tracer)
    finally:
        tracer.stop()
    assert len(counts) == 600 and set(counts.values()) == {3}


# --------------------------------------------------------------- no code of the application


class _Reads(Signal):
    """A signal whose attribute reads are application code (and note what they read)."""

    def __getattribute__(self, name: str) -> object:
        if name in ("receivers", "sender_receivers_cache"):
            object.__getattribute__(self, "__dict__").setdefault("read", []).append(name)
        return object.__getattribute__(self, name)


class _Hashed:
    """A sender whose ``__hash__`` is application code (and counts its calls)."""

    calls = 0

    def __hash__(self) -> int:
        _Hashed.calls += 1
        return 7


def _reads_of(signal: _Reads, sender: object) -> list[str]:
    signal.__dict__["read"] = []
    signal.send(sender=sender)
    return list(signal.__dict__.pop("read"))


@pytest.mark.parametrize("caching", [False, True])
@pytest.mark.parametrize("heard", [False, True])
def test_a_signal_whose_attribute_reads_are_code_is_read_as_often_as_without_tracing(
    caching: bool, heard: bool
) -> None:
    signal = _Reads(use_caching=caching)
    if heard:
        signal.connect(lambda sender, **kwargs: None, weak=False)
    sender = First()
    _reads_of(signal, sender)  # Django fills its cache
    untraced = _reads_of(signal, sender)
    with Tracer() as tracer:
        traced = _reads_of(signal, sender)
    assert traced == untraced and "receivers" in untraced
    assert len(tracer.events) == int(heard)
    unheard = [u.count for u in tracer.unheard if u.sender and "First" in u.sender]
    assert unheard == ([] if heard else [1])


@pytest.mark.parametrize("heard", [False, True])
def test_a_sender_whose_hash_is_code_is_hashed_as_often_as_without_tracing(heard: bool) -> None:
    signal = Signal(use_caching=True)  # Django keeps the receivers per sender, by hash
    signal.connect(lambda sender, **kwargs: None, sender=None if heard else First, weak=False)
    sender = _Hashed()
    signal.send(sender=sender)  # Django fills its cache for it
    _Hashed.calls = 0
    signal.send(sender=sender)
    untraced, _Hashed.calls = _Hashed.calls, 0
    with Tracer() as tracer:
        signal.send(sender=sender)
    assert _Hashed.calls == untraced >= 1
    assert len(tracer.events) == int(heard)
    unheard = [u.count for u in tracer.unheard if u.sender and "_Hashed" in u.sender]
    assert unheard == ([] if heard else [1])
