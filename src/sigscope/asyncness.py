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

__all__ = ["instance_is_async", "is_async", "lookup_hooked", "static_attr"]


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


_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_HOOKS = ("__getattr__", "__getattribute__")


def lookup_hooked(cls: type) -> bool:
    """``getattr()`` on an instance of ``cls`` may run its code: a class below ``object``
    defines ``__getattr__`` or ``__getattribute__``, or a ``__dict__`` of its own."""
    try:
        for klass in _type_mro(cls):
            if klass is object:
                continue
            namespace = _type_dict(klass)
            if any(name in namespace for name in _HOOKS):
                return True
            found = namespace.get("__dict__")
            if found is not None and type(found) is not types.GetSetDescriptorType:
                return True
    except Exception:
        return True
    return False


def static_attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` read from its ``__dict__``, then its class dicts, running no code: a
    descriptor found on the class (a property, a method) gives ``default``."""
    try:
        own = object.__getattribute__(obj, "__dict__")  # lookup_hooked(): the standard one
    except AttributeError:
        own = None
    if type(own) is dict and name in own:
        return own[name]
    for klass in _type_mro(type(obj)):
        namespace = _type_dict(klass)
        if name in namespace:
            value = namespace[name]
            is_descriptor = any("__get__" in _type_dict(k) for k in _type_mro(type(value)))
            return default if is_descriptor else value
    return default


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
