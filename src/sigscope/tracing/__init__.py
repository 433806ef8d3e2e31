"""Record every signal send without changing what Django does.

Design
------
While at least one :class:`Tracer` runs, ``Signal.send``, ``send_robust``,
``asend`` and ``asend_robust`` are replaced *on the class* (so every signal,
subclass and signal created later is covered) and ``Signal._live_receivers``
is wrapped.  With no tracer running the original attributes are back,
identical objects: zero cost.

* **Sync receivers are not wrapped.**  ``_live_receivers`` returns the same
  receivers in a list whose iterator notes the time between Django's calls
  (:class:`_TimedReceivers`).  Django therefore calls, returns, logs (its
  ``receiver.__qualname__``) and raises exactly as it would.
* **Async receivers** (Django 5.0+) are wrapped, because a coroutine's run
  cannot be timed from outside; the patched send methods hand Django's
  responses back with the original receivers, and the wrapper forwards every
  attribute (``__qualname__`` included) to the receiver.
* **Nesting**: a send made inside a receiver records ``(send id, call index)``
  as its parent, found from (in order) the running asyncio task's receiver,
  a context variable (inherited by ``sync_to_async`` threads and child tasks),
  and, for a ``threading.Thread`` started inside a receiver, the parent
  captured when it started.
* **Nothing is kept alive**: events hold text and numbers only; receivers,
  senders and kwargs are described (safe, bounded reprs) before the send
  returns.  The kwargs and results of model instances and querysets are
  described from their class and pk, never by running a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import re
import threading
import time
import traceback
import types
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import Model as _Model
from django.dispatch import Signal

from sigscope import _compat
from sigscope.describe import describe_callable
from sigscope.records import CallableInfo, ErrorInfo, ReceiverCall, SendEvent
from sigscope.safe import safe_repr, truncate

__all__ = ["DEFAULT_REDACT", "Tracer", "trace"]

#: Keyword-argument names whose values are never recorded (case-insensitive, any part).
DEFAULT_REDACT = ("password", "passwd", "secret", "token", "cookie", "authorization", "key")
METHODS = ("send", "send_robust", "asend", "asend_robust")
REPR_LIMIT = 200

_clock = time.perf_counter_ns
#: Wall-clock time of a perf-counter reading, to date events without time.time() per send.
_WALL0, _CLOCK0 = time.time(), _clock()
_ids = itertools.count(1)
_lock = threading.RLock()
_active: list[Tracer] = []
_originals: dict[str, Any] = {}
_installed: dict[str, Any] = {}
#: The innermost sync send (``_Send``) or async receiver call (``_AsyncCall``) in this context.
_current: contextvars.ContextVar[Any] = contextvars.ContextVar("sigscope_current", default=None)
#: asyncio task -> the async receiver call it is running.
_task_calls: dict[Any, _AsyncCall] = {}
#: Set once a thread was started inside a receiver (then new sends look for its mark).
_threads_marked = False


# --------------------------------------------------------------------------- recording


class _Send:
    """A send in progress (mutable, internal); frozen into a ``SendEvent`` when it ends."""

    __slots__ = (
        "async_calls",
        "end",
        "error",
        "id",
        "infos",
        "marks",
        "method",
        "n_async",
        "n_sync",
        "parent",
        "results",
        "sender",
        "signal",
        "signal_id",
        "start",
        "sync",
        "task",
        "task_key",
        "thread_id",
        "tracers",
        "wired",
    )

    def __init__(
        self, signal: Signal, method: str, tracers: tuple[Tracer, ...], sender: Any
    ) -> None:
        self.id = next(_ids)
        self.signal_id = id(signal)
        self.wired = False
        self.signal = _signal_name(signal)
        self.method = method
        self.tracers = tracers
        self.sender = _sender_label(sender)
        loop = _get_running_loop()
        task = _current_task(loop) if loop is not None else None
        self.parent = _parent(task)
        if task is None:
            self.task_key, self.task = 0, None
        else:
            self.task_key, self.task = id(task), _task_name(task)
        self.marks: list[int] = []
        self.sync: list[Any] = _EMPTY
        self.n_sync = self.n_async = self.end = self.thread_id = 0
        self.async_calls: list[_AsyncCall] = _EMPTY
        self.error: ErrorInfo | None = None
        self.infos: tuple[CallableInfo, ...] = ()
        self.results: list[Any] = _EMPTY
        self.start = _clock()


class _AsyncCall:
    """An async receiver's run (its wrapper records it)."""

    __slots__ = ("duration", "error", "id", "index", "info", "result", "send", "start")

    def __init__(self, send: _Send, index: int, receiver: Any) -> None:
        self.id = next(_ids)
        self.send, self.index = send, index
        self.info = _identity(receiver)
        self.duration = self.start = 0
        self.result: str | None = None
        self.error: ErrorInfo | None = None


