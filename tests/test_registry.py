"""Reading the registry: signals found, receivers of every kind decoded, senders resolved."""

from __future__ import annotations

import functools
import gc
import linecache
import sys
import weakref

import pytest
from django.apps import apps
from django.db.models.signals import m2m_changed, post_save, pre_migrate
from django.dispatch import Signal
from django.test import override_settings
from django.utils.functional import SimpleLazyObject, empty

import sigscope
from sigscope import _compat

HAS_ASYNC = _compat.HAS_ASYNC_SIGNALS


class AuditSignal(Signal):
    """A subclass, to check subclasses are found."""


zoo_signal = Signal()
audit_signal = AuditSignal()


class Events:
    refund = Signal()


def plain(sender, **kwargs):
    return "plain"


def traced(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


@traced
def decorated(sender, **kwargs):
    return "decorated"


async def coroutine_receiver(sender, **kwargs):
    return "async"


class Handler:
    def __init__(self, name):
        self.name = name

    def method(self, sender, **kwargs):
        return self.name

    @classmethod
    def klass(cls, sender, **kwargs):
        return cls.__name__

    def __call__(self, sender, **kwargs):
        return "called"


def make_closure(tag):
    def closure(sender, **kwargs):
        return tag

    return closure


@pytest.fixture
def zoo():
    """Connect one receiver of every kind to ``zoo_signal``; disconnect afterwards."""
    keep = {
        "handler": Handler("a"),
        "closure": make_closure("x"),
        "lam": lambda sender, **kw: "lambda",
        "partial": functools.partial(plain),
        "callable": Handler("callable"),
    }
    zoo_signal.connect(plain)
    zoo_signal.connect(keep["lam"])
    zoo_signal.connect(keep["closure"])
    zoo_signal.connect(keep["handler"].method)
    zoo_signal.connect(Handler.klass)
    zoo_signal.connect(keep["partial"], weak=False)
    zoo_signal.connect(keep["callable"], weak=False)
    zoo_signal.connect(decorated)
    with override_settings(DEBUG=False):  # DEBUG's signature check rejects builtins
        zoo_signal.connect(dict, weak=False, dispatch_uid="builtin")
    if HAS_ASYNC:
        zoo_signal.connect(coroutine_receiver)
    yield keep
    zoo_signal.receivers.clear()
    zoo_signal.sender_receivers_cache.clear()


def _by_kind(snap):
    return {r.receiver.kind: r for r in snap.signal(zoo_signal).receivers if not r.is_async}


def test_every_receiver_kind_is_named_with_its_source(zoo):
    snap = sigscope.snapshot(scan_source=False)
    kinds = _by_kind(snap)
    here = __file__
    assert kinds["function"].receiver.name in (f"{__name__}.plain", f"{__name__}.decorated")
    assert kinds["lambda"].receiver.qualname == "zoo.<locals>.<lambda>"
    closures = [r for r in snap.signal(zoo_signal).receivers if "closure" in r.receiver.qualname]
    assert closures[0].receiver.is_closure and closures[0].receiver.file == here
    assert kinds["method"].receiver.qualname == "Handler.method"
    assert kinds["method"].receiver.bound_to.startswith(f"<{__name__}.Handler object")
    assert kinds["method"].receiver.self_id == id(zoo["handler"])
    assert kinds["classmethod"].receiver.qualname == "Handler.klass"
    assert kinds["partial"].receiver.qualname == "plain" and kinds["partial"].weak is False
    assert kinds["callable"].receiver.qualname == "Handler.__call__"
    assert kinds["callable"].receiver.self_id == id(zoo["callable"])
    assert (
        kinds["builtin"].receiver.name == "builtins.dict" and kinds["builtin"].receiver.file is None
    )
    line = plain.__code__.co_firstlineno
    assert kinds["partial"].receiver.line == line


def test_wraps_decorated_receiver_reports_the_real_function_and_its_wrapper(zoo):
    snap = sigscope.snapshot(scan_source=False)
    reg = next(r for r in snap.signal(zoo_signal).receivers if r.receiver.wrapped_by)
    assert reg.receiver.qualname == "decorated"
    assert reg.receiver.wrapped_by == (f"{__name__}.decorated",)
    # the location is the decorated def (its first line is the decorator), not the wrapper
    assert reg.receiver.line == decorated.__wrapped__.__code__.co_firstlineno


@pytest.mark.skipif(not HAS_ASYNC, reason="Django 4.2 has no async receivers")
def test_async_receiver_flagged_async(zoo):
    snap = sigscope.snapshot(scan_source=False)
    reg = next(
        r for r in snap.signal(zoo_signal).receivers if r.receiver.qualname.startswith("coro")
    )
    assert reg.is_async and reg.receiver.is_async


def test_call_order_is_sync_in_registration_order_then_async(zoo):
    snap = sigscope.snapshot(scan_source=False)
    order = [r.receiver.kind for r in snap.receivers_for(zoo_signal)]
    expected_sync = [
        "function",
        "lambda",
        "function",
        "method",
        "classmethod",
        "partial",
        "callable",
        "function",
        "builtin",
    ]
    assert order[: len(expected_sync)] == expected_sync
    if HAS_ASYNC:
        assert snap.receivers_for(zoo_signal)[-1].is_async


def test_receivers_for_matches_what_django_would_call(zoo):
    snap = sigscope.snapshot(scan_source=False)
    ours = [r.receiver.func_id for r in snap.receivers_for(zoo_signal)]
    if HAS_ASYNC:
        sync, asynchronous = zoo_signal._live_receivers(None)
        theirs = list(sync) + list(asynchronous)
    else:
        theirs = list(zoo_signal._live_receivers(None))
    assert len(ours) == len(theirs)
    for func_id, receiver in zip(ours, theirs):
        expected = receiver.__func__ if hasattr(receiver, "__func__") else receiver
        assert func_id == id(expected)


def test_notebook_cell_function_has_in_memory_source():
    source = "def cell_receiver(sender, **kwargs):\n    return 1\n"
    filename = "/tmp/ipykernel_4242/1234567.py"  # what ipykernel compiles cells as
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    zoo_signal.connect(namespace["cell_receiver"])
    try:
        reg = sigscope.snapshot(scan_source=False).signal(zoo_signal).receivers[0]
        assert reg.receiver.in_memory_source and reg.receiver.file == filename
        assert reg.receiver.name == "__main__.cell_receiver" and reg.receiver.line == 1
    finally:
        zoo_signal.disconnect(namespace["cell_receiver"])
        del linecache.cache[filename]


def test_signals_found_by_canonical_name_including_subclasses_and_class_attributes():
    snap = sigscope.snapshot(scan_source=False)
    names = {s.name for s in snap.signals}
    assert "django.db.models.signals.post_save" in names
    assert "django.db.models.base.post_save" not in names  # an alias, not the definition
    assert snap.signal(post_save).name == "django.db.models.signals.post_save"
    assert "django.db.models.base.post_save" in snap.signal(post_save).aliases
    assert snap.signal(audit_signal).class_name == f"{__name__}.AuditSignal"
    assert snap.signal(Events.refund).name == f"{__name__}.Events.refund"
    for module in _compat.BUILTIN_SIGNAL_MODULES:
        if module in sys.modules:
            assert any(s.name.startswith(module + ".") for s in snap.signals), module


def test_unnamed_signal_is_still_found():
    hidden = [Signal()]  # reachable only through this list: no module binds it
    hidden[0].connect(plain)
    snap = sigscope.snapshot(scan_source=False)
    info = snap.signal(hidden[0])
    assert info.name.startswith("<unnamed django.dispatch.dispatcher.Signal #")
    assert "0x" not in info.name  # no memory address: stable across runs
    assert [r.receiver.name for r in info.receivers] == [f"{__name__}.plain"]


def test_senders_resolve_to_model_labels_through_models_and_app_configs():
    post = apps.get_model("blog", "Post")
    through = post.tags.through
    config = apps.get_app_config("shop")
    other = Handler("a sender")  # Django < 6 keeps only id(sender): found among live objects
    m2m_changed.connect(plain, sender=through)
    pre_migrate.connect(plain, sender=config)
    zoo_signal.connect(plain, sender=other)
    try:
        snap = sigscope.snapshot(scan_source=False)
        m2m = [r for r in snap.signal(m2m_changed).receivers if r.receiver.qualname == "plain"]
        assert m2m[0].sender.kind == "model" and m2m[0].sender.label == "blog.Post_tags"
        mig = [r for r in snap.signal(pre_migrate).receivers if r.receiver.qualname == "plain"]
        assert mig[0].sender.label == "app:shop"
        obj = snap.signal(zoo_signal).receivers[0]
        # a local object: no module binds it, so it is named by its type, never its repr
        assert obj.sender.kind == "object" and obj.sender.label == f"<{__name__}.Handler instance>"
    finally:
        m2m_changed.disconnect(plain, sender=through)
        pre_migrate.disconnect(plain, sender=config)
        zoo_signal.disconnect(plain, sender=other)


def test_dispatch_uid_and_weak_flags():
    handler = Handler("uid")
    zoo_signal.connect(handler.method, dispatch_uid="handler-uid")
    zoo_signal.connect(plain, weak=False, dispatch_uid=("tuple", 1))
    try:
        regs = sigscope.snapshot(scan_source=False).signal(zoo_signal).receivers
        assert (regs[0].dispatch_uid, regs[0].weak) == ("handler-uid", True)
        assert (regs[1].dispatch_uid, regs[1].weak) == ("('tuple', 1)", False)
    finally:
        zoo_signal.receivers.clear()


def test_dead_receiver_is_flagged_but_not_pruned():
    zoo_signal.receivers.clear()
    gone = Handler("temporary")
    zoo_signal.connect(gone.method)
    del gone
    gc.collect()
    before, modules = list(zoo_signal.receivers), set(sys.modules)
    assert len(before) == 1  # Django has not pruned it yet
    regs = sigscope.snapshot(scan_source=False).signal(zoo_signal).receivers
    assert regs[0].dead and regs[0].receiver.kind == "dead"
    assert regs[0].receiver.qualname == "Handler.method"  # WeakMethod still names its function
    assert zoo_signal.receivers == before  # sigscope did not prune it either
    assert set(sys.modules) == modules
    zoo_signal.receivers.clear()


def test_pending_lazy_sender_listed_with_model_key():
    snap = sigscope.snapshot(scan_source=False)
    models = {p.model for p in snap.pending}
    assert "shop.ordr" in models  # the demo's deliberate typo
    typo = next(p for p in snap.pending if p.model == "shop.ordr")
    assert typo.unresolvable and "shop.Order" in typo.suggestions
    assert typo.signal == "django.db.models.signals.post_save"


def test_snapshot_changes_nothing(unchanged_wiring):
    flags = {id(s): _compat.is_dead_flagged(s) for s, _, _ in _signals()}
    pending = {k: list(v) for k, v in apps._pending_operations.items()}
    snap = sigscope.snapshot()
    assert snap.receivers  # it did read something
    assert {id(s): _compat.is_dead_flagged(s) for s, _, _ in _signals()} == flags
    assert {k: list(v) for k, v in apps._pending_operations.items()} == pending


def _signals():
    from sigscope.registry import find_signals

    return find_signals()


def test_snapshot_keeps_nothing_alive():
    handler = Handler("short-lived")
    ref = weakref.ref(handler)
    zoo_signal.connect(handler.method, sender=handler)
    snap = sigscope.snapshot(scan_source=False)
    del handler
    gc.collect()
    assert ref() is None
    assert snap.signal(zoo_signal).receivers  # the records outlive the objects
    zoo_signal.receivers.clear()


class Hostile:
    def __repr__(self):
        raise AssertionError("sigscope called a user's __repr__")

    def __call__(self, sender, **kwargs):
        return None


class Huge:
    def __repr__(self):
        return "x" * 5_000_000


def test_hostile_reprs_never_break_inspection():
    hostile, huge = Hostile(), Huge()
    evaluations = []
    lazy = SimpleLazyObject(lambda: evaluations.append("evaluated") or Handler("lazy"))
    zoo_signal.connect(hostile, sender=huge, weak=False)
    zoo_signal.connect(plain, sender=hostile)
    zoo_signal.connect(plain, sender=lazy)  # Django's connect evaluates it (hasattr)...
    lazy._wrapped = empty  # ...so make it lazy again, as a fresh one would be
    try:
        regs = sigscope.snapshot(scan_source=False).signal(zoo_signal).receivers
        assert evaluations == ["evaluated"]  # only Django's evaluation, none by sigscope
        # the instance a receiver is bound to is named by its type: its __repr__ never runs
        assert regs[0].receiver.bound_to == f"<{__name__}.Hostile instance>"
        assert len(regs[0].sender.label) <= 120
        # a sender object is named by its type: its __repr__ is never called
        assert regs[1].sender.label == f"<{__name__}.Hostile instance>"
        assert regs[2].sender.kind == "object"
    finally:
        zoo_signal.receivers.clear()
