"""One pass over the namespaces of loaded modules: the signals they bind, and the names
of wanted objects (senders).

Module globals and the attributes of classes are read from their ``__dict__``s,
never through ``getattr`` (a module may define ``__getattr__``); nothing is
imported.  A snapshot walks once for both: the walk is most of the fixed cost.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Mapping
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

__all__ = ["Bindings", "class_dict", "module_dicts", "walk_namespaces"]

#: ``id -> (object, [dotted names])`` of signals; ``id -> [(dotted name, object)]`` of others.
Bindings = tuple[dict[int, tuple[Any, list[str]]], dict[int, list[tuple[str, Any]]]]


def module_dicts() -> Iterator[tuple[str, dict[str, Any]]]:
    """``(name, namespace)`` of every loaded module, read without attribute lookups (a module
    object may define ``__getattr__``); nothing is imported."""
    for name, module in list(sys.modules.items()):
        if not issubclass(type(module), types.ModuleType):
            continue
        try:
            namespace = object.__getattribute__(module, "__dict__")
        except Exception:
            continue
        if type(namespace) is dict:
            yield name, namespace


def class_dict(cls: Any) -> Mapping[str, Any]:
    try:
        namespace = type.__getattribute__(cls, "__dict__")
    except Exception:
        return {}
    return namespace if isinstance(namespace, types.MappingProxyType | dict) else {}


def walk_namespaces(kinds: set[type], want: set[int]) -> Bindings:
    """Signals (instances of ``kinds``) bound as module globals or as attributes of classes
    defined in that module, and every binding of the objects whose ids are in ``want``.

    Each namespace is filtered in C (``compress``/``map``: the type test, the class test,
    the id test); the order of names within a result is not significant.
    """
    signals: dict[int, tuple[Any, list[str]]] = {}
    names: dict[int, list[tuple[str, Any]]] = {}
    for module_name, namespace in module_dicts():
        items = list(namespace.items())
        values = list(map(_VALUE, items))
        classes = list(map(type, values))
        for attr, value in compress(items, map(kinds.__contains__, classes)):
            signals.setdefault(id(value), (value, []))[1].append(f"{module_name}.{attr}")
        if want:
            for attr, value in compress(items, map(want.__contains__, map(id, values))):
                names.setdefault(id(value), []).append((f"{module_name}.{attr}", value))
        for value in compress(values, map(issubclass, classes, repeat(type))):
            _class_members(value, module_name, kinds, want, signals, names)
    return signals, names


def _class_members(
    cls: Any, module_name: str, kinds: set[type], want: set[int], signals: dict, names: dict
) -> None:
    """The signals a class defined in this module holds, and the wanted objects it binds
    (its ``__dict__`` copied once when its metaclass is ``type``: ``vars()`` is that dict)."""
    for_signals = _defined_in(cls, module_name)
    meta = type(cls)
    namespace = (
        class_dict(cls) if want and (meta is type or not issubclass(meta, types.ModuleType)) else {}
    )
    for_names = bool(namespace) and namespace.get("__module__") == module_name
    if for_names and for_signals and meta is type:
        items = list(namespace.items())
        _signal_attrs(cls, module_name, kinds, signals, items)
        _class_attrs(cls, module_name, want, names, namespace, items)
        return
    if for_signals:
        _signal_attrs(cls, module_name, kinds, signals, list(vars(cls).items()))
    if for_names:
        _class_attrs(cls, module_name, want, names, namespace, list(namespace.items()))


_VALUE = itemgetter(1)


def _defined_in(cls: Any, module_name: str) -> bool:
    try:
        return type.__getattribute__(cls, "__module__") == module_name
    except Exception:
        return False


def _signal_attrs(
    cls: Any, module_name: str, kinds: set[type], found: dict, items: list[tuple[str, Any]]
) -> None:
    for attr, value in compress(items, map(kinds.__contains__, map(type, map(_VALUE, items)))):
        dotted = f"{module_name}.{cls.__qualname__}.{attr}"
        found.setdefault(id(value), (value, []))[1].append(dotted)


def _class_attrs(
    cls: Any,
    module_name: str,
    want: set[int],
    found: dict,
    namespace: Mapping[str, Any],
    items: list[tuple[str, Any]],
) -> None:
    qualname = namespace.get("__qualname__") or getattr(cls, "__qualname__", "?")
    for attr, value in compress(items, map(want.__contains__, map(id, map(_VALUE, items)))):
        if not attr.startswith("__"):
            found.setdefault(id(value), []).append((f"{module_name}.{qualname}.{attr}", value))
