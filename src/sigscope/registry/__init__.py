"""Find every live ``Signal`` and read its registrations into records.

Nothing here imports a module, evaluates a lazy object or connects anything:
signals are found in the globals (and class attributes) of modules that are
already in ``sys.modules``, and in the garbage collector's list of live
objects for the ones no module names (closures, instances' attributes).
"""

from __future__ import annotations

import gc
import re
import sys
import types
from collections.abc import Callable
from itertools import compress
from typing import Any

from django.dispatch import Signal

from sigscope import _compat
from sigscope._fastinit import positional_factory
from sigscope.describe import Memo, describe_callable, describe_dead
from sigscope.records import ReceiverInfo, SignalInfo
from sigscope.registry.live import LiveFacts
from sigscope.registry.senders import SenderIndex, describe_sender, sender_label
from sigscope.registry.walk import walk_namespaces
from sigscope.safe import safe_repr, type_name

__all__ = [
    "SenderIndex",
    "collect_signals",
    "describe_sender",
    "find_signals",
    "live_signals",
    "name_signal",
    "read_signal",
    "sender_label",
    "signal_types",
]


def signal_types() -> set[type]:
    """``Signal`` and every subclass defined so far."""
    found: set[type] = set()
    stack: list[type] = [Signal]
    while stack:
        cls = stack.pop()
        if cls not in found:
            found.add(cls)
            stack.extend(cls.__subclasses__())
    return found


def _defines(dotted: str) -> bool:
    """Does the module's source assign the name itself (``post_save = ModelSignal(...)``)?"""
    module_name, _, attr = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    while module is None and "." in module_name:  # a class attribute: Class.attr
        module_name = module_name.rpartition(".")[0]
        module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None) if module is not None else None
    if not isinstance(filename, str) or not filename.endswith(".py"):
        return False
    try:
        with open(filename, encoding="utf-8") as source:
            text = source.read(2_000_000)
    except (OSError, UnicodeDecodeError):
        return False
    pattern = rf"^[ \t]*{re.escape(attr)}[ \t]*(:[^=\n]*)?=[^=]"
    return re.search(pattern, text, re.MULTILINE) is not None


def _canonical(names: list[str]) -> str:
    names = sorted(set(names), key=lambda n: (n.count("."), len(n), n))
    for module in _compat.BUILTIN_SIGNAL_MODULES:
        for name in names:
            if name.rpartition(".")[0] == module:
                return name
    if len(names) > 1:
        for name in names:
            if _defines(name):
                return name
    return names[0]


def _unnamed(signal: Signal, number: int) -> str:
    return f"<unnamed {type_name(signal)} #{number}>"


def find_signals(*, heap: list[Any] | None = None) -> list[tuple[Signal, str, tuple[str, ...]]]:
    """Every live signal as ``(signal, canonical_name, other_names)``, sorted by name.

    ``heap`` is a ``gc.get_objects()`` list the caller already took; by default
    the signals are found through their classes (``gc.get_referrers``).
    """
    kinds = signal_types()
    return _named(walk_namespaces(kinds, set())[0], live_signals(kinds, heap))


def collect_signals(
    senders: SenderIndex, *, heap: Callable[[], list[Any]] | None = None
) -> list[tuple[Signal, str, tuple[str, ...], list[_compat.RawEntry]]]:
    """:func:`find_signals` with each signal's entries, and ``senders`` primed and resolved
    (one namespace walk names the signals and the senders).

    ``heap`` returns the live objects to search for senders nothing binds (only called
    then); by default the heap as it is then.
    """
    kinds = signal_types()
    live = live_signals(kinds, None)
    entries = {id(s): _compat.raw_entries(s) for s in live}
    for found in entries.values():
        senders.prime(found)
    bound, names = walk_namespaces(kinds, senders.wanted())
    named = _named(bound, live)
    senders.resolve(heap=heap, bindings=names)
    return [(s, n, a, entries.get(id(s)) or _compat.raw_entries(s)) for s, n, a in named]


def _named(
    bound: dict[int, tuple[Any, list[str]]], live: list[Any]
) -> list[tuple[Signal, str, tuple[str, ...]]]:
    result = []
    for signal, names in bound.values():
        name = _canonical(names)
        result.append((signal, name, tuple(sorted(n for n in set(names) if n != name))))
    unbound = [obj for obj in live if id(obj) not in bound]  # closures, instance attributes
    for number, obj in enumerate(unbound, 1):
        result.append((obj, _unnamed(obj, number), ()))
    result.sort(key=lambda item: item[1])
    return result


