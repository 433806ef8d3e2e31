"""The only module that reads Django's private dispatcher and app-registry state.

Django's ``Signal.receivers`` entries changed shape across versions:

=========  ==============================================
Django     entry
=========  ==============================================
4.2        ``(lookup_key, ref)``
5.0-5.2    ``(lookup_key, ref, is_async)``
6.0+       ``(lookup_key, ref, sender_ref, is_async)``
=========  ==============================================

``lookup_key`` is ``(dispatch_uid or _make_id(receiver), _make_id(sender))``;
``ref`` is a ``weakref.ref``/``weakref.WeakMethod`` for weak receivers and the
receiver itself for strong ones.  Everything here only *reads*: no lock is
taken (``Signal.lock`` is not reentrant and a snapshot may run inside a
receiver), no dead entry is pruned, and no ``defaultdict`` is indexed (that
would insert keys).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import django
from django.dispatch import Signal
from django.dispatch.dispatcher import NO_RECEIVERS as _NO_RECEIVERS

from sigscope.static import defines_any, static_lookup

DJANGO_VERSION: tuple[int, int] = (django.VERSION[0], django.VERSION[1])
HAS_ASYNC_SIGNALS = DJANGO_VERSION >= (5, 0)
HAS_SENDER_REF = DJANGO_VERSION >= (6, 0)

#: ``_make_id(None)``: the sender half of a lookup key meaning "any sender".
NONE_ID = id(None)

#: Modules that define Django's own signals, per version (checked against the source).
BUILTIN_SIGNAL_MODULES: tuple[str, ...] = (
    "django.core.signals",
    "django.db.models.signals",
    "django.db.backends.signals",
    "django.test.signals",
    "django.contrib.auth.signals",
    "django.utils.autoreload",
) + (("django.tasks.signals",) if DJANGO_VERSION >= (6, 0) else ())


class RawEntry(NamedTuple):
    """One ``Signal.receivers`` entry, the same shape on every Django."""

    position: int
    receiver_key: Any  # dispatch_uid, id(receiver) or (id(self), id(func))
    sender_id: int
    ref: Any  # the weakref, or the receiver itself when strong
    sender_ref: Any  # 6.0+: weakref to the sender, else None
    is_async: bool | None  # None on 4.2, where Django has no async receivers

    @property
    def weak(self) -> bool:
        return isinstance(self.ref, weakref.ReferenceType)

    def resolve(self) -> Any:
        """The live receiver, or ``None`` when a weak one was collected."""
        return self.ref() if self.weak else self.ref

    def resolve_sender(self) -> tuple[bool, Any]:
        """``(known, sender)``: only Django 6.0+ keeps a way back to the sender."""
        if self.sender_ref is None:
            return False, None
        return True, self.sender_ref()


def is_signal(obj: Any) -> bool:
    """True for a ``Signal`` (or subclass) instance, without touching lazy objects."""
    try:
        return issubclass(type(obj), Signal)
    except Exception:  # a metaclass whose __subclasscheck__ raises
        return False


def raw_entries(signal: Signal) -> list[RawEntry]:
    """Decode ``signal.receivers`` into :class:`RawEntry` records, in Django's order."""
    entries = []
    for index, entry in enumerate(list(signal.receivers)):
        if len(entry) == 2:
            (key, ref), sender_ref, is_async = entry, None, None
        elif len(entry) == 3:
            key, ref, is_async = entry
            sender_ref = None
        else:
            key, ref, sender_ref, is_async = entry[:4]
        receiver_key, sender_id = key
        entries.append(RawEntry(index, receiver_key, sender_id, ref, sender_ref, is_async))
    return entries


def dead_method_function(ref: Any) -> Any:
    """For a dead ``WeakMethod``: its function (usually still alive on the class), or None."""
    func_ref = getattr(ref, "_func_ref", None)
    return func_ref() if isinstance(func_ref, weakref.ReferenceType) else None


