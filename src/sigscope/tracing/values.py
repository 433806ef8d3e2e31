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
import itertools
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
    kind = _KINDS.get(id(cls))  # by id: a metaclass's __eq__/__hash__ is never asked
    if kind is not None:
        if kind == 0:
            return repr(value)
        if kind == 1:
            return repr(value) if len(value) <= limit else repr(value[:limit]) + f"…[{len(value)}]"
        if kind == 2:
            return _clip(repr(value[:limit]), limit)
        if kind == 3:
            return _clip(_container(value, cls, limit, hidden, _depth), limit)
        return _clip(repr(value), limit)
    cached = _models.get(id(cls))
    if cached is not None and cached[0]() is cls:  # a model instance, its class seen before
        return _clip(_model_text(value, cached), limit)
    try:
        return _clip(_described_object(value, cls, hidden, _depth), limit)
    except Exception:
        return f"<{type_label(cls)}>"


#: id(type) -> 0 atom, 1 str, 2 bytes, 3 builtin container, 4 standard-library value type.
_KINDS: dict[int, int] = {id(t): 0 for t in _ATOMS}
_KINDS.update({id(str): 1, id(bytes): 2, id(dict): 3})
_KINDS.update({id(t): 3 for t in _CONTAINERS})
_KINDS.update({id(t): 4 for t in _STDLIB})


def _dict_part(entry: Any, limit: int, hidden: Any, decided: Any, depth: int) -> str:
    """``'key': value`` of one dict item (common ``str`` cases inline, secrets hidden)."""
    key, item = entry
    kind = type(key)
    short = kind is str and len(key) <= 60
    shown = repr(key) if short else describe(key, 60, None, depth + 1)
    hide = False
    if decided is not None and kind is str:
        hide = decided(key)
        if hide is None:
            hide = hidden.hides(key)
    if hide:
        return f"{shown}: {hidden.substitute}"
    if type(item) is str and len(item) <= limit:
        return f"{shown}: {item!r}"
    return f"{shown}: {describe(item, limit, hidden, depth + 1)}"


def _container(value: Any, cls: type, limit: int, hidden: Any, depth: int, length: int = -1) -> str:
    """Items until ``ITEMS`` of them or ``limit`` characters (then ``…[N items]``).

    ``length`` is the original's when ``value`` is its first items (:class:`StrDict`).
    """
    if length < 0:
        length = len(value)
    if depth >= DEPTH:
        return f"<{cls.__name__} of {length}>"
    parts: list[str] = []
    total = 0
    items = value.items() if cls is dict else value
    decided = hidden.decided.get if hidden is not None else None
    for index, entry in enumerate(items):  # a builtin container: iterating runs no user code
        if index == ITEMS:
            break
        if cls is dict:
            part = _dict_part(entry, limit, hidden, decided, depth)
        else:
            part = describe(entry, limit, hidden, depth + 1)
        parts.append(part)
        total += len(part) + 2
        if total > limit:  # clipped anyway: describe no further items
            opening = "{" if cls is dict else _CONTAINERS[cls][0]
            text = opening + ", ".join(parts)
            return f"{text[: max(limit - 20, 10)]}…[{length} items]"
    if length > ITEMS:
        parts.append(f"…{length - ITEMS} more")
    if cls is dict:
        return "{" + ", ".join(parts) + "}"
    if not parts:
        return "()" if cls is tuple else ("set()" if cls is set else f"{cls.__name__}()")
    opening, closing = _CONTAINERS[cls]
    tail = "," if cls is tuple and len(parts) == 1 else ""
    return opening + ", ".join(parts) + tail + closing


_STR_ONLY = {id(str)}


class StrDict:
    """A ``dict``'s first items, all ``str`` to ``str``, described when read.

    Made during the send by :func:`str_dict` (C-level copies and ``id`` checks
    only); holds strings and the dict's length, nothing else of the application.
    ``items`` is flat, ``(key0, value0, key1, value1, ...)``: one tuple, no dict,
    per send.  (The C accelerator writes the three slots directly: keep
    ``__init__`` assigning them and nothing else.)
    """

    __slots__ = ("hidden", "items", "length")

    def __init__(self, items: tuple[str, ...], length: int, hidden: Any) -> None:
        self.items, self.length, self.hidden = items, length, hidden

    def __str__(self) -> str:
        pairs = dict(zip(self.items[::2], self.items[1::2], strict=True))
        return _container(pairs, dict, LIMIT, self.hidden, 0, self.length)


class ModelPk:
    """A model instance's description, ``<label pk=N>``, made when read.

    Made during the send by the C accelerator, from the instance's ``__dict__``
    (its ``pk`` an exact ``int``); holds a string and that int, nothing else of
    the application: no text is formatted during the send.  ``str()`` of it is
    what :func:`describe` returns for the instance.  (The C accelerator writes
    the two slots directly: keep ``__init__`` assigning them and nothing else.)

    Examples
    --------
    >>> str(ModelPk("<blog.Tag pk=", 7))
    '<blog.Tag pk=7>'
    """

    __slots__ = ("pk", "prefix")

    def __init__(self, prefix: str, pk: int) -> None:
        self.prefix, self.pk = prefix, pk

    def __str__(self) -> str:
        return f"{self.prefix}{int.__repr__(self.pk)}>"


def str_dict(value: dict[Any, Any], hidden: Any) -> StrDict | None:
    """A :class:`StrDict` of ``value`` (a WSGI ``environ``), or ``None`` if it has other types.

    Types are compared by ``id`` and only builtin ``str`` objects are measured,
    so nothing of the application runs.
    """
    items = tuple(itertools.chain.from_iterable(itertools.islice(value.items(), ITEMS)))
    if set(map(id, map(type, items))) != _STR_ONLY:
        return None
    return StrDict(items, len(value), hidden)


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
    return _model_text(value, cached)


def _model_text(value: Any, cached: tuple[Any, str, Any]) -> str:
    attname = cached[2]
    pk = _instance_dict(value).get(attname, None) if type(attname) is str else None
    return f"<{cached[1]} pk={repr(pk) if type(pk) is int else describe(pk, 60)}>"


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