class _TimedReceivers(list[Any]):
    """Django's own receivers; iterating notes when each one starts."""

    __slots__ = ("_send",)
    _send: _Send

    def __iter__(self) -> Iterator[Any]:
        # While receiver i runs, len(marks) == i + 1: that is how nested sends find it.
        marks, clock = self._send.marks, _clock
        for receiver in list.__iter__(self):
            marks.append(clock())
            yield receiver
        marks.append(clock())


class _AsyncReceiver:
    """Wraps one async receiver for one send: times it, forwards every attribute."""

    __slots__ = ("_sigscope_index", "_sigscope_receiver", "_sigscope_send")

    def __init__(self, receiver: Any, send: _Send, index: int) -> None:
        self._sigscope_receiver = receiver
        self._sigscope_send = send
        self._sigscope_index = index

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sigscope_receiver, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(args, kwargs)

    async def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        send = self._sigscope_send
        call = _AsyncCall(send, self._sigscope_index, self._sigscope_receiver)
        if send.async_calls is _EMPTY:
            send.async_calls = []
        send.async_calls.append(call)
        task = _current_task_object()
        previous = _task_calls.get(task) if task is not None else None
        if task is not None:
            _task_calls[task] = call
        token = _current.set(call)
        start = call.start = _clock()
        try:
            result = await self._sigscope_receiver(*args, **kwargs)
        except BaseException as exc:
            call.duration = _clock() - start
            call.error = _error_info(exc)
            raise
        finally:
            _restore(token)
            if task is not None:
                if previous is None:
                    _task_calls.pop(task, None)
                else:
                    _task_calls[task] = previous
        call.duration = _clock() - start
        call.result = _value(result)
        return result


def _restore(token: contextvars.Token[Any]) -> None:
    # A reset from another context (Django 6.1 shares one between async receivers) fails:
    # the task map then tells whose call it is, so this is best effort.
    with contextlib.suppress(ValueError):
        _current.reset(token)


def _unwrap_receiver(receiver: Any) -> Any:
    if type(receiver) is _AsyncReceiver:
        return receiver._sigscope_receiver
    return receiver


def _current_task_object() -> Any:
    loop = asyncio._get_running_loop()
    return asyncio.current_task(loop) if loop is not None else None


def _task_name(task: Any) -> str | None:
    if task is None:
        return None
    try:
        return str(task.get_name())
    except Exception:
        return "<task>"


_get_running_loop = asyncio._get_running_loop
_current_task = asyncio.current_task
#: Shared, never mutated: replaced by a new list before anything is added.
_EMPTY: list[Any] = []


def _parent(task: Any) -> tuple[int, int] | None:
    """``(send id, call index)`` of the receiver the current code runs in, if any."""
    current = _current.get()
    if task is not None:
        call = _task_calls.get(task)
        if call is not None and not (
            type(current) is _Send and current.task_key == id(task) and current.id > call.id
        ):
            return (call.send.id, call.index)
    if type(current) is _Send:
        index = len(current.marks) - 1
        if 0 <= index < current.n_sync:
            return (current.id, index)
    elif current is not None:
        return (current.send.id, current.index)
    if not _threads_marked:
        return None
    parent = getattr(threading.current_thread(), "_sigscope_parent", None)
    return parent if type(parent) is tuple else None


# --------------------------------------------------------------------------- describing

_identities: dict[Any, tuple[Any, CallableInfo]] = {}


def _identity(receiver: Any) -> CallableInfo:
    """``describe_callable``, cached per live function (validated by a weak reference)."""
    key: Any
    if type(receiver) is types.MethodType:
        target, key = receiver.__func__, (id(receiver.__self__), id(receiver.__func__))
    else:
        target, key = receiver, id(receiver)
    cached = _identities.get(key)
    if cached is not None and cached[0]() is target:
        return cached[1]
    info = describe_callable(receiver)
    try:
        ref = weakref.ref(target)
    except TypeError:
        return info
    if len(_identities) > 50_000:
        _identities.clear()
    _identities[key] = (ref, info)
    return info


