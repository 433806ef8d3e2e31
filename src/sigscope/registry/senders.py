"""Name every sender, without running its code.

=====================  ==================================================  ================
sender                 label                                               ``kind``
=====================  ==================================================  ================
``None``               (any sender)                                        ``any``
installed model        ``shop.Order``                                      ``model``
abstract model         ``model_utils.models.StatusModel (abstract)``       ``abstract_model``
other model class      ``shop.models.Draft (model not installed)``         ``model``
app config             ``app:shop``                                        ``app_config``
plain class            ``shop.gateways.Stripe``                            ``class``
str, int, … value      ``'billing' (shop.signals.BILLING)``                ``value``
other object           ``<shop.gateways.Stripe instance> (shop.GATEWAY)``  ``object``
nothing live matches   ``<unknown sender #1>``                             ``unknown``
=====================  ==================================================  ================

Values and objects are named by the module global or class attribute bound to
them (found by identity in modules already in ``sys.modules``; nothing is
imported).  Before Django 6.0 Django keeps only ``id(sender)``: for a str or an
int that is the only way back to it.  Values are shown with a bounded
``repr`` of builtin types only; objects by their type, never their ``repr``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from itertools import compress
from typing import Any

from sigscope import _compat
from sigscope.records import SenderInfo
from sigscope.registry.walk import class_dict, module_dicts, walk_namespaces
from sigscope.safe import safe_repr, type_name

__all__ = ["SenderIndex", "bound_names", "describe_sender", "module_dicts", "sender_label"]

_VALUE_TYPES = (str, bytes, int, float, complex, bool)


def _model_meta(cls: Any) -> Any:
    """The class's own ``_meta`` (``Options``), read from its ``__dict__``, or ``None``."""
    from django.db.models.options import Options

    meta = class_dict(cls).get("_meta")
    return meta if issubclass(type(meta), Options) else None


def _is_value(obj: Any) -> bool:
    cls = type(obj)
    if cls in _VALUE_TYPES:
        return True
    return cls is tuple and len(obj) <= 8 and all(type(x) in _VALUE_TYPES for x in obj)


def sender_label(obj: Any, *, bound_as: str | None = None) -> str | None:
    """How a sender is shown, in a snapshot and in a trace (``None`` for no sender).

    Cheap and safe: no ``repr`` of user objects, no lazy evaluation.  ``bound_as``
    is the dotted name a module binds the object to (see :func:`bound_names`).

    Examples
    --------
    >>> sender_label("billing", bound_as="shop.signals.BILLING")
    "'billing' (shop.signals.BILLING)"
    >>> sender_label(7)
    '7'
    """
    return describe_sender(obj, bound_as=bound_as).label


def describe_sender(sender: Any, *, bound_as: str | None = None) -> SenderInfo:
    """The :class:`~sigscope.records.SenderInfo` of a live sender (see the module table)."""
    if sender is None:
        return SenderInfo("any", None, _compat.NONE_ID)
    cls = type(sender)
    if issubclass(cls, type):
        return _describe_class(sender)
    from django.apps import AppConfig

    if issubclass(cls, AppConfig):
        label = vars(sender).get("label") or class_dict(cls).get("label")
        return SenderInfo("app_config", f"app:{label}", id(sender), type_name(cls))
    if _is_value(sender):
        shown = safe_repr(sender, 60)
        kind = "value"
    else:
        shown, kind = f"<{type_name(cls)} instance>", "object"
    label = f"{shown} ({bound_as})" if bound_as else shown
    return SenderInfo(kind, label, id(sender), bound_as)


def _describe_class(cls: Any) -> SenderInfo:
    path = type_name(cls)
    meta = _model_meta(cls)
    if meta is None:
        return SenderInfo("class", path, id(cls), path)
    if meta.abstract:
        return SenderInfo("abstract_model", f"{path} (abstract)", id(cls), path)
    label = meta.label
    from django.apps import apps

    installed = apps.all_models.get(meta.app_label, {}).get(meta.model_name) is cls
    return SenderInfo(
        "model", label if installed else f"{path} (model not installed)", id(cls), path
    )


def bound_names(wanted: Iterable[int], *, prefer: Iterable[str] = ()) -> dict[int, tuple[str, Any]]:
    """``id → (dotted name, object)`` for objects bound as module globals or class attributes.

    One pass over the modules already loaded (``sys.modules``); nothing is
    imported and no attribute is read through ``getattr``.  When several names
    bind one object, a name in a ``prefer``red package (the project's apps) wins,
    then the shortest.  Values (a str, an int) are only named from ``prefer``red
    packages when any are given: ``1`` is bound all over the standard library.
    """
    want = set(wanted)
    packages = tuple(prefer)
    found = walk_namespaces(set(), want)[1] if want else {}
    return {key: best for key, names in found.items() if (best := _best(names, packages))}


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name.startswith(p + ".") for p in packages) or name.startswith("__main__.")


