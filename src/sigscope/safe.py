"""Describe foreign objects without letting them hurt us.

A user's ``__repr__`` may raise, be a megabyte long, or run a query
(a model's ``__str__`` following a foreign key, an unevaluated ``QuerySet``).
:func:`safe_repr` never raises, bounds its output, and never calls the
``__repr__``/``__str__`` of a Django model instance or an unevaluated
queryset: those are described from their class and primary key instead.
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import itertools
import os
import pathlib
import re
import uuid
from typing import Any

from sigscope._compat import is_unevaluated_queryset

__all__ = [
    "safe_repr",
    "short_location",
    "short_path",
    "truncate",
    "type_name",
    "without_addresses",
]

DEFAULT_LIMIT = 200

_SIMPLE = (str, bytes, int, float, complex, bool, type(None))
_CONTAINERS = frozenset({*_SIMPLE, list, tuple, set, frozenset, dict})

#: `` at 0x7f…`` in default reprs: a memory address differs on every run.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def without_addresses(text: str) -> str:
    """``text`` with memory addresses (`` at 0x7f3a…``) removed, so output is stable.

    >>> without_addresses("<shop.Cart object at 0x7f3a2c1d>")
    '<shop.Cart object>'
    """
    return _ADDRESS.sub("", text) if "0x" in text else text


_OPEN: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}
_ITEMS, _DEPTH = 8, 3


def _bounded(obj: Any, limit: int, depth: int = 0) -> str:
    """``repr`` of builtin scalars and exact builtin containers, at most ``_ITEMS`` items and
    ``_DEPTH`` levels; anything else inside is described by :func:`_describe_instance`.
    Items are never sorted or compared (that would call a user's ``__lt__``/``__eq__``)."""
    cls = type(obj)
    if cls in (str, bytes):
        return repr(obj[:limit]) if len(obj) > limit else repr(obj)
    if cls in _SIMPLE:
        return repr(obj)
    if cls not in _CONTAINERS:
        return _describe_instance(obj, limit)
    if depth >= _DEPTH:
        return "[…]" if cls is list else "{…}" if cls is dict else "(…)"
    if cls is dict:
        parts = [
            f"{_bounded(k, limit, depth + 1)}: {_bounded(v, limit, depth + 1)}"
            for k, v in itertools.islice(dict.items(obj), _ITEMS)
        ]
        opening, closing = "{", "}"
    else:
        parts = [_bounded(item, limit, depth + 1) for item in itertools.islice(obj, _ITEMS)]
        opening, closing = _OPEN[cls]
        if cls is tuple and len(obj) == 1:
            closing = ",)"
    if len(obj) > _ITEMS:
        parts.append("…")
    if cls in (set, frozenset) and not parts:
        return "set()" if cls is set else "frozenset()"
    return opening + ", ".join(parts) + closing


def type_name(obj_or_type: Any) -> str:
    """``module.QualName`` of a type (or of an object's type), never raising."""
    cls = obj_or_type if issubclass(type(obj_or_type), type) else type(obj_or_type)
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    if not isinstance(qualname, str):
        qualname = "?"
    if module in (None, "builtins") or not isinstance(module, str):
        return qualname
    return f"{module}.{qualname}"


def _model_label(obj: Any) -> str | None:
    meta = getattr(type(obj), "_meta", None)
    label = getattr(meta, "label", None)
    return label if isinstance(label, str) else None


#: Standard-library value types whose ``repr`` is the standard library's own code.
_STDLIB_VALUES = frozenset(
    {
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        pathlib.PurePosixPath,
        pathlib.PosixPath,
        pathlib.PureWindowsPath,
        range,
        slice,
    }
)


def _own_repr(cls: type) -> Any:
    """The ``__repr__`` a class uses, found in the class dicts (no attribute lookup that a
    metaclass could intercept)."""
    for klass in type.__dict__["__mro__"].__get__(cls):
        found = klass.__dict__.get("__repr__")
        if found is not None:
            return found
    return None


def _describe_instance(obj: Any, limit: int) -> str:
    label = _model_label(obj)
    if label is not None and not issubclass(type(obj), type):
        pk = vars(obj).get("id", vars(obj).get("pk")) if hasattr(obj, "__dict__") else None
        return f"<{label} pk={pk!r}>" if type(pk) in _SIMPLE else f"<{label}>"
    if is_unevaluated_queryset(obj):
        model = getattr(getattr(getattr(obj, "model", None), "_meta", None), "label", "?")
        return f"<QuerySet of {model} (not evaluated)>"
    cls = type(obj)
    if cls in _STDLIB_VALUES:
        return truncate(repr(obj), limit)
    if _own_repr(cls) is not object.__repr__:
        # a __repr__ of the application's (or a library's) may run code, query or hang:
        # the class is all that is shown
        return f"<{type_name(cls)} instance>"
    return truncate(without_addresses(object.__repr__(obj)), limit)


def truncate(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}…[{len(text)} chars]"


def safe_repr(obj: Any, limit: int = DEFAULT_LIMIT) -> str:
    """A bounded description that never raises and never runs the object's own code.

    Builtin scalars and exact builtin containers of them are shown as their
    ``repr`` (bounded); model instances as ``<label pk=…>``; a class that
    defines its own ``__repr__`` (which may query, raise or hang) only by name.

    Examples
    --------
    >>> safe_repr("x" * 1000, limit=40)[:10]
    "'xxxxxxxxx"
    >>> class Bad:
    ...     def __repr__(self):
    ...         raise RuntimeError("boom")
    >>> safe_repr([Bad(), 1])
    '[<sigscope.safe.Bad instance>, 1]'
    """
    cls = type(obj)  # never isinstance(): it evaluates a LazyObject
    try:
        if cls in _CONTAINERS:  # exact types: a subclass may override __repr__/__iter__
            return truncate(without_addresses(_bounded(obj, limit)), limit)
        if issubclass(cls, type):
            label = getattr(getattr(obj, "_meta", None), "label", None)
            return label if isinstance(label, str) else f"<class {type_name(obj)}>"
        return _describe_instance(obj, limit)
    except Exception as exc:
        return f"<repr-error {type(exc).__name__} in {type_name(obj)}>"


def short_path(path: str | None) -> str:
    """A path as people read it: inside site-packages from there, else relative to the
    working directory when that is shorter."""
    if not path:
        return ""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return relative if len(relative) < len(path) else path


def short_location(location: str) -> str:
    """``file:line`` with :func:`short_path` applied to the file."""
    path, sep, line = location.rpartition(":")
    if not sep or not line.isdigit():
        return short_path(location)
    return f"{short_path(path)}:{line}"
