"""Name a receiver the way a Django developer would, whatever its shape.

===================  ========================================================
shape                described as
===================  ========================================================
function, lambda     ``__module__`` + ``__qualname__``, code file and first line
``functools.wraps``  the unwrapped function's location; wrappers listed
bound method         ``__func__``'s name; the instance in ``bound_to``
classmethod          like a method, bound to the class
``partial``          its ``.func``, with the bound arguments in ``bound_to``
callable instance    ``Class.__call__``
builtin              module + name, no source
===================  ========================================================
"""

from __future__ import annotations

import functools
import inspect
import linecache
import os
import types
from typing import Any

from sigscope._fastinit import positional_factory
from sigscope.asyncness import instance_is_async, is_async
from sigscope.records import CallableInfo
from sigscope.safe import safe_repr, type_name
from sigscope.static import lookup_hooked, static_attr

__all__ = ["describe_callable", "describe_dead"]

#: ``CallableInfo(kind, module, qualname, file, line, is_async, is_closure, wrapped_by,
#: bound_to, func_id, code_id, self_id, in_memory_source)``, all positional.
_new = positional_factory(CallableInfo)
_CO_COROUTINE = inspect.CO_COROUTINE


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr(obj, name, default)``, or :func:`static_attr` where a lookup hook of its
    class would run (a callable instance with ``__getattr__``, a proxy)."""
    cls = type(obj)
    if cls is types.FunctionType or cls is types.MethodType or not lookup_hooked(cls):
        return getattr(obj, name, default)
    return static_attr(obj, name, default)


def _code_of(func: Any) -> types.CodeType | None:
    code = _attr(func, "__code__")
    return code if isinstance(code, types.CodeType) else None


@functools.lru_cache(maxsize=1024)
def _only_in_memory(filename: str) -> bool:
    return not os.path.exists(filename)


def _unwrap(func: Any) -> tuple[Any, tuple[str, ...]]:
    wrappers: list[str] = []
    current = func
    for _ in range(32):
        inner = getattr(current, "__wrapped__", None) if _code_of(current) else None
        if inner is None or inner is current:
            break
        wrappers.append(_dotted(current))
        current = inner
    return current, tuple(wrappers)


def _dotted(func: Any) -> str:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if not isinstance(qualname, str):
        qualname = type_name(func)
    return f"{module}.{qualname}" if isinstance(module, str) else qualname


def _function_info(func: Any) -> CallableInfo:
    if type(func) is types.FunctionType and not func.__dict__:
        return _plain_function_info(func)
    real, wrappers = _unwrap(func)
    code = _code_of(real)
    filename = code.co_filename if code else None
    # A notebook cell or exec'd source: its text lives in linecache only.
    in_memory = bool(filename) and filename in linecache.cache and _only_in_memory(filename)
    name = _attr(func, "__name__", "")
    module = _attr(real, "__module__")
    qualname = str(_attr(real, "__qualname__") or _attr(real, "__name__", "?"))
    return _new(
        "lambda" if name == "<lambda>" else "function",
        module if isinstance(module, str) else None,
        qualname,
        filename,
        code.co_firstlineno if code else None,
        is_async(func) or (real is not func and is_async(real)),
        bool(_attr(real, "__closure__")) or "<locals>" in qualname,
        wrappers,
        None,
        id(func),
        id(code) if code else None,
        None,
        in_memory,
    )


def _plain_function_info(func: types.FunctionType) -> CallableInfo:
    """:func:`_function_info` of a function with an empty ``__dict__``: nothing wraps it
    (no ``__wrapped__``) and nothing marks it async, so its code flags say it all."""
    code = func.__code__
    filename = code.co_filename
    module = func.__module__
    qualname = func.__qualname__ or func.__name__
    return _new(
        "lambda" if func.__name__ == "<lambda>" else "function",
        module if isinstance(module, str) else None,
        qualname,
        filename,
        code.co_firstlineno,
        bool(code.co_flags & _CO_COROUTINE),
        bool(func.__closure__) or "<locals>" in qualname,
        (),
        None,
        id(func),
        id(code),
        None,
        bool(filename) and filename in linecache.cache and _only_in_memory(filename),
    )


#: ``id -> (object, value)``: what one snapshot already worked out about a function or a
#: type.  The object is held so its id cannot be reused while the memo lives.
Memo = dict[Any, tuple[Any, Any]]


def describe_callable(obj: Any, *, memo: Memo | None = None) -> CallableInfo:
    """Describe any receiver without calling it or its ``__repr__``.

    ``memo`` (a dict the caller keeps for one snapshot, then drops) describes a
    function bound to many instances, or a callable class, once.

    Examples
    --------
    >>> import functools
    >>> def on_save(sender, **kwargs): ...
    >>> describe_callable(on_save).kind
    'function'
    >>> describe_callable(functools.partial(on_save, 1)).kind
    'partial'
    >>> describe_callable(len).kind
    'builtin'
    """
    try:
        return _describe(obj, {} if memo is None else memo)
    except Exception:  # a hostile object: fall back to its type
        return CallableInfo(kind="other", module=None, qualname=type_name(obj), func_id=id(obj))


def _memoised(memo: Memo, key: Any, holder: Any, make: Any, *args: Any) -> Any:
    """``make(*args)``, once per ``key`` (``holder`` keeps the keyed object's id valid)."""
    found = memo.get(key)
    if found is None:
        found = memo[key] = (holder, make(*args))
    return found[1]


def _function(func: Any, memo: Memo) -> CallableInfo:
    info: CallableInfo = _memoised(memo, id(func), func, _function_info, func)
    return info


def _owner_repr(owner: Any, memo: Memo) -> str:
    """``safe_repr(owner, 120)``; once per class when the class keeps ``object.__repr__``."""
    cls = type(owner)
    # the text for every instance, or None when instances differ
    text: str | None = _memoised(memo, ("repr", id(cls)), cls, _shared_repr, owner)
    return safe_repr(owner, 120) if text is None else text


def _shared_repr(owner: Any) -> str | None:
    return safe_repr(owner, 120) if _plain_repr(type(owner)) else None


def _plain_repr(cls: type) -> bool:
    """Instances print as ``<module.Class object>``: same text for every instance."""
    from django.db.models.query import QuerySet

    own = next((vars(k)["__repr__"] for k in cls.__mro__ if "__repr__" in vars(k)), None)
    label = getattr(getattr(cls, "_meta", None), "label", None)  # as safe_repr reads it
    plain = own is object.__repr__ and not isinstance(label, str)
    return plain and not issubclass(cls, QuerySet)


def _derive(
    info: CallableInfo,
    kind: str,
    *,
    is_async: bool,
    bound_to: str | None,
    func_id: int | None,
    self_id: int | None,
) -> CallableInfo:
    """``info`` with those fields changed (``dataclasses.replace``, without its introspection)."""
    return _new(
        kind,
        info.module,
        info.qualname,
        info.file,
        info.line,
        is_async,
        info.is_closure,
        info.wrapped_by,
        bound_to,
        func_id,
        info.code_id,
        self_id,
        info.in_memory_source,
    )


def _describe(obj: Any, memo: Memo) -> CallableInfo:
    cls = type(obj)  # never isinstance(): it would evaluate a LazyObject
    if cls is types.FunctionType:
        return _function(obj, memo)
    if cls is types.MethodType:
        return _method(obj, memo)
    if issubclass(cls, functools.partial):
        inner = describe_callable(obj.func, memo=memo)
        args = [safe_repr(a, 60) for a in obj.args]
        args += [f"{k}={safe_repr(v, 60)}" for k, v in (obj.keywords or {}).items()]
        return _derive(
            inner,
            "partial",
            is_async=inner.is_async,
            bound_to=", ".join(args),
            func_id=id(obj),
            self_id=None,
        )
    if cls in (types.BuiltinFunctionType, types.BuiltinMethodType):
        return _builtin_info(obj)
    if issubclass(cls, type):
        return _builtin_info(obj) if obj.__module__ == "builtins" else _class_info(obj)
    call = _memoised(memo, ("call", id(cls)), cls, _call_of, cls)
    if call is not None and _code_of(call) is not None:
        info = _function(call, memo)
        return _derive(
            info,
            "callable",
            is_async=instance_is_async(obj, memo) or info.is_async,
            bound_to=_owner_repr(obj, memo),
            func_id=id(obj),
            self_id=id(obj),
        )
    return CallableInfo(kind="other", module=None, qualname=type_name(obj), func_id=id(obj))


def _method(obj: types.MethodType, memo: Memo) -> CallableInfo:
    owner, func = obj.__self__, obj.__func__
    info = _function(func, memo)
    # a bound method's flags and marks are its function's
    asynchronous = _memoised(memo, ("async", id(func)), func, is_async, obj)
    return _derive(
        info,
        "classmethod" if issubclass(type(owner), type) else "method",
        is_async=asynchronous,
        bound_to=_owner_repr(owner, memo),
        func_id=info.func_id,
        self_id=id(owner),
    )


def _call_of(cls: type) -> Any:
    return next((vars(k)["__call__"] for k in cls.__mro__ if "__call__" in vars(k)), None)


def _builtin_info(obj: Any) -> CallableInfo:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(qualname, str):
        qualname = type_name(obj)
    return CallableInfo(
        kind="builtin",
        module=module if isinstance(module, str) else None,
        qualname=qualname,
        func_id=id(obj),
    )


def _class_info(cls: type) -> CallableInfo:
    init = getattr(cls, "__init__", None)
    code = _code_of(init)
    return CallableInfo(
        kind="other",
        module=cls.__module__,
        qualname=cls.__qualname__,
        file=code.co_filename if code else None,
        line=code.co_firstlineno if code else None,
        func_id=id(cls),
        code_id=id(code) if code else None,
    )


def describe_dead(func: Any = None) -> CallableInfo:
    """A receiver whose weak reference died; a dead method still names its function."""
    if func is None:
        return CallableInfo(kind="dead", module=None, qualname="<garbage-collected receiver>")
    info = _function_info(func)
    bound = "<garbage-collected instance>"
    return _derive(
        info,
        "dead",
        is_async=info.is_async,
        bound_to=bound,
        func_id=info.func_id,
        self_id=info.self_id,
    )
