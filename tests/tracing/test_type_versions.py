"""Starting and stopping tracers does not use up CPython 3.13+'s per-class version tags.

A class gets at most 1,000 version tags in a process; each start of the first
tracer and stop of the last modifies ``Signal``, ``QuerySet``,
``BaseDatabaseWrapper`` and ``Thread``.  Without giving the tags back, 600
cycles leave those classes (and every subclass) out of tags: no method cache,
no specialized bytecode, Django slower with no tracer running.
"""

from __future__ import annotations

import gc
import sys
import threading

import pytest
from django.db import connections
from django.db.models.query import QuerySet
from django.db.models.signals import post_save
from django.dispatch import Signal

from sigscope.tracing import Tracer, accel, versions

#: CPython caps a class's version tags (3.13+, builds with the GIL).
HAS_CAP = sys.version_info >= (3, 13) and getattr(sys, "_is_gil_enabled", lambda: True)()


def _helper():
    if accel.built is None:
        pytest.fail("the compiled helper is not built (CI builds it)")
    return accel.built


class Local(QuerySet):
    """A project's own QuerySet subclass: touched through its base."""


def _touched() -> list[type]:
    return [
        Signal,
        type(post_save),
        QuerySet,
        Local,
        type(connections["default"]),
        threading.Thread,
    ]


def _cycle(tracer: Tracer, signal: Signal) -> None:
    tracer.start()
    signal.send(sender=None)  # looks the classes up: a modified class takes a new tag here
    QuerySet.filter, Local.all, type(connections["default"]).on_commit, threading.Thread.start
    tracer.stop()
    signal.send(sender=None)
    QuerySet.filter, Local.all, type(connections["default"]).on_commit, threading.Thread.start


def test_many_starts_and_stops_keep_every_class_within_its_budget() -> None:
    helper = _helper()
    signal = Signal()
    tracer = Tracer(max_events=10)
    _cycle(tracer, signal)  # the baselines are noted at the first start
    before = {cls: helper.versions_used(cls) for cls in _touched()}
    for _ in range(600):  # 1,200 modifications: past the cap of 1,000 without give_back
        _cycle(tracer, signal)
    after = {cls: helper.versions_used(cls) for cls in _touched()}
    if not HAS_CAP:
        assert set(before.values()) == {None} == set(after.values())
        return
    for cls in _touched():
        assert after[cls] <= before[cls] + 2, (cls, before[cls], after[cls])
        assert after[cls] < 1000


def test_give_back_only_lowers_and_refuses_builtin_types() -> None:
    helper = _helper()

    class Fresh:
        value = 0

    for i in range(5):
        Fresh.value = i  # a modification ...
        Fresh.value  # noqa: B018 - ... and a lookup: one tag each
    used = helper.versions_used(Fresh)
    if not HAS_CAP:
        assert used is None
        assert helper.give_back_versions(Fresh, 0) is False
    else:
        assert used >= 5
        assert helper.give_back_versions(Fresh, used + 10) is False  # never raised
        assert helper.versions_used(Fresh) == used
        assert helper.give_back_versions(Fresh, 1) is True
        assert helper.versions_used(Fresh) == 1
    with pytest.raises(TypeError):
        helper.versions_used(int)  # a static type: its tags are CPython's business
    with pytest.raises(TypeError):
        helper.give_back_versions(Fresh, "1")


def test_a_class_at_a_reused_address_gets_its_own_baseline() -> None:
    _helper()

    def make() -> type:
        class Gone(Signal):
            pass

        return Gone

    first = make()
    versions.budget()
    if not HAS_CAP:
        assert versions.budget() == []
        return
    assert versions._baselines[id(first)][0]() is first
    del first
    gc.collect()  # Gone is freed: a new class may be made at its address
    second = make()
    versions.budget()
    assert versions._baselines[id(second)][0]() is second  # never the dead class's entry