def _best(names: list[tuple[str, Any]], packages: tuple[str, ...]) -> tuple[str, Any] | None:
    ours = [n for n in names if _in(n[0], packages)]
    if packages and _is_value(names[0][1]) and not ours:
        return None
    pool = ours or names
    return min(pool, key=lambda n: (n[0].count("."), len(n[0]), n[0]))


class SenderIndex:
    """Resolve the ``id()`` Django keeps for a sender back to a description.

    Use: :meth:`prime` with every entry, :meth:`resolve` once, then :meth:`final`.
    """

    def __init__(self, app_registry: Any, *, project_packages: Iterable[str] = ()) -> None:
        self._by_id: dict[int, SenderInfo] = {}
        for model in _compat.registered_models(app_registry):
            meta = model._meta
            self._by_id[id(model)] = SenderInfo("model", meta.label, id(model), type_name(model))
        for config in _compat.app_configs(app_registry):
            info = SenderInfo("app_config", f"app:{config.label}", id(config), type_name(config))
            self._by_id[id(config)] = info
        self._packages = tuple(project_packages)
        self._objects: dict[int, Any] = {}  # senders Django 6.0+ still references
        self._wanted: set[int] = set()
        self._unknown: dict[int, SenderInfo] = {}

    def prime(self, entries: Iterable[_compat.RawEntry]) -> None:
        """Note every entry's sender; :meth:`resolve` then names them all at once."""
        for entry in entries:
            if entry.sender_id == _compat.NONE_ID or entry.sender_id in self._by_id:
                continue
            known, sender = entry.resolve_sender()
            if known and sender is not None:
                self._objects[id(sender)] = sender
            elif not known:
                self._wanted.add(entry.sender_id)

    def wanted(self) -> set[int]:
        """Ids to look for in module namespaces (:func:`walk_namespaces`' ``want``)."""
        nameable = {k for k, o in self._objects.items() if not issubclass(type(o), type)}
        return (self._wanted - self._objects.keys()) | nameable

    def resolve(
        self,
        *,
        heap: list[Any] | Callable[[], list[Any]] | None = None,
        bindings: dict[int, list[tuple[str, Any]]] | None = None,
    ) -> None:
        """Name every primed sender from one namespace walk (``bindings``: a walk for
        :meth:`wanted` already done, else one is done here); live objects are searched (ids
        only, Django < 6) only for senders that nothing binds.

        ``heap``: the ``gc.get_objects()`` list to search, or a function returning it
        (called only when needed); by default the heap is read then.
        """
        missing = self._wanted - self._objects.keys()
        if bindings is None:
            want = self.wanted()
            bindings = walk_namespaces(set(), want)[1] if want else {}
        for key in missing & bindings.keys():
            value = bindings[key][0][1]
            if gc.is_tracked(value):  # the heap holds it: found there as well
                self._objects[key] = value
        unbound = missing - bindings.keys()
        if unbound:
            if heap is None:
                objects = gc.get_objects()
            else:
                objects = heap if isinstance(heap, list) else heap()
            for obj in compress(objects, map(unbound.__contains__, map(id, objects))):
                self._objects[id(obj)] = obj
            del objects
        self._describe_all(bindings)

    def _describe_all(self, bindings: dict[int, list[tuple[str, Any]]]) -> None:
        asked = {k for k, o in self._objects.items() if not issubclass(type(o), type)}
        asked |= self._wanted - self._objects.keys()
        names = {
            key: best
            for key in asked
            if key in bindings and (best := _best(bindings[key], self._packages))
        }
        for key, (_, obj) in names.items():
            self._objects.setdefault(key, obj)
        for key, obj in self._objects.items():
            bound = names.get(key)
            self._by_id[key] = describe_sender(obj, bound_as=bound[0] if bound else None)
        self._objects.clear()

    def final(self, entry: _compat.RawEntry) -> SenderInfo:
        sender_id = entry.sender_id
        if sender_id == _compat.NONE_ID:
            return _ANY
        sender_ref = entry.sender_ref  # Django 6.0+: a dead sender is known to be dead
        if sender_ref is not None and sender_ref() is None:
            return SenderInfo("dead", "<garbage-collected sender>", sender_id)
        found = self._by_id.get(sender_id)
        if found is None:
            found = self._unknown.get(sender_id)
        if found is None:
            label = f"<unknown sender #{len(self._unknown) + 1}>"
            found = self._unknown[sender_id] = SenderInfo("unknown", label, sender_id)
        return found


#: ``sender=None``: one record shared by every such registration (records are frozen).
_ANY = SenderInfo("any", None, _compat.NONE_ID)
