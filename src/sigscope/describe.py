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

import dataclasses
import functools
import inspect
import linecache
import os
import types
from typing import Any

from sigscope.records import CallableInfo
from sigscope.safe import safe_repr, type_name

__all__ = ["describe_callable", "describe_dead"]


def _code_of(func: Any) -> types.CodeType | None:
    code = getattr(func, "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def _is_async(obj: Any) -> bool:
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


def _function_info(func: Any, *, kind: str, **extra: Any) -> CallableInfo:
    real, wrappers = _unwrap(func)
    code = _code_of(real)
    filename = code.co_filename if code else None
    # A notebook cell or exec'd source: its text lives in linecache only.
    in_memory = bool(filename) and filename in linecache.cache and _only_in_memory(filename)
    name = getattr(func, "__name__", "")
    if kind == "function" and name == "<lambda>":
        kind = "lambda"
    module = getattr(real, "__module__", None)
    qualname = getattr(real, "__qualname__", None) or getattr(real, "__name__", "?")
    return CallableInfo(
        kind=kind,
        module=module if isinstance(module, str) else None,
        qualname=str(qualname),
        file=filename,
        line=code.co_firstlineno if code else None,
        is_async=_is_async(func) or (real is not func and _is_async(real)),
        is_closure=bool(getattr(real, "__closure__", None)) or "<locals>" in str(qualname),
        wrapped_by=wrappers,
        func_id=id(func),
        code_id=id(code) if code else None,
        in_memory_source=in_memory,
        **extra,
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


def _memoised(memo: Memo, key: Any, holder: Any, make: Any) -> Any:
    found = memo.get(key)
    if found is None:
        found = memo[key] = (holder, make())
    return found[1]


def _function(func: Any, memo: Memo) -> CallableInfo:
    return _memoised(memo, id(func), func, lambda: _function_info(func, kind="function"))


def _owner_repr(owner: Any, memo: Memo) -> str:
    """``safe_repr(owner, 120)``; once per class when the class keeps ``object.__repr__``."""
    cls = type(owner)
    if not _plain_repr(cls, memo):
        return safe_repr(owner, 120)
    return _memoised(memo, ("repr", id(cls)), cls, lambda: safe_repr(owner, 120))


def _plain_repr(cls: type, memo: Memo) -> bool:
    """Instances print as ``<module.Class object>``: same text for every instance."""

    def check() -> bool:
        from django.db.models.query import QuerySet

        own = next((vars(k)["__repr__"] for k in cls.__mro__ if "__repr__" in vars(k)), None)
        label = getattr(getattr(cls, "_meta", None), "label", None)  # as safe_repr reads it
        plain = own is object.__repr__ and not isinstance(label, str)
        return plain and not issubclass(cls, QuerySet)

    return bool(_memoised(memo, ("plain", id(cls)), cls, check))


def _describe(obj: Any, memo: Memo) -> CallableInfo:
    cls = type(obj)  # never isinstance(): it would evaluate a LazyObject
    if cls is types.MethodType:
        owner, func = obj.__self__, obj.__func__
        kind = "classmethod" if issubclass(type(owner), type) else "method"
        return _replace(
            _function(func, memo),
            kind=kind,
            bound_to=_owner_repr(owner, memo),
            self_id=id(owner),
            # a bound method's flags and marks are its function's
            is_async=_memoised(memo, ("async", id(func)), func, lambda: _is_async(obj)),
        )
    if issubclass(cls, functools.partial):
        inner = describe_callable(obj.func, memo=memo)
        args = [safe_repr(a, 60) for a in obj.args]
        args += [f"{k}={safe_repr(v, 60)}" for k, v in (obj.keywords or {}).items()]
        return _replace(
            inner, kind="partial", bound_to=", ".join(args), func_id=id(obj), self_id=None
        )
    if cls is types.FunctionType:
        return _function(obj, memo)
    if cls in (types.BuiltinFunctionType, types.BuiltinMethodType):
        return _builtin_info(obj)
    if issubclass(cls, type):
        return _builtin_info(obj) if obj.__module__ == "builtins" else _class_info(obj)
    call = next((vars(k)["__call__"] for k in cls.__mro__ if "__call__" in vars(k)), None)
    if call is not None and _code_of(call) is not None:
        info = _function(call, memo)
        return _replace(
            info,
            kind="callable",
            bound_to=safe_repr(obj, 120),
            self_id=id(obj),
            func_id=id(obj),
            is_async=_is_async(obj) or info.is_async,
        )
    return CallableInfo(kind="other", module=None, qualname=type_name(obj), func_id=id(obj))


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
    info = _function_info(func, kind="function")
    return _replace(info, kind="dead", bound_to="<garbage-collected instance>")


_FIELDS = tuple(f.name for f in dataclasses.fields(CallableInfo))


def _replace(info: CallableInfo, **changes: Any) -> CallableInfo:
    """``dataclasses.replace`` without its per-call field introspection (hot at 10k receivers)."""
    values = {name: getattr(info, name) for name in _FIELDS}
    values.update(changes)
    return CallableInfo(**values)
