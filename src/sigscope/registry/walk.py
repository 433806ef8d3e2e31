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

    Names come in walk order (``sys.modules`` order, then each namespace's order).
    """
    signals: dict[int, tuple[Any, list[str]]] = {}
    names: dict[int, list[tuple[str, Any]]] = {}
    for module_name, namespace in module_dicts():
        for attr, value in list(namespace.items()):
            cls = type(value)
            if want and id(value) in want:
                names.setdefault(id(value), []).append((f"{module_name}.{attr}", value))
            if cls in kinds:
                signals.setdefault(id(value), (value, []))[1].append(f"{module_name}.{attr}")
            elif issubclass(cls, type):
                if _defined_in(value, module_name):
                    _signal_attrs(value, module_name, kinds, signals)
                if want and (cls is type or not issubclass(cls, types.ModuleType)):
                    _class_attrs(value, module_name, want, names)
    return signals, names


def _defined_in(cls: Any, module_name: str) -> bool:
    try:
        return type.__getattribute__(cls, "__module__") == module_name
    except Exception:
        return False


def _signal_attrs(cls: Any, module_name: str, kinds: set[type], found: dict) -> None:
    for attr, value in list(vars(cls).items()):
        if type(value) in kinds:
            dotted = f"{module_name}.{cls.__qualname__}.{attr}"
            found.setdefault(id(value), (value, []))[1].append(dotted)


def _class_attrs(cls: Any, module_name: str, want: set[int], found: dict) -> None:
    namespace = class_dict(cls)
    if not namespace or namespace.get("__module__") != module_name:
        return
    qualname = namespace.get("__qualname__") or getattr(cls, "__qualname__", "?")
    for attr, value in list(namespace.items()):
        if id(value) in want and not attr.startswith("__"):
            found.setdefault(id(value), []).append((f"{module_name}.{qualname}.{attr}", value))
