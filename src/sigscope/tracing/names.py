"""Names of receivers, signals and senders, cached under weak references.

A receiver is described (``CallableInfo``) the first time it runs and the
description is cached by ``id()``; a weak-reference callback drops the entry
when the receiver dies, so an ``id`` found in the cache always belongs to the
object it describes.  Bound methods (a new object per call) are keyed by
``(id(self), id(func))``.  Nothing here keeps a receiver, sender or signal alive.
"""

from __future__ import annotations

import contextlib
import functools
import types
import weakref
from typing import Any

from django.dispatch import Signal

from sigscope.describe import describe_callable
from sigscope.records import CallableInfo
from sigscope.tracing.values import describe, type_label

__all__ = ["receiver_info", "sender_label", "signal_name"]

_by_id: dict[int, CallableInfo] = {}
_by_method: dict[tuple[int, int], CallableInfo] = {}
_anchors: dict[int, Any] = {}  # id(weakref) -> the weakref (kept so its callback fires)


def receiver_info(receiver: Any) -> CallableInfo:
    """The receiver's description (cached while it lives)."""
    found = _by_id.get(id(receiver))
    if found is not None:
        return found
    if type(receiver) is types.MethodType:
        key = (id(receiver.__self__), id(receiver.__func__))
        found = _by_method.get(key)
        if found is None:
            found = _describe(receiver)
            _remember(_by_method, key, found, receiver.__self__, receiver.__func__)
        return found
    found = _describe(receiver)
    _remember(_by_id, id(receiver), found, receiver)
    return found


_by_ids: dict[tuple[Any, ...], tuple[CallableInfo, ...]] = {}


def infos_of(receivers: list[Any]) -> tuple[CallableInfo, ...]:
    """The descriptions of a send's receivers, cached per sequence of receivers.

    A sequence is keyed by each receiver's ``id``, or ``(id(self), id(func))``
    for a bound method (a new object per send).  An entry is made only when
    every receiver is cached under that key (so tracked by weak references whose
    callbacks drop the entries it is part of): a hit therefore names live
    objects, never ones whose ``id`` was reused.
    """
    key: tuple[Any, ...] = tuple(map(id, receivers))
    found = _by_ids.get(key)
    if found is not None:
        return found
    if _METHOD_ID in map(id, map(type, receivers)):  # ints compared: no user ``__eq__``
        key = tuple(
            (id(r.__self__), id(r.__func__)) if type(r) is _METHOD else id(r) for r in receivers
        )
        found = _by_ids.get(key)
        if found is not None:
            return found
    found = tuple(receiver_info(r) for r in receivers)
    caches: tuple[dict[Any, CallableInfo], ...] = (_by_id, _by_method)
    if all(caches[type(k) is not int].get(k) is i for k, i in zip(key, found)):
        if len(_by_ids) > 10_000:
            _by_ids.clear()
            _in_sequences.clear()
        _by_ids[key] = found
        for k in key:
            _in_sequences.setdefault(k, []).append(key)
    return found


_METHOD = types.MethodType
_METHOD_ID = id(_METHOD)
_in_sequences: dict[Any, list[tuple[Any, ...]]] = {}


def _remember(cache: dict[Any, CallableInfo], key: Any, info: CallableInfo, *owners: Any) -> None:
    def forget(ref: Any, key: Any = key) -> None:
        cache.pop(key, None)
        _anchors.pop(id(ref), None)
        for sequence in _in_sequences.pop(key, ()):
            _by_ids.pop(sequence, None)

    refs = []
    for owner in owners:
        try:
            refs.append(weakref.ref(owner, forget))
        except TypeError:  # not weakly referenceable: described again next time
            return
    for ref in refs:
        _anchors[id(ref)] = ref
    cache[key] = info


def _describe(receiver: Any) -> CallableInfo:
    """``describe_callable`` without the ``repr`` of a bound instance or partial's arguments."""
    cls = type(receiver)
    try:
        if cls is types.MethodType:
            owner = receiver.__self__
            inner = describe_callable(receiver.__func__)
            kind = "classmethod" if issubclass(type(owner), type) else "method"
            return _replace(inner, kind=kind, bound_to=describe(owner, 120), self_id=id(owner))
        if cls is functools.partial:
            inner = describe_callable(receiver.func)
            args = [describe(a, 60) for a in receiver.args]
            args += [f"{k}={describe(v, 60)}" for k, v in receiver.keywords.items()]
            return _replace(inner, kind="partial", bound_to=", ".join(args), func_id=id(receiver))
        if cls in (types.FunctionType, types.BuiltinFunctionType) or issubclass(cls, type):
            return describe_callable(receiver)
        call = next((vars(k)["__call__"] for k in cls.__mro__ if "__call__" in vars(k)), None)
        if type(call) is types.FunctionType:
            inner = describe_callable(call)
            return _replace(
                inner, kind="callable", bound_to=describe(receiver, 120), func_id=id(receiver)
            )
    except Exception:
        pass
    return CallableInfo(kind="other", module=None, qualname=type_label(cls), func_id=id(receiver))


def _replace(info: CallableInfo, **changes: Any) -> CallableInfo:
    values = {name: getattr(info, name) for name in CallableInfo.__dataclass_fields__}
    values.update(changes)
    return CallableInfo(**values)


class SignalName:
    """A signal's canonical name, resolved on first read (a module scan is not cheap)."""

    __slots__ = ("__weakref__", "key", "name", "ref")

    def __init__(self, signal: Signal) -> None:
        self.ref = weakref.ref(signal)
        self.key = id(signal)
        self.name: str | None = None

    def __str__(self) -> str:
        if self.name is None:
            _resolve_signal_names()
        return self.name or "<signal>"


_signal_names: dict[int, SignalName] = {}


def signal_name(signal: Signal) -> SignalName:
    holder = _signal_names.get(id(signal))
    if holder is None or holder.ref() is not signal:
        holder = _signal_names[id(signal)] = SignalName(signal)
    return holder


def _resolve_signal_names() -> None:
    from sigscope.registry import find_signals

    names = {id(s): name for s, name, _ in find_signals()}
    for key, holder in list(_signal_names.items()):
        if holder.name is None:
            signal = holder.ref()
            if signal is None:
                holder.name = f"<signal at {key:#x}, gone>"
            else:
                holder.name = names.get(key, f"<{type(signal).__name__} at {key:#x}>")


_sender_labels: dict[int, tuple[Any, str]] = {}


def sender_label(sender: Any) -> str | None:
    """How a sender is shown: a model label, a class name, a safe description."""
    if sender is None:
        return None
    cached = _sender_labels.get(id(sender))
    if cached is not None and cached[0]() is sender:
        return cached[1]
    label = describe(sender, 120)
    if issubclass(type(sender), type):
        with contextlib.suppress(TypeError):
            _sender_labels[id(sender)] = (weakref.ref(sender), label)
    return label
