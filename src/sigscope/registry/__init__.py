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
from itertools import compress
from typing import Any

from django.dispatch import Signal

from sigscope import _compat
from sigscope._fastinit import positional_factory
from sigscope.describe import Memo, describe_callable, describe_dead
from sigscope.records import ReceiverInfo, SignalInfo
from sigscope.registry.live import LiveFacts
from sigscope.registry.senders import SenderIndex, describe_sender, module_dicts, sender_label
from sigscope.safe import safe_repr, type_name

__all__ = [
    "SenderIndex",
    "describe_sender",
    "find_signals",
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


def _bindings(kinds: set[type]) -> dict[int, tuple[Signal, list[str]]]:
    found: dict[int, tuple[Signal, list[str]]] = {}

    def add(obj: Any, dotted: str) -> None:
        entry = found.setdefault(id(obj), (obj, []))
        entry[1].append(dotted)

    for module_name, namespace in module_dicts():
        for attr, value in list(namespace.items()):
            cls = type(value)
            if cls in kinds:
                add(value, f"{module_name}.{attr}")
            elif issubclass(cls, type) and _defined_in(value, module_name):
                for class_attr, class_value in list(vars(value).items()):
                    if type(class_value) in kinds:
                        add(class_value, f"{module_name}.{value.__qualname__}.{class_attr}")
    return found


def _defined_in(cls: Any, module_name: str) -> bool:
    try:
        return type.__getattribute__(cls, "__module__") == module_name
    except Exception:
        return False


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

    ``heap`` is a ``gc.get_objects()`` list the caller already took (one pass
    shared by a whole snapshot); by default the heap is read here.
    """
    kinds = signal_types()
    bound = _bindings(kinds)
    result = []
    for signal, names in bound.values():
        name = _canonical(names)
        result.append((signal, name, tuple(sorted(n for n in set(names) if n != name))))
    for number, obj in enumerate(_unbound(kinds, bound, heap), 1):
        result.append((obj, _unnamed(obj, number), ()))
    result.sort(key=lambda item: item[1])
    return result


def _unbound(kinds: set[type], bound: dict[int, Any], heap: list[Any] | None) -> list[Signal]:
    """Live signals no module or class binds (closures, instance attributes), in heap order."""
    objects = gc.get_objects() if heap is None else heap
    # the type test runs in C (compress/map): the heap holds millions of objects
    signals = compress(objects, map(kinds.__contains__, map(type, objects)))
    return [obj for obj in signals if id(obj) not in bound]


def name_signal(signal: Signal) -> str:
    """The canonical name of one signal (a full module scan: cache the answer)."""
    kinds = signal_types()
    bound = _bindings(kinds)
    names = [n for n in bound.get(id(signal), (None, []))[1]]
    if names:
        return _canonical(names)
    unbound = _unbound(kinds, bound, None)
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