def live_signals(kinds: set[type], heap: list[Any] | None) -> list[Signal]:
    """Every live instance of ``kinds``, in heap (``gc.get_objects()``) order.

    Without ``heap``: the referrers of the signal classes, which the collector lists in
    that same order (an instance of a Python class refers to its class).
    """
    if heap is not None:  # the type test runs in C (compress/map): the heap is large
        return list(compress(heap, map(kinds.__contains__, map(type, heap))))
    return [obj for obj in gc.get_referrers(*kinds) if type(obj) in kinds]


def name_signal(signal: Signal) -> str:
    """The canonical name of one signal (a full module scan: cache the answer)."""
    kinds = signal_types()
    bound = walk_namespaces(kinds, set())[0]
    names = [n for n in bound.get(id(signal), (None, []))[1]]
    if names:
        return _canonical(names)
    unbound = [s for s in live_signals(kinds, None) if id(s) not in bound]
    number = next((i for i, s in enumerate(unbound, 1) if s is signal), len(unbound) + 1)
    return _unnamed(signal, number)


def read_signal(
    signal: Signal,
    name: str,
    aliases: tuple[str, ...],
    senders: SenderIndex,
    entries: list[_compat.RawEntry] | None = None,
    *,
    memo: Memo | None = None,
    facts: LiveFacts | None = None,
) -> tuple[SignalInfo, list[Any]]:
    """One signal's record, and each registration's live receiver (or ``None``) in order.

    Pass ``entries`` (already read, and their sender ids already looked up in
    ``senders``) to resolve every sender in one pass over live objects first;
    ``memo`` (one dict for a whole snapshot) describes each function once;
    ``facts`` marks reloaded (stale) receivers and notes DEBUG's candidates.
    """
    memo = {} if memo is None else memo
    records: list[ReceiverInfo] = []
    live: list[Any] = []
    for entry in _compat.raw_entries(signal) if entries is None else entries:
        weak = entry.weak
        receiver = entry.ref() if weak else entry.ref
        records.append(_registration(name, entry, weak, receiver, senders, memo, facts))
        live.append(receiver)
    info = SignalInfo(
        name=name,
        class_name=type_name(signal),
        obj_id=id(signal),
        use_caching=bool(getattr(signal, "use_caching", False)),
        is_builtin=name.startswith("django."),
        aliases=aliases,
        receivers=tuple(records),
    )
    return info, live


#: ``ReceiverInfo(signal, index, receiver, sender, dispatch_uid, weak, is_async, dead,
#: lookup_key, debug_kept_alive, stale, connected_at, declared_as)``, all positional.
_new_receiver = positional_factory(ReceiverInfo)


def _registration(
    name: str,
    entry: _compat.RawEntry,
    weak: bool,
    receiver: Any,
    senders: SenderIndex,
    memo: Memo,
    facts: LiveFacts | None,
) -> ReceiverInfo:
    dead = weak and receiver is None
    if dead:
        identity = describe_dead(_compat.dead_method_function(entry.ref))
    else:
        identity = describe_callable(receiver, memo=memo)
    sender = senders.final(entry)
    if sender.kind == "dead":
        dead = True
    stale = facts is not None and receiver is not None and facts.stale(receiver, weak=weak)
    return _new_receiver(
        name,
        entry.position,
        identity,
        sender,
        _dispatch_uid(entry, receiver),
        weak,
        bool(entry.is_async) if entry.is_async is not None else identity.is_async,
        dead,
        _key_repr(entry.receiver_key, entry.sender_id),
        False,
        stale,
        None,
        None,
    )


def _key_repr(receiver_key: Any, sender_id: int) -> str:
    kind = type(receiver_key)
    key = None
    if kind is int or kind is str or (kind is tuple and all(type(k) is int for k in receiver_key)):
        text = repr(receiver_key)  # for ints and tuples of ints, str() is the same text
        if len(receiver_key if kind is str else text) < 100:
            key = text
    return f"({key or safe_repr(receiver_key, 100)}, {sender_id})"


def _dispatch_uid(entry: _compat.RawEntry, receiver: Any) -> str | None:
    key = entry.receiver_key
    if type(key) is str:
        return key  # never equal to an id: a dispatch_uid
    if receiver is not None:
        if key == _own_id(receiver):
            return None
    elif isinstance(key, int) or (
        isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, int) for k in key)
    ):
        return None  # a dead receiver keyed by its id
    return key if isinstance(key, str) else safe_repr(key, 120)


def _own_id(receiver: Any) -> Any:
    """``_compat.make_id(receiver)``, read directly for plain functions and bound methods."""
    cls = type(receiver)
    if cls is types.MethodType:
        return (id(receiver.__self__), id(receiver.__func__))
    if cls is types.FunctionType and not receiver.__dict__:  # no ``__func__`` attribute
        return id(receiver)
    return _compat.make_id(receiver)
