"""``Tracer``: start/stop recording, the ring buffer, ``unheard`` counts, the listener."""

from __future__ import annotations

import functools
import itertools
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Literal

from django.dispatch import Signal

from sigscope import _compat
from sigscope.records import BypassEvent, OnCommitCallback, SendEvent, UnheardSends
from sigscope.tracing import accel, extras, patch, record, versions
from sigscope.tracing.freeze import freeze
from sigscope.tracing.names import sender_label, signal_name
from sigscope.tracing.redact import DEFAULT_REDACT, Redactor
from sigscope.tracing.values import _model_label

__all__ = ["Tracer", "active_tracers", "trace"]

_lock = threading.RLock()
_active: list[Tracer] = []


_budget: versions.Budget = []  # the touched classes' version-tag counts before the patches


def _install() -> None:
    """The first tracer started: patch everything (the one place)."""
    _budget[:] = versions.budget()
    patch.install()
    extras.install()  # ORM bypasses and on_commit callbacks


def _uninstall() -> None:
    """The last tracer stopped: restore everything (the one place)."""
    extras.uninstall()
    patch.uninstall()
    versions.give_back(_budget)
    _budget.clear()


def _regroup() -> None:
    record.catch_all = tuple(t for t in _active if not (t._filtered or t._by_sender))
    record.filtering = tuple(t for t in _active if t._filtered or t._by_sender)
    record.record_all = any(t.record_empty for t in _active)
    alone = record.catch_all[0] if len(_active) == 1 and record.catch_all else None
    record.lone_unheard = alone._unheard if alone is not None else None
    if accel.compiled is not None:  # the C hot path's copy (it never reads record's dict)
        plain = alone if alone is not None and alone._listener is None else None
        if plain is not None and type(plain)._record is not Tracer._record:
            plain = None
        accel.compiled.regroup(
            record.catch_all, record.filtering, record.record_all, record.lone_unheard, plain
        )


def _ring_buffer(max_events: int) -> Any:
    """A tracer's ring buffer: the C path's ``Ring`` (its common sends as compact
    records, each read back as its send), else a ``deque``; both take any entry."""
    if accel.enabled and accel.compiled is not None:
        return accel.compiled.Ring(max_events)
    return deque(maxlen=max_events)


def _settle_unheard() -> None:
    """The C path's pending ``unheard`` counts into the tracers' dicts (before reading them)."""
    if accel.compiled is not None:
        accel.compiled.flush_unheard()