class _SignalName:
    """A signal's canonical name, resolved on first read (a module scan is not cheap)."""

    __slots__ = ("name", "ref")

    def __init__(self, signal: Signal) -> None:
        self.ref = weakref.ref(signal)
        self.name: str | None = None

    def __str__(self) -> str:
        if self.name is None:
            _resolve_signal_names()
        return self.name or "<signal>"


_signal_names: dict[int, _SignalName] = {}


def _signal_name(signal: Signal) -> Any:
    holder = _signal_names.get(id(signal))
    if holder is None or holder.ref() is not signal:
        holder = _signal_names[id(signal)] = _SignalName(signal)
    return holder


def _resolve_signal_names() -> None:
    from sigscope.registry import find_signals

    names = {id(s): name for s, name, _ in find_signals()}
    for key, holder in list(_signal_names.items()):
        if holder.name is None:
            signal = holder.ref()
            if signal is None:
                holder.name = f"<signal at {key:#x}, gone>"
            else:
                holder.name = names.get(key, f"<{type(signal).__name__} at {key:#x}>")


_sender_labels: dict[int, tuple[Any, str]] = {}


def _sender_label(sender: Any) -> str | None:
    if sender is None:
        return None
    cached = _sender_labels.get(id(sender))
    if cached is not None and cached[0]() is sender:
        return cached[1]
    label = safe_repr(sender, 120)
    if issubclass(type(sender), type):
        with contextlib.suppress(TypeError):
            _sender_labels[id(sender)] = (weakref.ref(sender), label)
    return label


def _value(value: Any) -> str:
    """A safe repr, with fast paths for what receivers usually return."""
    if value is None:
        return "None"
    cls = type(value)
    if cls is bool or cls is int:
        return repr(value)
    if cls is str and len(value) <= REPR_LIMIT - 2:
        return repr(value)
    meta = cls.__dict__.get("_meta") if issubclass(cls, _Model) else None
    if meta is not None:  # a model instance: its label and pk, never its __str__ (a query?)
        return f"<{meta.label} pk={value.__dict__.get(meta.pk.attname)!r}>"
    return safe_repr(value, REPR_LIMIT)


def _error_info(exc: BaseException) -> ErrorInfo:
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        text = ""
    return ErrorInfo(type(exc).__qualname__, _message(exc), text[-20_000:])


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception as inner:
        return f"<str-error {type(inner).__name__}>"
    if not isinstance(text, str):
        return f"<{type(exc).__qualname__}>"
    return truncate(text, 500)


# --------------------------------------------------------------------------- freezing


def _capture(send: _Send, responses: Any, end: int) -> None:
    """While the receivers and values are alive: turn what is needed into text and ids."""
    send.end = end
    ident = threading.get_ident()
    send.thread_id = ident
    if ident not in _thread_names:
        _thread_names[ident] = threading.current_thread().name
    called = list.__getitem__(send.sync, slice(0, len(send.marks)))
    get = _identities.get
    infos = []
    for receiver in called:
        cached = get(id(receiver))
        if cached is not None and cached[0]() is receiver:
            infos.append(cached[1])
        else:
            infos.append(_identity(receiver))
    send.infos = tuple(infos)
    send.sync = _EMPTY
    if responses is None:
        return
    # None, bools, ints and short strings are kept as they are (they reference nothing);
    # anything else becomes text now, so no receiver's result is kept alive.
    results = [value for _, value in itertools.islice(responses, send.n_sync)]
    if results.count(None) == len(results):  # receivers mostly return None: nothing to convert
        send.results = results
        return
    robust = send.method.endswith("_robust")
    for index, value in enumerate(results):
        cls = type(value)
        if value is None or cls is bool or cls is int or (cls is str and len(value) < 200):
            continue
        if robust and isinstance(value, Exception):
            results[index] = _error_info(value)
        else:
            results[index] = _Text(_value(value))
    send.results = results


class _Text(str):
    """A result already turned into its repr."""

    __slots__ = ()


_thread_names: dict[int, str] = {}


