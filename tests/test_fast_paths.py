"""The snapshot's fast paths give exactly what the general code gives.

Each shortcut (records filled through their slots, a function's facts from its code
flags, a callable instance's async check per class, the graph written in bulk,
signals found through their classes, the heap read as of the snapshot's start) is
checked against the slow, obvious way on the objects where the two could differ.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import linecache
import sys

import networkx as nx
import pytest
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.dispatch import Signal

import sigscope
from sigscope import describe
from sigscope._fastinit import positional_factory
from sigscope.asyncness import instance_is_async, is_async
from sigscope.graph.bulk import add_edges, add_nodes
from sigscope.records import CallableInfo, Finding, ReceiverInfo, SenderInfo
from sigscope.registry import live_signals, signal_types
from sigscope.snapshot import _heap_as_of, paused_gc


class Plain:
    def __call__(self, sender, **kwargs): ...


class Async:
    async def __call__(self, sender, **kwargs): ...


class Slotted:
    __slots__ = ("x",)

    def __call__(self, sender, **kwargs): ...


class Looks:
    """Answers every attribute: ``inspect`` sees a function-like object."""

    def __getattr__(self, name):
        return getattr(_async_target, name)

    def __call__(self, sender, **kwargs): ...


class CodeProperty:
    """A class-level ``__code__``: the probes hit it, so the full check must run."""

    __name__ = "code_property"

    @property
    def __code__(self):
        return _async_target.__code__

    def __call__(self, sender, **kwargs): ...


async def _async_target(sender, **kwargs): ...


def _instances() -> list[object]:
    marked = markcoroutinefunction(Plain())  # an instance attribute marks it async
    own_name = Plain()
    own_name.__name__ = "own"  # an instance attribute that one probe reads
    legacy = Plain()
    legacy._is_coroutine = getattr(asyncio.coroutines, "_is_coroutine", None)
    return [Plain(), Async(), Slotted(), CodeProperty(), marked, own_name, legacy]


def test_callable_instances_async_check_matches_the_full_check():
    memo: dict = {}
    for obj in _instances():
        expected = bool(iscoroutinefunction(obj)) or inspect.iscoroutinefunction(obj)
        assert instance_is_async(obj, memo) is is_async(obj) is expected, obj
        truth = expected or bool(iscoroutinefunction(type(obj).__call__))
        assert describe.describe_callable(obj, memo=memo).is_async is truth, obj
    assert is_async(_instances()[4]) is True  # the marked instance: a case that can fail
    assert is_async(Plain()) is False


class Asked:
    """A callable instance whose ``__getattr__`` is application code (it notes each call)."""

    def __init__(self) -> None:
        self.__dict__["asked"] = []

    def __getattr__(self, name):
        self.__dict__["asked"].append(name)
        return getattr(_async_target, name)  # what inspect would then call async

    def __call__(self, sender, **kwargs): ...


def test_an_object_with_a_lookup_hook_is_described_without_running_it():
    """``__getattr__`` is never called: the description reads ``__dict__`` and the class
    dicts (``Looks`` answers every probe "async"; Django, which asked at ``connect()``,
    keeps its own answer, which the registry reports)."""
    looks, asked = Looks(), Asked()

    def wrapper(sender, **kwargs): ...

    wrapper.__wrapped__ = asked
    for obj in (looks, asked, functools.partial(asked), wrapper):
        info = describe.describe_callable(obj, memo={})
        assert info.is_async is False and info.qualname, obj
    assert describe.describe_callable(asked).qualname == "Asked.__call__"
    assert asked.asked == []
    assert is_async(markcoroutinefunction(Asked())) is True  # its own mark, read statically


def _functions() -> list[object]:
    def closure(sender, **kwargs):
        return memo

    memo: dict = {}
    source = "def cell(sender, **kwargs):\n    return 1\n"
    linecache.cache["<cell 1>"] = (len(source), None, source.splitlines(True), "<cell 1>")
    namespace: dict = {}
    exec(compile(source, "<cell 1>", "exec"), namespace)
    return [Plain.__call__, closure, lambda sender, **kw: None, _async_target, namespace["cell"]]


def test_plain_function_facts_match_the_general_path():
    for func in _functions():
        fast = describe.describe_callable(func)
        func.__dict__["extra"] = 1  # a non-empty __dict__ takes the general path
        try:
            slow = describe.describe_callable(func)
        finally:
            del func.__dict__["extra"]
        assert fast == slow, func
    assert describe.describe_callable(_functions()[-1]).in_memory_source is True
    assert describe.describe_callable(_async_target).is_async is True


def test_positional_factory_builds_the_same_record():
    make = positional_factory(CallableInfo)
    values = ("method", "m", "C.f", "f.py", 3, True, False, ("w",), "<C>", 1, 2, 3, False)
    built = make(*values)
    assert built == CallableInfo(*values) and type(built) is CallableInfo
    assert hash(built) == hash(CallableInfo(*values))
    sender = SenderInfo("any", None, 0)
    receiver = positional_factory(ReceiverInfo)(
        "s", 0, built, sender, None, True, False, False, "", False, False, None, None
    )
    assert receiver == ReceiverInfo("s", 0, built, sender, None, True, False, False)
    with pytest.raises(TypeError):
        positional_factory(Finding)  # it validates in __post_init__: no shortcut


def _graph_input() -> tuple[list, list]:
    nodes = [("a", {"type": "x"}), ("b", {"type": "y"}), ("a", {"more": 1}), ("c", {})]
    edges = [
        ("a", "b", "k1", {"w": 1}),
        ("b", "a", "k1", {"w": 2}),
        ("a", "b", "k2", {"w": 3}),
        ("a", "b", "k1", {"v": 4}),  # the same key again: merged into the first
        ("c", "c", "loop", {}),
        ("a", "new", "k", {"w": 5}),  # an end that is no node yet: the public call
    ]
    return nodes, edges


def _layout(graph: nx.MultiDiGraph) -> list:
    return [
        list(graph.nodes(data=True)),
        list(graph.edges(keys=True, data=True)),
        [(n, list(graph.pred[n]), list(graph.succ[n])) for n in graph],
    ]


def test_bulk_graph_is_the_graph_the_public_calls_build():
    nodes, edges = _graph_input()
    public = nx.MultiDiGraph(name="g")
    public.add_nodes_from((n, dict(d)) for n, d in nodes)
    for u, v, key, data in edges:
        public.add_edge(u, v, key=key, **data)
    bulk = nx.MultiDiGraph(name="g")
    nodes, edges = _graph_input()
    add_nodes(bulk, nodes)
    add_edges(bulk, edges)
    assert _layout(bulk) == _layout(public)
    assert nx.utils.graphs_equal(bulk, public)
    for graph in (public, bulk):  # one key dict for both sides of an edge
        assert graph._succ["a"]["b"] is graph._pred["b"]["a"]
    bulk.add_edge("b", "c")  # still a working graph
    assert bulk.has_edge("b", "c")


def test_signals_found_through_their_classes_in_heap_order():
    class Quiet(Signal):
        __slots__ = ()  # no instance __dict__ of its own: still found through its type

    keep = [Signal(), Quiet()]
    kinds = signal_types()
    with paused_gc():
        through_classes = live_signals(kinds, None)
        from_heap = live_signals(kinds, gc.get_objects())
    assert [id(s) for s in through_classes] == [id(s) for s in from_heap]
    assert all(any(s is k for s in through_classes) for k in keep)


def test_heap_as_of_the_start_leaves_out_what_came_after():
    gc.get_objects(generation=0)  # its argument parser makes a tuple on first use
    with paused_gc():
        before = gc.get_objects()
        young = gc.get_objects(generation=0)
        after = [object()]  # made once the young generation was read
        heap = _heap_as_of(young)
        ids = [id(o) for o in heap if o is not before]
        assert ids == [id(o) for o in before]
        assert not any(o is after for o in heap)


class _Unbound:
    pass


def test_a_sender_nothing_binds_is_still_found_on_the_heap():
    sig = Signal()
    holder = {"sender": _Unbound()}  # bound by no module global or class attribute

    def on(sender, **kwargs): ...

    sig.connect(on, sender=holder["sender"], weak=False)
    sys.modules[__name__].__dict__["_sig_under_test"] = sig
    try:
        snap = sigscope.snapshot(scan_source=False)
        info = snap.signal(f"{__name__}._sig_under_test")
        sender = info.receivers[0].sender
        assert (sender.kind, sender.label) == ("object", f"<{__name__}._Unbound instance>")
    finally:
        del sys.modules[__name__].__dict__["_sig_under_test"]
        sig.disconnect(on, sender=holder["sender"])
