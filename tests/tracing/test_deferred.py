"""What a send keeps is turned into text and durations only when it is read.

The C path keeps a send's clock readings as C integers (``Marks``) and a model
instance's description as its label and pk (``values.ModelPk``); what the
events show must be what the pure path shows.  Runs on both paths.
"""

from __future__ import annotations

import gc
import itertools
import weakref

import pytest
from django.dispatch import Signal

import sigscope.demo
from sigscope.tracing import Tracer, accel
from sigscope.tracing.values import ModelPk

from .helpers import forget_receivers

signal = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    forget_receivers(signal)


def _receivers(n: int) -> list[object]:
    def make(i: int) -> object:
        def receiver(sender: object, **kwargs: object) -> None:
            sum(range(50 * i))  # some work, more for later receivers

        return receiver

    kept = [make(i) for i in range(n)]
    for receiver in kept:
        signal.connect(receiver)
    return kept


def test_marks_read_like_a_list_of_ints():
    if accel.compiled is None:
        pytest.skip("the C accelerator is not built")
    marks = accel.compiled.Marks()
    for value in range(20):  # past the inline room: the items move to the heap
        marks.append(value * 1000 - 3)
    assert len(marks) == 20 and list(marks) == [v * 1000 - 3 for v in range(20)]
    assert marks[0] == -3 and marks[-1] == 18_997 and marks[-20] == -3
    with pytest.raises(IndexError):
        marks[20]
    with pytest.raises(IndexError):
        marks[-21]
    with pytest.raises(TypeError):
        marks.append(1.5)
    with pytest.raises(OverflowError):
        marks.append(2**70)
    assert len(marks) == 20 and not gc.is_tracked(marks)


@pytest.mark.parametrize("count", [1, 7, 8, 30])
def test_each_receiver_gets_its_own_time_in_order(count):
    kept = _receivers(count)
    with Tracer() as trace:
        for _ in range(3):
            signal.send(sender=None)
    assert len(kept) == count
    for event in trace.events:
        calls = event.calls
        assert [c.index for c in calls] == list(range(count))
        assert all(c.duration_ns >= 0 and c.offset_ns >= 0 for c in calls)
        for before, after in itertools.pairwise(calls):
            assert after.offset_ns >= before.offset_ns + before.duration_ns
        last = calls[-1]
        assert last.offset_ns + last.duration_ns <= event.duration_ns


@pytest.mark.parametrize("pk", [7, -12, 0, 2**62, 2**70, -(2**70)])
def test_a_model_instance_is_shown_by_label_and_pk_and_not_kept(pk):
    sigscope.demo.migrate()
    from sigscope.demo.blog.models import Tag

    signal.connect(lambda sender, **kwargs: None, weak=False)
    tags = [Tag(name="a", pk=pk) for _ in range(3)]  # the first send caches the model
    refs = [weakref.ref(tag) for tag in tags]
    tracer = Tracer()
    with tracer as trace:
        for tag in tags:
            signal.send(sender=Tag, instance=tag)
    del tags, tag
    gc.collect()
    assert [r() for r in refs] == [None, None, None]
    assert [dict(e.kwargs)["instance"] for e in trace.events] == [f"<blog.Tag pk={pk}>"] * 3
    kept = {type(entry.kw_values[0]) for entry in tracer._buffer if type(entry) is not tuple}
    if accel.enabled and accel.compiled is not None and abs(pk) < 2**63:
        assert kept == {ModelPk}  # the C path formatted nothing during the send
    else:
        assert ModelPk not in kept


def test_model_pk_reads_as_describe_does():
    assert str(ModelPk("<blog.Tag pk=", 5)) == "<blog.Tag pk=5>"
    assert str(ModelPk("<x pk=", -(2**70))) == f"<x pk={-(2**70)}>"