def cached_no_receivers(signal: Signal, sender: Any) -> bool:
    """Django already knows ``signal.send(sender)`` has no receivers (a caching ``ModelSignal``).

    Reads ``sender_receivers_cache`` the way ``Signal.send`` does; a sender the
    cache cannot hold (``None`` or a string on a ``ModelSignal``) is left for
    Django to reject with its own error.
    """
    cache = signal.sender_receivers_cache
    if not cache:
        return False
    try:
        return cache.get(sender) is _NO_RECEIVERS
    except TypeError:
        return False


#: The dispatcher's private method a tracer wraps to time receivers.
LIVE_RECEIVERS = "_live_receivers"
_ref = weakref.ref


#: Django's marker of "this sender has no receivers" in ``sender_receivers_cache``
#: (``sigscope.tracing._speedups`` transcribes :func:`no_receivers_cached` with it).
NO_RECEIVERS = _NO_RECEIVERS


_C_SLOT = type(object.__dict__["__hash__"])  # a wrapper_descriptor: a C slot
#: id(class): (weakref to it, answer), one dict per question
_reads: dict[int, tuple[Any, bool]] = {}
_hashes: dict[int, tuple[Any, bool]] = {}
#: What Django's send reads first, and what would make reading them run code.
_SEND_READS = ("__getattr__", "__getattribute__", "receivers", "sender_receivers_cache")


def _answer(answers: dict[int, tuple[Any, bool]], cls: type, compute: Any) -> bool:
    entry = answers.get(id(cls))
    if entry is not None and entry[0]() is cls:
        return bool(entry[1])
    answer = bool(compute(cls))
    key = id(cls)

    def forget(ref: Any) -> None:  # the class died: its address may be another's next
        if answers.get(key, (None,))[0] is ref:
            del answers[key]

    answers[key] = (weakref.ref(cls, forget), answer)  # every class takes weak references
    return answer


def _reads_quietly(cls: type) -> bool:
    return not defines_any(cls, _SEND_READS)


def _hashes_quietly(cls: type) -> bool:
    found, hash_slot = static_lookup(cls, "__hash__")
    return not found or hash_slot is None or type(hash_slot) is _C_SLOT


def signal_reads_quietly(signal: Signal) -> bool:
    """Reading ``signal.receivers`` and ``signal.sender_receivers_cache`` runs no code of
    the application: its class customizes neither attribute access nor those names.

    Else a tracer does not read them ahead of Django's ``send`` (which does): a subclass's
    ``__getattribute__`` or property runs as often as without tracing.  The answer is kept
    per class (the C path also notices a class changed since; this one does not).
    """
    return _answer(_reads, type(signal), _reads_quietly)


def hashes_quietly(sender: Any) -> bool:
    """``hash(sender)`` runs no code of the application (a C ``__hash__``, or none)."""
    return _answer(_hashes, type(sender), _hashes_quietly)


def no_receivers_cached(signal: Signal, sender: Any) -> bool:
    """:func:`cached_no_receivers` for the tracer's hot path (one probe, no Python-level get).

    A sender whose ``__hash__`` is Python code is not looked up (False): Django's own
    lookup runs it, a tracer's would run it once more.
    """
    cache = signal.sender_receivers_cache
    plain = type(cache) is dict
    if (plain and not cache) or not hashes_quietly(sender):
        return False
    if plain:
        try:
            return cache.get(sender) is _NO_RECEIVERS
        except TypeError:
            return False
    try:
        return cache.data.get(_ref(sender)) is _NO_RECEIVERS  # type: ignore[attr-defined]
    except (TypeError, AttributeError):
        return False


def make_id(obj: Any) -> Any:
    """Django's ``_make_id``: how a receiver or sender is keyed."""
    if hasattr(obj, "__func__"):
        return (id(obj.__self__), id(obj.__func__))
    return id(obj)


def is_dead_flagged(signal: Signal) -> bool:
    """Django noticed a weak receiver died but has not pruned it yet."""
    return bool(getattr(signal, "_dead_receivers", False))


