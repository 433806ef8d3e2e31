"""Describe senders, keyword arguments and results without running application code.

Everything here decides by ``type(value)`` (exact checks, or ``issubclass`` of
the type against Django's own classes), never by ``isinstance`` (which asks a
``LazyObject`` for its ``__class__`` and so evaluates it), and reads state from
an instance's ``__dict__`` (never through attributes that may be properties,
``__getattr__`` or descriptors).  No ``__repr__``, ``__str__``, ``__eq__``,
``__bool__``, ``__len__`` or ``__iter__`` of a user object is called:

===========================  ==============================================
value                        described as
===========================  ==============================================
``None``, bool, int, float,  their ``repr`` (bounded); containers hold at
str, bytes, list, tuple,     most ``ITEMS`` items, ``DEPTH`` levels
dict, set, frozenset
model instance               ``<shop.Order pk=41>`` (pk from ``__dict__``)
model class                  ``shop.Order``
``QuerySet``                 ``<QuerySet shop.Order (unevaluated)>`` or
                             ``(3 rows cached)``
``LazyObject``               ``<lazy SimpleLazyObject, unevaluated>``, or
                             ``<lazy → …>`` of what it already holds
lazy ``gettext_lazy`` text   ``<lazy str, unevaluated>``
``HttpRequest``              ``<WSGIRequest GET /path>``
``Context``                  ``<RequestContext keys: a, b>`` (no values)
``Template``                 ``<Template 'name.html'>``
``functools.partial``        ``<partial module.func>``
function / method            ``<function module.name>``
anything else                ``<module.Class>``
===========================  ==============================================

With ``reprs="full"`` a tracer uses :func:`full_repr` instead: the value's own
``repr`` (bounded), which *can run application code* (and queries).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import types
import uuid
import weakref
from typing import Any

from django.db.models import Model
from django.db.models.query import QuerySet
from django.http import HttpRequest
from django.template.base import Template
from django.template.context import BaseContext
from django.utils.functional import LazyObject, Promise, empty

__all__ = ["LIMIT", "describe", "full_repr", "type_label"]

LIMIT = 200
ITEMS = 8
DEPTH = 3

_ATOMS = (type(None), bool, int, float, complex)
#: Standard-library value types whose repr is the standard library's own code.
_STDLIB = (decimal.Decimal, uuid.UUID, datetime.date, datetime.datetime, datetime.time,
           datetime.timedelta)  # fmt: skip
_CONTAINERS: dict[Any, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}
_get_attribute = object.__getattribute__
_type_attribute = type.__getattribute__


def type_label(cls: type) -> str:
    """``module.QualName`` of a class, read past any metaclass ``__getattribute__``."""
    try:
        qualname = _type_attribute(cls, "__qualname__")
        module = _type_attribute(cls, "__module__")
    except Exception:
        return "?"
    if type(module) is not str or module == "builtins":
        return qualname if type(qualname) is str else "?"
    return f"{module}.{qualname}"


def _instance_dict(value: Any) -> dict[str, Any]:
    try:
        found = _get_attribute(value, "__dict__")
    except Exception:
        return {}
    return found if type(found) is dict else {}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: max(limit - 20, 10)]}…[{len(text)} chars]"


def describe(value: Any, limit: int = LIMIT, hidden: Any = None, _depth: int = 0) -> str:
    """A bounded description of ``value`` that runs none of its code.

    ``hidden`` (a :class:`~sigscope.tracing.redact.Redactor`) hides the values of
    sensitive dict keys at any depth.

    Examples
    --------
    >>> describe({"a": [1, 2.5, None], "b": "x" * 3})
    "{'a': [1, 2.5, None], 'b': 'xxx'}"
    >>> class Loud:
    ...     def __repr__(self):
    ...         raise SystemExit("never called")
    >>> describe(Loud())
    '<sigscope.tracing.values.Loud>'
    """
    cls = type(value)
    if cls in _ATOMS:
        return repr(value)
    if cls is str:
        return repr(value) if len(value) <= limit else repr(value[:limit]) + f"…[{len(value)}]"
    if cls is bytes:
        return _clip(repr(value[:limit]), limit)
    if cls in _CONTAINERS or cls is dict:
        return _clip(_container(value, cls, limit, hidden, _depth), limit)
    if cls in _STDLIB:
        return _clip(repr(value), limit)
    try:
        return _clip(_described_object(value, cls, hidden, _depth), limit)
    except Exception:
        return f"<{type_label(cls)}>"


def _container(value: Any, cls: type, limit: int, hidden: Any, depth: int) -> str:
    if depth >= DEPTH:
        return f"<{cls.__name__} of {len(value)}>"
    parts = []
    if cls is dict:
        for index, (key, item) in enumerate(value.items()):
            if index == ITEMS:
                parts.append(f"…{len(value) - ITEMS} more")
                break
            shown = describe(key, 60, None, depth + 1)
            if hidden is not None and type(key) is str and hidden.hides(key):
                parts.append(f"{shown}: {hidden.substitute}")
            else:
                parts.append(f"{shown}: {describe(item, limit, hidden, depth + 1)}")
        return "{" + ", ".join(parts) + "}"
    for index, item in enumerate(value):  # a builtin container: iterating runs no user code
        if index == ITEMS:
            parts.append(f"…{len(value) - ITEMS} more")
            break
        parts.append(describe(item, limit, hidden, depth + 1))
    if not parts:
        return "()" if cls is tuple else ("set()" if cls is set else f"{cls.__name__}()")
    opening, closing = _CONTAINERS[cls]
    tail = "," if cls is tuple and len(parts) == 1 else ""
    return opening + ", ".join(parts) + tail + closing


def _described_object(value: Any, cls: type, hidden: Any, depth: int) -> str:
    if issubclass(cls, type):
        return _class_label(value)
    if issubclass(cls, Model):
        return _model_instance(value, cls)
    if issubclass(cls, QuerySet):
        return _queryset(value, cls)
    if issubclass(cls, LazyObject):
        return _lazy(value, cls, hidden, depth)
    if issubclass(cls, Promise):
        return "<lazy str, unevaluated>"
    if issubclass(cls, HttpRequest):
        state = _instance_dict(value)
        method, path = state.get("method"), state.get("path")
        shown = [s for s in (method, path) if type(s) is str]
        return f"<{cls.__name__} {' '.join(s[:120] for s in shown)}>".replace(" >", ">")
    if issubclass(cls, BaseContext):
        return _context(value, cls)
    if issubclass(cls, Template):
        name = _instance_dict(value).get("name")
        return f"<Template {name[:120]!r}>" if type(name) is str else "<Template>"
    if cls is functools.partial:
        return f"<partial {_callable_name(value.func)}>"
    if cls in (types.FunctionType, types.BuiltinFunctionType, types.MethodType):
        return f"<function {_callable_name(value)}>"
    return f"<{type_label(cls)}>"


def _class_label(value: Any) -> str:
    if "_meta" in _type_attribute(value, "__dict__"):
        return _model_label(value)
    return f"<class {type_label(value)}>"


def _model_label(cls: type) -> str:
    meta = _type_attribute(cls, "__dict__").get("_meta")
    state = _instance_dict(meta)
    app, name = state.get("app_label"), state.get("object_name")
    if type(app) is str and type(name) is str:
        return f"{app}.{name}"
    return type_label(cls)


#: id(model class) -> (weak reference to it, label, pk attname): read once per class.
_models: dict[int, tuple[Any, str, Any]] = {}


def _model_instance(value: Any, cls: type) -> str:
    cached = _models.get(id(cls))
    if cached is None or cached[0]() is not cls:
        meta = _type_attribute(cls, "__dict__").get("_meta")
        attname = _instance_dict(_instance_dict(meta).get("pk")).get("attname")
        cached = (weakref.ref(cls), _model_label(cls), attname)
        if len(_models) > 10_000:
            _models.clear()
        _models[id(cls)] = cached
    attname = cached[2]
    pk = _instance_dict(value).get(attname, None) if type(attname) is str else None
    return f"<{cached[1]} pk={describe(pk, 60)}>"


def _queryset(value: Any, cls: type) -> str:
    state = _instance_dict(value)
    model = state.get("model")
    label = _model_label(model) if model is not None and issubclass(type(model), type) else "?"
    cache = state.get("_result_cache")
    if cache is None:
        how = "unevaluated"
    elif type(cache) is list:
        how = f"{len(cache)} row{'s' if len(cache) != 1 else ''} cached"
    else:
        how = "evaluated"
    return f"<{cls.__name__} {label} ({how})>"


def _lazy(value: Any, cls: type, hidden: Any, depth: int) -> str:
    wrapped = _instance_dict(value).get("_wrapped", empty)
    if wrapped is empty:
        return f"<lazy {cls.__name__}, unevaluated>"
    return f"<lazy → {describe(wrapped, 120, hidden, depth + 1)}>"


def _context(value: Any, cls: type) -> str:
    keys: list[str] = []
    dicts = _instance_dict(value).get("dicts")
    for layer in dicts if type(dicts) is list else ():
        if type(layer) is dict:
            keys.extend(k for k in layer if type(k) is str and k not in keys)
    shown = ", ".join(keys[:20]) + (f", …{len(keys) - 20} more" if len(keys) > 20 else "")
    return f"<{cls.__name__} keys: {shown}>"


def _callable_name(func: Any) -> str:
    cls = type(func)
    if cls is types.MethodType:
        func = func.__func__
        cls = type(func)
    if cls in (types.FunctionType, types.BuiltinFunctionType):
        module, qualname = func.__module__, func.__qualname__
        return f"{module}.{qualname}" if type(module) is str else str(qualname)
    return type_label(cls)


def full_repr(value: Any, limit: int = LIMIT) -> str:
    """The value's own ``repr``, bounded: opt-in, because it runs the value's code.

    An ``Exception`` from it becomes ``<repr-error …>``; anything else propagates.
    """
    try:
        text = repr(value)
    except Exception as exc:
        return f"<repr-error {type(exc).__name__} in {type_label(type(value))}>"
    if type(text) is not str:
        return f"<{type_label(type(value))}>"
    return _clip(text, limit)