def _freeze(send: _Send, kwargs: tuple[tuple[str, Any], ...]) -> SendEvent:
    """The plain record of a captured send (done when events are read, not during the send)."""
    calls: list[ReceiverCall] = []
    marks, results = send.marks, send.results
    for index, info in enumerate(send.infos):
        stop = marks[index + 1] if index + 1 < len(marks) else send.end
        result: str | None = None
        error: ErrorInfo | None = None
        if index < len(results):
            value = results[index]
            if type(value) is ErrorInfo:
                error = value
            else:
                result = str(value) if type(value) is _Text else _value(value)
        elif send.error is not None and index == len(send.infos) - 1:
            error = send.error
        calls.append(
            ReceiverCall(
                index, info, False, stop - marks[index], result, error, marks[index] - send.start
            )
        )
    for call in sorted(send.async_calls, key=lambda c: c.index):
        calls.append(
            ReceiverCall(
                call.index,
                call.info,
                True,
                call.duration,
                call.result,
                call.error,
                call.start - send.start,
            )
        )
    return SendEvent(
        id=send.id,
        parent=send.parent,
        signal=str(send.signal),
        method=send.method,
        sender=send.sender,
        kwargs=tuple((k, _text_of(v)) for k, v in kwargs),
        thread=_thread_names.get(send.thread_id, "?"),
        thread_id=send.thread_id,
        task=send.task,
        started_at=_WALL0 + (send.start - _CLOCK0) / 1e9,
        duration_ns=send.end - send.start,
        calls=tuple(calls),
        error=send.error,
    )


_REDACTED = "<redacted>"
_hidden: dict[tuple[Any, str], bool] = {}


