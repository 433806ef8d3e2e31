"""Read an object's attributes without running any of its code.

``getattr()`` runs a class's ``__getattr__``/``__getattribute__``, properties and other
descriptors, all of them application code.  These helpers read the class dicts along
the MRO (through ``type``'s own ``__mro__``/``__dict__`` descriptors, so a metaclass
runs nothing either) and an instance's standard ``__dict__``.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

__all__ = ["defines_any", "lookup_hooked", "static_attr", "static_lookup"]

_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_HOOKS = ("__getattr__", "__getattribute__")


def static_lookup(cls: type, name: str) -> tuple[bool, Any]:
    """``name`` along ``cls.__mro__``: ``(True, the class dict's value)`` or ``(False, None)``."""
    for klass in _type_mro(cls):
        namespace = _type_dict(klass)
        if name in namespace:
            return True, namespace[name]
    return False, None


def defines_any(cls: type, names: Iterable[str]) -> bool:
    """A class of ``cls.__mro__`` below ``object`` defines one of ``names``, or a
    ``__dict__`` of its own (or the MRO cannot be read: assume so)."""
    try:
        for klass in _type_mro(cls):
            if klass is object:
                continue
            namespace = _type_dict(klass)
            if any(name in namespace for name in names):
                return True
            found = namespace.get("__dict__")
            if found is not None and type(found) is not types.GetSetDescriptorType:
                return True
    except Exception:
        return True
    return False


def lookup_hooked(cls: type) -> bool:
    """``getattr()`` on an instance of ``cls`` may run its code: a class below ``object``
    defines ``__getattr__`` or ``__getattribute__``, or a ``__dict__`` of its own."""
    return defines_any(cls, _HOOKS)


def static_attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` read from its ``__dict__``, then its class dicts, running no code: a
    descriptor found on the class (a property, a method) gives ``default``."""
    try:
        own = object.__getattribute__(obj, "__dict__")  # lookup_hooked(): the standard one
    except AttributeError:
        own = None
    if type(own) is dict and name in own:
        return own[name]
    found, value = static_lookup(type(obj), name)
    if not found or static_lookup(type(value), "__get__")[0]:
        return default
    return value
