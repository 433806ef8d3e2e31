"""Keep the scanned sites whose targets are live signals and models.

A candidate's dotted path (``shop.signals.order_placed``) is looked up in
``sys.modules`` and then in module and class namespaces, by dictionary lookups
only: nothing is imported, no descriptor or ``__getattr__`` runs.  A path whose
module is not imported resolves to nothing, so its sites are left out — such a
module's signals are not live either.
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sigscope import _compat
from sigscope.records import BypassSite, SendSite, SignalInfo
from sigscope.registry.sites import FileSites

__all__ = ["attach_sites", "lookup"]

_MISSING = object()


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name`` for a module (its ``__dict__``) or a class (its MRO's ``__dict__``s)."""
    cls = type(obj)
    if issubclass(cls, types.ModuleType):
        try:
            namespace = object.__getattribute__(obj, "__dict__")
        except Exception:
            return _MISSING
        return namespace.get(name, _MISSING) if type(namespace) is dict else _MISSING
    if issubclass(cls, type):
        for klass in type.__getattribute__(obj, "__mro__"):
            namespace = type.__getattribute__(klass, "__dict__")
            if name in namespace:
                return namespace[name]
    return _MISSING


def lookup(dotted: str) -> Any:
    """The live object a dotted path names, through already-imported modules only
    (``None`` when there is none).

    >>> lookup("django.db.models.signals.post_save").__class__.__name__
    'ModelSignal'
    >>> lookup("no_such_module_anywhere.thing") is None
    True
    """
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is None:
            continue
        for attr in parts[i:]:
            obj = _attribute(obj, attr)
            if obj is _MISSING:
                return None
        return obj
    return None


def _is_manager(model: Any, name: str) -> bool:
    from django.db.models.manager import ManagerDescriptor

    return issubclass(type(_attribute(model, name)), ManagerDescriptor)


def attach_sites(
    signals: Iterable[SignalInfo], files: Iterable[FileSites], app_registry: Any
) -> tuple[list[SignalInfo], tuple[BypassSite, ...]]:
    """``signals`` with their ``sent_from`` filled in, and the bypass sites on live models."""
    signals = list(signals)
    names = {s.obj_id: s.name for s in signals}
    models = {id(m): m for m in _compat.registered_models(app_registry)}
    sent: dict[str, list[SendSite]] = defaultdict(list)
    bypasses: list[BypassSite] = []
    cache: dict[str, Any] = {}

    def resolve(dotted: str) -> Any:
        if dotted not in cache:
            cache[dotted] = lookup(dotted)
        return cache[dotted]

    for f in files:
        for s in f.sends:
            name = names.get(id(resolve(s.target)))
            if name is None:
                continue
            model = models.get(id(resolve(s.sender_target))) if s.sender_target else None
            label = model._meta.label if model is not None else None
            sent[name].append(SendSite(f.path, s.line, s.function, s.method, s.sender, label))
        for b in f.bypasses:
            model = models.get(id(resolve(b.target)))
            if model is not None and _is_manager(model, b.manager):
                bypasses.append(
                    BypassSite(f.path, b.line, b.function, b.operation, model._meta.label)
                )
    result = [
        dataclasses.replace(s, sent_from=tuple(sorted(sent[s.name], key=_where)))
        if s.name in sent
        else s
        for s in signals
    ]
    return result, tuple(sorted(bypasses, key=_where))


def _where(site: SendSite | BypassSite) -> tuple[str, int]:
    return (site.file, site.line)
