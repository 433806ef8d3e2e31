"""Is a receiver async?  The answer ``inspect``, asyncio and asgiref give, read cheaply.

Django (5.0+) asks ``asgiref.sync.iscoroutinefunction``: ``inspect.iscoroutinefunction``
plus asyncio's ``_is_coroutine`` marker before Python 3.12, and ``inspect``'s own
``markcoroutinefunction`` mark from 3.12.  A plain function with nothing in its
``__dict__`` is answered from its code flags; a callable instance whose class defines
none of the attributes those checks read (and no ``__getattr__``) makes every probe
miss, so the answer is ``False``.  Anything else gets the full check.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

__all__ = ["instance_is_async", "is_async"]


def is_async(obj: Any) -> bool:
    """What Django would call async: ``inspect``'s answer or asgiref's (never raising)."""
    if type(obj) is types.FunctionType:  # the common case, without inspect's unwrapping
        if obj.__code__.co_flags & inspect.CO_COROUTINE:
            return True
        marks = obj.__dict__  # markcoroutinefunction() leaves an attribute behind
        return bool(marks) and _marked_async(obj)
    try:
        if inspect.iscoroutinefunction(obj):
            return True
        # asgiref's markcoroutinefunction / Django's own check
        from asgiref.sync import iscoroutinefunction

        return bool(iscoroutinefunction(obj))
    except Exception:
        return False


def _marked_async(obj: Any) -> bool:
    from asgiref.sync import iscoroutinefunction

    return bool(iscoroutinefunction(obj))


#: What ``inspect.iscoroutinefunction``, asyncio's and asgiref's read from a callable
#: instance (Python 3.10-3.13), and what would route those reads through user code.
_ASYNC_PROBES = (
    "__name__",
    "__code__",
    "__defaults__",
    "__kwdefaults__",
    "__annotations__",
    "_is_coroutine_marker",
    "_is_coroutine",
    "__partialmethod__",
    "__func__",
)
_LOOKUP_HOOKS = frozenset(_ASYNC_PROBES) | {"__getattr__", "__getattribute__", "__class__"}


def instance_is_async(obj: Any, memo: dict[Any, tuple[Any, Any]]) -> bool:
    """:func:`is_async` of a callable instance, without its attribute probes when they must
    all miss: the class (below ``object``) defines none of the probed names and no lookup
    hook, and the instance's own ``__dict__`` holds none of them.  Else the full check."""
    cls = type(obj)
    if _class_probes_miss(cls, memo):
        try:
            own = object.__getattribute__(obj, "__dict__")
        except AttributeError:
            own = {}
        if type(own) is dict and not any(name in own for name in _ASYNC_PROBES):
            return False
    return is_async(obj)


def _probes_miss(cls: type) -> bool:
    try:
        for klass in type.__dict__["__mro__"].__get__(cls):
            if klass is object:
                continue
            namespace = vars(klass)
            if not _LOOKUP_HOOKS.isdisjoint(namespace):
                return False
            found = namespace.get("__dict__")
            if found is not None and type(found) is not types.GetSetDescriptorType:
                return False
    except Exception:
        return False
    return True


def _class_probes_miss(cls: type, memo: dict[Any, tuple[Any, Any]]) -> bool:
    key = ("probes", id(cls))
    found = memo.get(key)
    if found is None:
        found = memo[key] = (cls, _probes_miss(cls))
    return bool(found[1])
