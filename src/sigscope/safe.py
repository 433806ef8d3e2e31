"""Describe foreign objects without letting them hurt us.

A user's ``__repr__`` may raise, be a megabyte long, or run a query
(a model's ``__str__`` following a foreign key, an unevaluated ``QuerySet``).
:func:`safe_repr` never raises, bounds its output, and never calls the
``__repr__``/``__str__`` of a Django model instance or an unevaluated
queryset: those are described from their class and primary key instead.
"""

from __future__ import annotations

import os
import re
import reprlib
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

#: `` at 0x7f…`` in default reprs: a memory address differs on every run.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def without_addresses(text: str) -> str:
    """``text`` with memory addresses (`` at 0x7f3a…``) removed, so output is stable.

    >>> without_addresses("<shop.Cart object at 0x7f3a2c1d>")
    '<shop.Cart object>'
    """
    return _ADDRESS.sub("", text) if "0x" in text else text


class _BoundedRepr(reprlib.Repr):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxstring = min(limit, 120)
        self.maxother = limit
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = 8

    def repr_instance(self, obj: Any, level: int) -> str:
        return _describe_instance(obj, self.maxother)


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


def _describe_instance(obj: Any, limit: int) -> str:
    label = _model_label(obj)
    if label is not None and not issubclass(type(obj), type):
        pk = vars(obj).get("id", vars(obj).get("pk")) if hasattr(obj, "__dict__") else None
        return f"<{label} pk={pk!r}>"
    if is_unevaluated_queryset(obj):
        model = getattr(getattr(getattr(obj, "model", None), "_meta", None), "label", "?")
        return f"<QuerySet of {model} (not evaluated)>"
    try:
        text = repr(obj)
    except Exception as exc:
        return f"<repr-error {type(exc).__name__} in {type_name(obj)}>"
    if not isinstance(text, str):
        return f"<{type_name(obj)} object>"
    return truncate(without_addresses(text), limit)


def truncate(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}…[{len(text)} chars]"


def safe_repr(obj: Any, limit: int = DEFAULT_LIMIT) -> str:
    """A bounded ``repr`` that never raises and never queries the database.

    Examples
    --------
    >>> safe_repr("x" * 1000, limit=40)[:10]
    "'xxxxxxxxx"
    >>> class Bad:
    ...     def __repr__(self):
    ...         raise RuntimeError("boom")
    >>> safe_repr(Bad()).startswith("<repr-error RuntimeError")
    True
    """
    cls = type(obj)  # never isinstance(): it evaluates a LazyObject
    try:
        if issubclass(cls, (*_SIMPLE, list, tuple, set, frozenset, dict)):
            return truncate(without_addresses(_BoundedRepr(limit).repr(obj)), limit)
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
