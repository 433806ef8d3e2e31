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

from sigscope.static import defines_any, lookup_hooked, static_attr

__all__ = ["instance_is_async", "is_async"]


def is_async(obj: Any) -> bool:
    """What Django would call async: ``inspect``'s answer or asgiref's (never raising).

    For an object whose class hooks attribute lookup (``__getattr__``,
    ``__getattribute__``, its own ``__dict__``), the probes would run that code: the
    answer is read from its ``__dict__`` and class dicts only (Django, which asked at
    ``connect()``, keeps its own answer in ``signal.receivers``; the registry reads that).
    """
    if type(obj) is types.FunctionType:  # the common case, without inspect's unwrapping
        if obj.__code__.co_flags & inspect.CO_COROUTINE:
            return True
        marks = obj.__dict__  # markcoroutinefunction() leaves an attribute behind
        return bool(marks) and _marked_async(obj)
    if type(obj) is not types.MethodType and lookup_hooked(type(obj)):
        return _statically_marked(obj)
    try:
        if inspect.iscoroutinefunction(obj):
            return True
        # asgiref's markcoroutinefunction / Django's own check
        from asgiref.sync import iscoroutinefunction

        return bool(iscoroutinefunction(obj))
    except Exception:
        return False


def _statically_marked(obj: Any) -> bool:
    """The marks ``inspect.markcoroutinefunction`` (3.12+) and asgiref's leave, read with
    :func:`static_attr`."""
    mark = getattr(inspect, "_is_coroutine_mark", None)
    if mark is not None and static_attr(obj, "_is_coroutine_marker") is mark:
        return True
    import asyncio.coroutines

    legacy = getattr(asyncio.coroutines, "_is_coroutine", None)
    return legacy is not None and static_attr(obj, "_is_coroutine") is legacy


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
    return not defines_any(cls, _LOOKUP_HOOKS)


def _class_probes_miss(cls: type, memo: dict[Any, tuple[Any, Any]]) -> bool:
    key = ("probes", id(cls))
    found = memo.get(key)
    if found is None:
        found = memo[key] = (cls, _probes_miss(cls))
    return bool(found[1])
