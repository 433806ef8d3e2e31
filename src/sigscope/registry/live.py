"""Facts that can only be read while the live receivers are at hand.

* **stale** - ``importlib.reload`` made a new function; the module now binds
  the new one, but the old object is still connected.
* **kept alive by DEBUG** - a weak receiver that nothing references but the
  argument tuples of Django's DEBUG-only ``func_accepts_kwargs`` cache: it
  works with ``DEBUG=True`` and disappears in production.
"""

from __future__ import annotations

import gc
import sys
import types
from collections.abc import Sequence
from typing import Any

__all__ = [
    "LiveFacts",
    "binding_facts",
    "debug_kept_alive",
    "is_bound_by_its_module",
    "is_stale",
]


def _lookup(namespace: Any, dotted: str) -> Any:
    current = namespace
    for part in dotted.split("."):
        try:
            if issubclass(type(current), types.ModuleType):
                current = object.__getattribute__(current, "__dict__").get(part)
            elif issubclass(type(current), type):
                current = vars(current).get(part)
            else:
                return None
        except Exception:
            return None
        if current is None:
            return None
    return current


def _binding(receiver: Any) -> tuple[types.FunctionType, Any] | None:
    """A module- or class-level function and what its module binds under its name now.

    ``None`` for anything else (closures, lambdas, builtins, callables, unloaded modules).
    """
    func = receiver.__func__ if type(receiver) is types.MethodType else receiver
    if type(func) is not types.FunctionType or "<" in func.__qualname__:
        return None
    module = sys.modules.get(func.__module__) if isinstance(func.__module__, str) else None
    if module is None:
        return None
    qualname = func.__qualname__
    if type(module) is types.ModuleType and "." not in qualname:  # a module global
        current = object.__getattribute__(module, "__dict__").get(qualname)
    else:
        current = _lookup(module, qualname)
    if type(current) in (classmethod, staticmethod):
        current = current.__func__
    return func, current


def is_stale(receiver: Any) -> bool:
    """The module (or class) that defined ``receiver`` now binds another object of that name."""
    bound = _binding(receiver)
    if bound is None:
        return False
    func, current = bound
    if type(current) is not types.FunctionType or current is func:
        return False
    if getattr(current, "__wrapped__", None) is func:
        return False  # the module binds a wrapper around this very function
    same_source = current.__code__.co_filename == func.__code__.co_filename
    return same_source and current.__qualname__ == func.__qualname__


def is_bound_by_its_module(receiver: Any) -> bool:
    """A function its module (or class) binds under its own name: that keeps it alive.

    Such receivers cannot be alive *only* through DEBUG's cache, so
    :func:`debug_kept_alive` need not search the heap for them.
    """
    bound = _binding(receiver)
    if bound is None:
        return False
    func, current = bound
    return current is func or getattr(current, "__wrapped__", None) is func


def binding_facts(receiver: Any, *, bound_check: bool) -> tuple[bool, bool]:
    """``(is_stale(receiver), is_bound_by_its_module(receiver))`` from one module lookup.

    The second is only worked out (else ``False``) when ``bound_check`` is true.
    """
    bound = _binding(receiver)
    if bound is None:
        return False, False
    func, current = bound
    plain = type(current) is types.FunctionType and current is not func
    if not plain or getattr(current, "__wrapped__", None) is func:
        stale = False  # not another function, or a wrapper around this very one
    else:
        same_source = current.__code__.co_filename == func.__code__.co_filename
        stale = same_source and current.__qualname__ == func.__qualname__
    if not bound_check:
        return stale, False
    return stale, current is func or getattr(current, "__wrapped__", None) is func


class LiveFacts:
    """:func:`binding_facts` once per function (a method's: its ``__func__``), while a
    snapshot reads its registrations.

    Collects the weak receivers DEBUG could be keeping alive (``candidates``: not bound
    by their module) for one :func:`debug_kept_alive` pass after reading.  Keyed by
    ``id()`` and holding only booleans: the receivers stay alive in the snapshot's own
    lists meanwhile, and the DEBUG check finds no referrer here but ``candidates``.
    """

    def __init__(self, *, debug: bool) -> None:
        self.debug = debug
        self.candidates: list[Any] = []
        self._facts: dict[tuple[int, bool], tuple[bool, bool]] = {}

    def stale(self, receiver: Any, *, weak: bool) -> bool:
        """:func:`is_stale` for a live receiver (noting it when it is a DEBUG candidate)."""
        check = weak and self.debug
        func = receiver.__func__ if type(receiver) is types.MethodType else receiver
        key = (id(func), check)
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = binding_facts(receiver, bound_check=check)
        if check and not found[1]:
            self.candidates.append(receiver)
        return found[0]


def _is_cache_key(obj: Any, target: Any) -> bool:
    return type(obj) is tuple and len(obj) >= 3 and obj[0] is target and "remove_first" in obj[1:]


def debug_kept_alive(candidates: Sequence[Any], *, ignore: Sequence[Any] = ()) -> set[int]:
    """``id()``s of the candidates referenced only by DEBUG cache keys.

    One pass of the garbage collector's referrer search covers all candidates.
    ``ignore`` lists the caller's own containers that hold candidates.
    Only plain functions and callable instances are candidates: the cache
    holds a bound method's ``__func__``, not its instance.
    """
    targets = [c for c in candidates if type(c) is not types.MethodType]
    if not targets:
        return set()
    by_id = {id(t): t for t in targets}
    holders: dict[int, list[Any]] = {i: [] for i in by_id}
    skip = {id(targets), id(by_id), id(candidates), *(id(c) for c in ignore)}
    for ref in gc.get_referrers(*targets):
        if type(ref) is types.FrameType or id(ref) in skip:
            continue
        if type(ref) is tuple:
            for item in ref[:1]:
                if id(item) in holders:
                    holders[id(item)].append(ref)
                    break
            else:
                _mark_all(ref, by_id, holders)
        else:
            _mark_all(ref, by_id, holders)
    return {
        i for i, refs in holders.items() if refs and all(_is_cache_key(r, by_id[i]) for r in refs)
    }


def _mark_all(ref: Any, by_id: dict[int, Any], holders: dict[int, list[Any]]) -> None:
    """A non-key referrer: find which candidates it holds (cheap for small containers)."""
    for item in gc.get_referents(ref):
        if id(item) in holders and item is by_id[id(item)]:
            holders[id(item)].append(ref)