def _kwargs(named: dict[str, Any], redact: re.Pattern[str] | None) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments as ``(name, value)`` where the value is kept only if it is atomic
    (None, bool, int, a short str: they reference nothing), else turned into text now.
    """
    out = []
    for key, value in named.items():
        hide = _hidden.get((redact, key))
        if hide is None:
            hide = _hidden[(redact, key)] = bool(redact is not None and redact.search(key))
        if hide:
            out.append((key, _Text(_REDACTED)))
            continue
        cls = type(value)
        if value is None or cls is bool or cls is int or (cls is str and len(value) < 200):
            out.append((key, value))
        else:
            out.append((key, _Text(_value(value))))
    return tuple(out)


def _text_of(value: Any) -> str:
    return str(value) if type(value) is _Text else _value(value)


# --------------------------------------------------------------------------- patching


#: Running tracers without filters, and those with (rebuilt on start/stop; tuples).
_catch_all: tuple[Tracer, ...] = ()
_filtering: tuple[Tracer, ...] = ()
#: Some running tracer records sends that reach no receiver at all (``record_empty``).
_record_all = False


def _before(signal: Signal, method: str, sender: Any) -> _Send | None:
    if not _record_all and (not signal.receivers or _compat.cached_no_receivers(signal, sender)):
        return None
    tracers = _catch_all
    if _filtering:
        tracers = (*tracers, *(t for t in _filtering if t._wants(signal, sender)))
    if not tracers:
        return None
    return _Send(signal, method, tracers, sender)


def _after(send: _Send, named: dict[str, Any], responses: Any) -> None:
    end = _clock()
    tracers = send.tracers
    called = bool(send.n_sync and send.marks) or send.async_calls or send.error is not None
    if not called and not any(t.record_empty for t in tracers):
        return
    _capture(send, responses, end)
    send.tracers = ()
    if len(tracers) == 1:  # the common case
        tracer = tracers[0]
        tracer._record(send, _kwargs(named, tracer._redact) if named else ())
        return
    by_pattern: dict[Any, tuple[tuple[str, Any], ...]] = {}
    for tracer in tracers:
        if tracer._redact not in by_pattern:
            by_pattern[tracer._redact] = _kwargs(named, tracer._redact) if named else ()
        tracer._record(send, by_pattern[tracer._redact])


def _patched_live_receivers(original: Callable[..., Any]) -> Callable[..., Any]:
    def _live_receivers(self: Signal, sender: Any) -> Any:
        result = original(self, sender)
        send = _current.get()  # set by the patched send method that called us
        if type(send) is not _Send or send.wired or send.signal_id != id(self):
            return result
        send.wired = True
        if _compat.HAS_ASYNC_SIGNALS:
            sync, asynchronous = result
        else:
            sync, asynchronous = result, []
        timed = _TimedReceivers(sync)
        timed._send = send
        send.sync = timed
        send.n_sync = len(sync)
        send.n_async = len(asynchronous)
        wrapped = [_AsyncReceiver(r, send, len(sync) + i) for i, r in enumerate(asynchronous)]
        return (timed, wrapped) if _compat.HAS_ASYNC_SIGNALS else timed

    return _live_receivers


def _patched_sync(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Signal, sender: Any, **named: Any) -> Any:
        send = _before(self, name, sender)
        if send is None:
            return original(self, sender, **named)
        token = _current.set(send)
        responses = None
        try:
            responses = original(self, sender, **named)
        except BaseException as exc:
            send.error = _error_info(exc)
            raise
        finally:
            _restore(token)
            _after(send, named, responses)
        if send.n_async:
            return [(_unwrap_receiver(r), value) for r, value in responses]
        return responses

    method.__name__ = method.__qualname__ = name
    method.__doc__ = original.__doc__
    method._sigscope_original = original  # type: ignore[attr-defined]
    return method


def _patched_async(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    async def method(self: Signal, sender: Any, **named: Any) -> Any:
        send = _before(self, name, sender)
        if send is None:
            return await original(self, sender, **named)
        token = _current.set(send)
        responses = None
        try:
            responses = await original(self, sender, **named)
        except BaseException as exc:
            send.error = _error_info(exc)
            raise
        finally:
            _restore(token)
            _after(send, named, responses)
        return [(_unwrap_receiver(r), value) for r, value in responses]

    method.__name__ = method.__qualname__ = name
    method.__doc__ = original.__doc__
    method._sigscope_original = original  # type: ignore[attr-defined]
    return method


_thread_start = threading.Thread.start


def _traced_thread_start(self: threading.Thread) -> None:
    target = getattr(self, "_target", None)
    if getattr(target, "__module__", None) != "concurrent.futures.thread":  # pool workers
        parent = _parent(_current_task_object())
        if parent is not None:
            global _threads_marked
            _threads_marked = True
            self._sigscope_parent = parent  # type: ignore[attr-defined]
    _thread_start(self)


def _regroup() -> None:
    global _catch_all, _filtering, _record_all
    _catch_all = tuple(t for t in _active if not (t._filtered or t._by_sender))
    _filtering = tuple(t for t in _active if t._filtered or t._by_sender)
    _record_all = any(t.record_empty for t in _active)


def _install() -> None:
    methods = [m for m in METHODS if m in vars(Signal)]
    for name in (*methods, "_live_receivers"):
        _originals[name] = vars(Signal)[name]
    for name in methods:
        factory = _patched_async if name.startswith("a") else _patched_sync
        _installed[name] = factory(name, _originals[name])
    _installed["_live_receivers"] = _patched_live_receivers(_originals["_live_receivers"])
    for name, value in _installed.items():
        setattr(Signal, name, value)
    threading.Thread.start = _traced_thread_start  # type: ignore[method-assign]


def _uninstall() -> None:
    for name, value in _installed.items():
        if vars(Signal).get(name) is value:
            setattr(Signal, name, _originals[name])
        else:
            warnings.warn(
                f"sigscope: Signal.{name} was replaced by someone else while tracing; "
                "leaving their version in place.",
                RuntimeWarning,
                stacklevel=3,
            )
    if threading.Thread.start is _traced_thread_start:
        threading.Thread.start = _thread_start  # type: ignore[method-assign]
    _installed.clear()
    _originals.clear()


# --------------------------------------------------------------------------- public API


class Tracer:
    """Records signal sends while started.

    Parameters
    ----------
    signals
        Only these signals (``Signal`` objects or names such as ``"post_save"``
        or ``"shop.signals.order_placed"``); all when empty.
    exclude
        Never these signals (same forms), e.g. ``["pre_init", "post_init"]``,
        which fire for every model instance created or loaded from the database.
    senders
        Only sends from these senders (model classes, or labels like ``"shop.Order"``).
    apps
        Only sends whose sender is a model of these app labels.
    max_events
        Ring-buffer size: the oldest events are dropped (and counted) beyond it.
    redact
        Keyword-argument names (matched case-insensitively anywhere in the
        name) whose values are shown as ``<redacted>``.
    record_empty
        Also record sends that ran no receiver, even of signals nothing listens to
        (many: ``pre_init``/``post_init`` fire for every model instance created or
        loaded).  Costs a little on every send while this tracer runs.
    listener
        Called in the sending thread with each recorded send's ``SendEvent`` right
        after the send returns or raises (nested sends before the send containing
        them).  An ``Exception`` it raises is counted in ``listener_errors`` (the
        first is warned about), never raised into the application.

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
    (('secret_token', '<redacted>'),)
    """

    def __init__(
        self,
        *,
        signals: Iterable[Any] = (),
        exclude: Iterable[Any] = (),
        senders: Iterable[Any] = (),
        apps: Iterable[str] = (),
        max_events: int = 10_000,
        redact: Iterable[str] = DEFAULT_REDACT,
        record_empty: bool = False,
        listener: Callable[[SendEvent], None] | None = None,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        from sigscope.tracing.result import Trace

        signals, exclude = tuple(signals), tuple(exclude)
        self._signal_objects = {id(s) for s in signals if _compat.is_signal(s)}
        self._signal_names = tuple(s for s in signals if isinstance(s, str))
        self._excluded_objects = {id(s) for s in exclude if _compat.is_signal(s)}
        self._excluded_names = tuple(s for s in exclude if isinstance(s, str))
        self._sender_ids = {id(s) for s in senders if not isinstance(s, str)}
        self._sender_labels = {s for s in senders if isinstance(s, str)}
        self._apps = set(apps)
        self._filtered = bool(signals or exclude)
        self._by_sender = bool(self._sender_ids or self._sender_labels or self._apps)
        words = [re.escape(w) for w in redact]
        self._redact = re.compile("|".join(words), re.IGNORECASE) if words else None
        self.record_empty = record_empty
        self.max_events = max_events
        self._buffer: deque[tuple[_Send, tuple[tuple[str, Any], ...]]] = deque(maxlen=max_events)
        self._frozen: dict[int, SendEvent] = {}
        self._seen = 0
        self._record_lock = threading.Lock()
        self._signal_match: dict[int, bool] = {}
        self.trace = Trace(self)
        self.running = False
        self.listener = listener  # OTEL hook
        self.listener_errors = 0  # OTEL hook

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

    # -- recording
    @property
    def events(self) -> tuple[SendEvent, ...]:
        """Recorded sends, in the order they started."""
        with self._record_lock:
            captured = list(self._buffer)
        frozen = {}
        for send, kwargs in captured:
            event = self._frozen.get(send.id)
            frozen[send.id] = event if event is not None else _freeze(send, kwargs)
        self._frozen = frozen
        return tuple(sorted(frozen.values(), key=lambda e: e.id))

    @property
    def dropped(self) -> int:
        """Events pushed out of the ring buffer."""
        return max(0, self._seen - len(self._buffer))

    def clear(self) -> None:
        with self._record_lock:
            self._buffer.clear()
            self._frozen = {}
            self._seen = 0

    def _record(self, send: _Send, kwargs: tuple[tuple[str, Any], ...]) -> None:
        with self._record_lock:
            self._seen += 1
            self._buffer.append((send, kwargs))
        if self.listener is not None:  # OTEL hook
            self._notify(_freeze(send, kwargs))

    def _notify(self, event: SendEvent) -> None:  # OTEL hook (CONTRACTS.md: listener=)
        assert self.listener is not None
        try:
            self.listener(event)
        except Exception as exc:
            self.listener_errors += 1
            if self.listener_errors == 1:
                warnings.warn(
                    f"sigscope: the tracer's listener raised {type(exc).__name__}; "
                    "further errors are only counted (Tracer.listener_errors)",
                    RuntimeWarning,
                    stacklevel=2,
                )

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
            label = getattr(getattr(sender, "_meta", None), "label", None)
            if not isinstance(label, str):
                return False
            return label in self._sender_labels or label.partition(".")[0] in self._apps
        return True

    def _matches_signal(self, signal: Signal) -> bool:
        name = str(_signal_name(signal)) if self._signal_names or self._excluded_names else ""
        if id(signal) in self._excluded_objects or _named(name, self._excluded_names):
            return False
        if not (self._signal_objects or self._signal_names):
            return True
        return id(signal) in self._signal_objects or _named(name, self._signal_names)


def _named(name: str, wanted: tuple[str, ...]) -> bool:
    return any(name == n or name.endswith("." + n) for n in wanted)


def trace(
    *,
    signals: Iterable[Any] = (),
    exclude: Iterable[Any] = (),
    senders: Iterable[Any] = (),
    apps: Iterable[str] = (),
    max_events: int = 10_000,
    redact: Iterable[str] = DEFAULT_REDACT,
    record_empty: bool = False,
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
    )


def active_tracers() -> tuple[Tracer, ...]:
    """The tracers running now."""
    return tuple(_active)