@dataclass(frozen=True, slots=True)
class RawPending:
    """A lazy ``connect`` waiting in ``apps._pending_operations``."""

    model_key: tuple[str, str]
    signal: Signal
    receiver: Any
    weak: bool
    dispatch_uid: Any


def pending_connects(app_registry: Any) -> Iterator[RawPending]:
    """Lazy ``Signal.connect`` calls still waiting for their model.

    ``ModelSignal._lazy_method`` wraps ``partial(signal.connect, receiver, **kw)``
    in ``Apps.lazy_model_operation``, which queues an ``apply_next_model``
    closure whose ``.func`` is that partial.  Other pending operations (lazy
    relations) are skipped.
    """
    pending = getattr(app_registry, "_pending_operations", {})
    for model_key, functions in list(pending.items()):
        for function in list(functions):
            connect = _connect_partial(function)
            if connect is None:
                continue
            kwargs = connect.keywords or {}
            yield RawPending(
                model_key=(model_key[0], model_key[1]),
                signal=connect.func.__self__,
                receiver=connect.args[0] if connect.args else kwargs.get("receiver"),
                weak=bool(kwargs.get("weak", True)),
                dispatch_uid=kwargs.get("dispatch_uid"),
            )


def _connect_partial(function: Any) -> Any:
    inner = getattr(function, "func", None)
    for _ in range(4):  # apply_next_model.func may itself be a chained partial
        method = getattr(inner, "func", None)
        if getattr(method, "__name__", None) == "connect" and is_signal(
            getattr(method, "__self__", None)
        ):
            return inner
        inner = method
        if inner is None:
            return None
    return None


def registered_models(app_registry: Any) -> list[Any]:
    """Every model class registered, auto-created m2m ``through`` models included.

    Reads ``all_models`` rather than ``get_models()``, which raises before the
    registry is ready.
    """
    models: list[Any] = []
    for app_models in list(getattr(app_registry, "all_models", {}).values()):
        models.extend(list(app_models.values()))
    return models


def app_configs(app_registry: Any) -> list[Any]:
    return list(getattr(app_registry, "app_configs", {}).values())


def is_unevaluated_queryset(obj: Any) -> bool:
    """A ``QuerySet`` whose ``repr`` would run a query."""
    try:
        from django.db.models.query import QuerySet

        return issubclass(type(obj), QuerySet) and obj._result_cache is None
    except Exception:
        return False


def debug_cache_holders() -> tuple[Any, ...]:
    """Objects Django's DEBUG-only ``func_accepts_kwargs`` cache uses as keys.

    ``Signal.connect`` (with ``DEBUG=True``) calls ``func_accepts_kwargs``,
    which goes through ``functools.lru_cache`` on ``_get_func_parameters``; the
    C implementation keys entries with a tuple of the arguments, so a receiver
    referenced only from such a tuple is kept alive by the cache alone.
    """
    return ("remove_first",)


def live_receivers_for(signal: Signal, sender: Any) -> list[Any]:
    """The receivers ``signal.send(sender)`` would run now, read without side effects.

    What ``Signal._live_receivers`` returns (sync and async together, in
    registration order) but without taking the lock, pruning dead entries or
    filling ``sender_receivers_cache``; unlike ``has_listeners()`` it changes
    nothing Django later decides.
    """
    if not signal.receivers or cached_no_receivers(signal, sender):
        return []
    wanted = make_id(sender)
    live = []
    for entry in raw_entries(signal):
        if entry.sender_id != NONE_ID and entry.sender_id != wanted:
            continue
        if entry.sender_ref is not None and entry.sender_ref() is None:
            continue
        receiver = entry.resolve()
        if receiver is not None:
            live.append(receiver)
    return live


def pending_on_commit(connection: Any) -> list[Any]:
    """The callbacks a connection will run when its outermost atomic block commits.

    ``BaseDatabaseWrapper.run_on_commit`` is a list of ``(savepoint ids, func,
    robust)``; Django replaces it with ``[]`` on commit and rollback and filters
    it on a savepoint rollback.
    """
    return [entry[1] for entry in list(getattr(connection, "run_on_commit", ()))]