class Tracer:
    """Records signal sends while started.

    Parameters
    ----------
    signals
        Only these signals (``Signal`` objects or names such as ``"post_save"``
        or ``"shop.signals.order_placed"``); all when empty.
    exclude
        Never these signals (same forms), e.g. ``["pre_init", "post_init"]``.
    senders
        Only sends from these senders (model classes, or labels like ``"shop.Order"``).
    apps
        Only sends whose sender is a model class of these app labels.
    max_events
        Ring-buffer size: the oldest events are dropped (and counted) beyond it.  A kept
        send takes about 0.2 kB with the C accelerator (0.5 kB on the pure path).
    redact
        Words (case-insensitive, anywhere in a name) hidden *in addition to*
        what the project's ``DEFAULT_EXCEPTION_REPORTER_FILTER`` hides, in
        keyword-argument names and dict keys at any depth; ``None`` hides nothing.
    record_empty
        Also record sends that ran no receiver as events (they are always
        counted in :attr:`unheard`).
    reprs
        ``"safe"`` describes values without running their code; ``"full"``
        uses each value's own ``repr`` (bounded), which **can run application
        code and queries** during the send.
    listener
        Called in the sending thread with each recorded ``SendEvent`` right
        after its send returns or raises (inner sends first).  Its
        ``Exception``\\ s are counted in :attr:`listener_errors` (the first is
        warned about), never raised into the application.

    Examples
    --------
    >>> from django.dispatch import Signal
    >>> pinged = Signal()
    >>> def pong(sender, **kwargs):
    ...     return "pong"
    >>> pinged.connect(pong)
    >>> with Tracer() as t:
    ...     _ = pinged.send(sender=None, secret_token="hunter2")
    >>> [(c.name.rpartition(".")[2], c.result) for c in t.events[0].calls]
    [('pong', "'pong'")]
    >>> t.events[0].kwargs
    (('secret_token', '********************'),)
    """

    def __init__(
        self,
        *,
        signals: Iterable[Any] = (),
        exclude: Iterable[Any] = (),
        senders: Iterable[Any] = (),
        apps: Iterable[str] = (),
        max_events: int = 10_000,
        redact: Iterable[str] | None = DEFAULT_REDACT,
        record_empty: bool = False,
        reprs: Literal["safe", "full"] = "safe",
        listener: Callable[[SendEvent], None] | None = None,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if reprs not in ("safe", "full"):
            raise ValueError(f"reprs must be 'safe' or 'full', not {reprs!r}")
        from sigscope.tracing.result import Trace

        signals, exclude = tuple(signals), tuple(exclude)
        self._signal_objects = {id(s) for s in signals if _compat.is_signal(s)}
        self._signal_names = tuple(s for s in signals if type(s) is str)
        self._excluded_objects = {id(s) for s in exclude if _compat.is_signal(s)}
        self._excluded_names = tuple(s for s in exclude if type(s) is str)
        self._sender_ids = {id(s) for s in senders if type(s) is not str}
        self._sender_labels = {s for s in senders if type(s) is str}
        self._apps = set(apps)
        self._filtered = bool(signals or exclude)
        self._by_sender = bool(self._sender_ids or self._sender_labels or self._apps)
        self._redactor = Redactor(None if redact is None else tuple(redact))
        self._reprs = reprs
        self._value_options = (self._redactor, reprs)
        self.record_empty = record_empty
        self.max_events = max_events
        self._listener = listener
        self.listener_errors = 0
        #: (send, kwargs pairs), or from the C path the send (kwargs in .kw_names/.kw_values)
        self._buffer: Any = _ring_buffer(max_events)
        self._frozen: dict[int, SendEvent] = {}
        self._seen = itertools.count()  # never rebound: the C path keeps it (see clear())
        self._seen_before = 0  # what _seen had counted at the last clear()
        self._unheard: dict[Any, int] = {}
        self._unheard_names: dict[Any, tuple[Any, str | None]] = {}
        self._retired: dict[tuple[Any, str | None], int] = {}
        self._sender_refs: dict[Any, Any] = {}
        self._signal_match: dict[int, bool] = {}
        self._extras = extras.ExtraRecords(max_events, threading.Lock())
        self.trace = Trace(self)
        self.running = False

    @property
    def listener(self) -> Callable[[SendEvent], None] | None:
        """Called with each :class:`~sigscope.records.SendEvent` as it is recorded (or ``None``)."""
        return self._listener

    @listener.setter
    def listener(self, listener: Callable[[SendEvent], None] | None) -> None:
        with _lock:  # the C path's lone plain tracer is one without a listener: regroup
            self._listener = listener
            if self.running:
                _regroup()

    # -- lifecycle
    def start(self) -> Tracer:
        """Start recording (patches ``Signal`` when this is the first running tracer)."""
        with _lock:
            if self.running:
                return self
            if not _active:
                _install()
            _active.append(self)
            _regroup()
            self.running = True
        return self

    def stop(self) -> Tracer:
        """Stop recording; the last tracer to stop restores ``Signal`` exactly."""
        with _lock:
            if not self.running:
                return self
            _active.remove(self)
            _regroup()
            self.running = False
            if not _active:
                _uninstall()
        return self

    def __enter__(self) -> Any:
        self.start()
        return self.trace

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was recorded
    @property
    def events(self) -> tuple[SendEvent, ...]:
        """Recorded sends, in the order they started."""
        known = self._frozen  # only ever added to: the C ring names what it holds by id
        buffer = self._buffer
        captured = list(buffer) if type(buffer) is deque else buffer.entries(known)
        frozen = {}
        for entry in captured:
            if type(entry) is int:  # a C ring's record whose event is known
                frozen[entry] = known[entry]
                continue
            # (send, kwargs pairs), or from the C path the send, its kwargs in two fields
            send = entry[0] if type(entry) is tuple else entry
            event = known.get(send.id)
            if event is None:
                if send is entry:
                    event = freeze(send, tuple(zip(send.kw_names, send.kw_values)))
                else:
                    event = freeze(send, entry[1])
            frozen[send.id] = event
        self._frozen = frozen
        return tuple(sorted(frozen.values(), key=lambda e: e.id))

    @property
    def dropped(self) -> int:
        """Events pushed out of the ring buffer."""
        return max(0, self._count_seen() - self._seen_before - len(self._buffer))

    def _count_seen(self) -> int:
        return int(repr(self._seen)[6:-1])  # "count(N)": N sends were recorded

    @property
    def unheard(self) -> tuple[UnheardSends, ...]:
        """Sends that reached no receiver, counted per signal and sender, most first."""
        _settle_unheard()
        totals: dict[tuple[str, str | None], int] = {}
        for key, count in list(self._unheard.items()):
            holder, label = self._unheard_names.get(key, (None, None))
            name = (str(holder), label)
            totals[name] = totals.get(name, 0) + count
        for (holder, label), count in list(self._retired.items()):
            name = (str(holder), label)
            totals[name] = totals.get(name, 0) + count
        rows = [UnheardSends(signal=s, sender=who, count=n) for (s, who), n in totals.items()]
        return tuple(sorted(rows, key=lambda u: (-u.count, u.signal, u.sender or "")))

    @property
    def bypassed(self) -> tuple[BypassEvent, ...]:
        """ORM calls that skipped model signals on a model with receivers for them."""
        return self._extras.bypassed()

    @property
    def on_commit(self) -> tuple[OnCommitCallback, ...]:
        """``transaction.on_commit`` callbacks registered by receivers, and whether they ran."""
        return self._extras.on_commit()

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self._extras.clear()
        self._buffer.clear()
        self._frozen = {}
        self._seen_before = self._count_seen()
        _settle_unheard()  # the C table's counts so far go with the keys removed here
        self._unheard.clear()
        self._unheard_names.clear()
        self._retired.clear()
        self._sender_refs.clear()
        _settle_unheard()  # and a slot a send made meanwhile (another thread's) for one

    # -- recording (called by sigscope.tracing.record, in the sending thread)
    def _record(self, send: Any, kwargs: tuple[tuple[str, Any], ...]) -> None:
        self._buffer.append((send, kwargs))
        next(self._seen)
        if self._listener is not None:
            event = self._frozen[send.id] = freeze(send, kwargs)
            self._notify(event)

    def _notify(self, event: SendEvent) -> None:
        try:
            self._listener(event)  # type: ignore[misc]
        except Exception as exc:
            self.listener_errors += 1
            if self.listener_errors == 1:
                warnings.warn(
                    f"sigscope: the tracer's listener raised {type(exc).__name__}; "
                    "further errors are only counted (tracer.listener_errors)",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _count_unheard(self, signal: Signal, sender: Any) -> None:
        key: Any = (id(signal), id(sender))
        count = self._unheard.get(key)
        if count is None:
            key = self._first_unheard(key, signal, sender)
            count = self._unheard.get(key, 0)
        self._unheard[key] = count + 1

    def _first_unheard(self, key: Any, signal: Signal, sender: Any) -> Any:
        label = sender_label(sender)
        if sender is not None:
            try:
                ref = weakref.ref(sender, functools.partial(self._retire_ref, key))
            except TypeError:  # a string, an int: its id may be reused, its label may not
                key = (id(signal), "label", label)
            else:
                self._sender_refs[key] = ref  # kept, so that its callback fires
        self._unheard_names[key] = (signal_name(signal), label)
        return key

    def _retire_ref(self, key: Any, ref: Any) -> None:
        self._retire(key)

    def _retire(self, key: Any) -> None:
        """A sender died: keep its count under its name (its id may be reused)."""
        _settle_unheard()  # and the C table forgets the id: a new object may get it
        count = self._unheard.pop(key, 0)
        names = self._unheard_names.pop(key, None)
        self._sender_refs.pop(key, None)
        if names is not None and count:
            self._retired[names] = self._retired.get(names, 0) + count

    def _wants(self, signal: Signal, sender: Any) -> bool:
        if self._filtered:
            match = self._signal_match.get(id(signal))
            if match is None:
                match = self._signal_match[id(signal)] = self._matches_signal(signal)
            if not match:
                return False
        if self._by_sender:
            if id(sender) in self._sender_ids:
                return True
            if not issubclass(type(sender), type) or "_meta" not in vars(sender):
                return False
            label = _model_label(sender)
            return label in self._sender_labels or label.partition(".")[0] in self._apps
        return True

    def _matches_signal(self, signal: Signal) -> bool:
        name = str(signal_name(signal)) if self._signal_names or self._excluded_names else ""
        if id(signal) in self._excluded_objects or _named(name, self._excluded_names):
            return False
        if not (self._signal_objects or self._signal_names):
            return True
        return id(signal) in self._signal_objects or _named(name, self._signal_names)


record._plain_record = Tracer._record


def _named(name: str, wanted: tuple[str, ...]) -> bool:
    return any(name == n or name.endswith("." + n) for n in wanted)


def trace(
    *,
    signals: Iterable[Any] = (),
    exclude: Iterable[Any] = (),
    senders: Iterable[Any] = (),
    apps: Iterable[str] = (),
    max_events: int = 10_000,
    redact: Iterable[str] | None = DEFAULT_REDACT,
    record_empty: bool = False,
    reprs: Literal["safe", "full"] = "safe",
    listener: Callable[[SendEvent], None] | None = None,
) -> Tracer:
    """A :class:`Tracer`; as a context manager it gives the :class:`~sigscope.tracing.result.Trace`.

    >>> with trace() as t:  # doctest: +SKIP
    ...     order.save()
    >>> t  # a tree of sends and the receivers they ran  # doctest: +SKIP
    """
    return Tracer(
        signals=signals,
        exclude=exclude,
        senders=senders,
        apps=apps,
        max_events=max_events,
        redact=redact,
        record_empty=record_empty,
        reprs=reprs,
        listener=listener,
    )


def active_tracers() -> tuple[Tracer, ...]:
    """The tracers running now."""
    return tuple(_active)
