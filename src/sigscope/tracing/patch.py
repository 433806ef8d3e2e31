"""Install and restore the class-level patches; the patched methods themselves.

While a tracer runs:

* ``Signal.send``, ``send_robust``, ``asend`` and ``asend_robust`` (Django's
  loops) and every *own* ``send*``/``asend*`` method of a ``Signal`` subclass
  (pretix's ``send``, ``send_robust``, ``send_chained``) start a record;
* ``Signal._live_receivers`` and every subclass's own override are wrapped:
  the *outermost* one (``type(self)._live_receivers``) hands back timed
  receivers for the send in progress (see :mod:`sigscope.tracing.capture`);
* ``Signal.__init_subclass__`` patches subclasses defined later;
* ``threading.Thread.start`` notes the receiver a thread was started in.

With the C accelerator (:mod:`sigscope.tracing.accel`), ``Signal.send`` and
``send_robust`` are ``_speedups.SyncSend`` objects (the method below, in C,
bound like a function) and the receivers are timed by ``_speedups.timed``.

Everything is put back, the identical objects, when the last tracer stops.
Exceptions are never caught: ``try/finally`` only, the error read with
``sys.exc_info()`` on the way out, so every ``BaseException`` passes untouched
and the traceback is the same.  Recording itself never raises ``Exception``.
"""

from __future__ import annotations

import sys
import threading
import types
import warnings
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from sigscope import _compat
from sigscope.tracing import accel, record
from sigscope.tracing import capture as cap
from sigscope.tracing.frames import hide_frames
from sigscope.tracing.versions import with_subclasses

METHODS = ("send", "send_robust", "asend", "asend_robust")
LIVE = _compat.LIVE_RECEIVERS
_saved: list[tuple[type, str, Any, Any]] = []  # (class, name, original, installed)
_lock = threading.RLock()
_Send, _current, _reset = cap.Send, cap.current, cap.current.reset
_unheard, _finish, _capture = record.unheard, record.finish, cap.safe_capture
_record_send, _failed = record._finish, record.failed
_no_receivers = _compat.no_receivers_cached
_reads_quietly = _compat.signal_reads_quietly


def _no_receiver_at_all(signal: Any) -> bool:
    """``signal.receivers`` is an empty list, known without running the application's
    code (see ``signal_reads_quietly``; another object's truth is not asked)."""
    if not _reads_quietly(signal):
        return False
    receivers = signal.receivers
    return type(receivers) is list and not receivers


def _nobody_listens(signal: Any, sender: Any) -> bool:
    """Django's ``send`` would return ``[]`` at once (its first test, read as it reads it),
    known without running the application's code."""
    if not _reads_quietly(signal):
        return False
    receivers = signal.receivers
    if type(receivers) is list and not receivers:
        return True
    cache = signal.sender_receivers_cache
    return (type(cache) is not dict or bool(cache)) and _no_receivers(signal, sender)


def _joins(found: Any, signal: Any) -> bool:
    """``found`` is a send of ``signal`` begun by an outer subclass method (``proxied``: it
    may delegate to Django's loop, which then clears it), receivers not fetched yet.

    A send of the same signal made while Django's own loop starts (a sender's
    ``__hash__``, a finalizer, a weakref callback) is a send of its own.
    """
    return found.proxied and not found.wired and found.signal_id == id(signal)


def _in_progress(signal: Any) -> Any:
    """The send of ``signal`` that an inner method call belongs to, if any."""
    found = _current.get()
    if type(found) is _Send and _joins(found, signal):
        return found
    return None


def _django_sync(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Signal, sender: Any, **named: Any) -> Any:
        if _nobody_listens(self, sender) and not record.record_all:
            counts = record.lone_unheard  # one tracer, no filters: count here, inline
            if counts is not None:
                key = (id(self), id(sender))
                count = counts.get(key)
                if count is not None:
                    counts[key] = count + 1
                    return []
            if record.catch_all or record.filtering:
                _unheard(self, sender)
            return []  # what Django's send/send_robust return here (4.2-6.1)
        tracers = record.route(self, sender) if record.filtering else record.catch_all
        if not tracers:
            return original(self, sender, **named)
        found = _current.get()
        if found is not None and type(found) is _Send and _joins(found, self):
            found.proxied = False  # a subclass's send delegating to Django's loop
            return original(self, sender, **named)
        send = _Send(id(self), name, tracers, found)
        token = _current.set(send)
        responses = None
        done = False
        try:
            responses = original(self, sender, **named)
            done = True
        finally:
            if not done:
                send.error = _capture(sys.exc_info()[1])  # type: ignore[arg-type]
            try:  # noqa: SIM105 - contextlib.suppress costs ~0.3 µs per send
                _reset(token)
            except ValueError:
                pass
            try:  # record.finish(), inline: one frame less per send
                _record_send(send, self, sender, named, responses)
            except Exception as exc:
                _failed(send, exc)
            else:  # record.release(), inline (Django's loop: never proxied here)
                send.receivers = None
                send.tracers = ()
        if send.async_calls:
            return cap.unwrap_pairs(responses)
        return responses

    hide_frames(__file__, method)
    return method


def _django_async(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    async def method(self: Signal, sender: Any, **named: Any) -> Any:
        if _nobody_listens(self, sender) and not record.record_all:
            if record.catch_all or record.filtering:
                _unheard(self, sender)
            return []  # what Django's asend/asend_robust return here (5.0-6.1)
        tracers = record.route(self, sender)
        outer = _in_progress(self)
        if not tracers or outer is not None:
            if outer is not None:
                outer.proxied = False
            return await original(self, sender, **named)
        send = _Send(id(self), name, tracers, _current.get())
        token = _current.set(send)
        responses = None
        done = False
        try:
            responses = await original(self, sender, **named)
            done = True
        finally:
            if not done:
                send.error = _capture(sys.exc_info()[1])  # type: ignore[arg-type]
            cap.restore(token)
            _finish(send, self, sender, named, responses)
        return cap.unwrap_pairs(responses)

    hide_frames(__file__, method)
    return method


def _foreign_sync(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Signal, *args: Any, **named: Any) -> Any:
        sender = args[0] if args else named.get("sender")
        if _in_progress(self) is not None:
            return original(self, *args, **named)
        if _no_receiver_at_all(self) and not record.record_all:
            if record.catch_all or record.filtering:
                _unheard(self, sender)
            return original(self, *args, **named)
        tracers = record.route(self, sender)
        if not tracers:
            return original(self, *args, **named)
        send = _Send(id(self), name, tracers, _current.get())
        send.proxied = True
        token = _current.set(send)
        result = None
        done = False
        try:
            result = original(self, *args, **named)
            done = True
        finally:
            if not done:
                send.error = _capture(sys.exc_info()[1])  # type: ignore[arg-type]
            cap.restore(token)
            _finish(send, self, sender, _without_sender(named), result)
        return cap.unwrap_pairs(result)

    hide_frames(__file__, method)
    return method


def _foreign_async(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    async def method(self: Signal, *args: Any, **named: Any) -> Any:
        sender = args[0] if args else named.get("sender")
        heard = record.record_all or not _no_receiver_at_all(self)
        tracers = record.route(self, sender) if heard else ()
        if not tracers or _in_progress(self) is not None:
            return await original(self, *args, **named)
        send = _Send(id(self), name, tracers, _current.get())
        send.proxied = True
        token = _current.set(send)
        result = None
        done = False
        try:
            result = await original(self, *args, **named)
            done = True
        finally:
            if not done:
                send.error = _capture(sys.exc_info()[1])  # type: ignore[arg-type]
            cap.restore(token)
            _finish(send, self, sender, _without_sender(named), result)
        return cap.unwrap_pairs(result)

    hide_frames(__file__, method)
    return method


def _without_sender(named: dict[str, Any]) -> dict[str, Any]:
    """A subclass method's keyword arguments, ``sender=`` (recorded as the sender) left out."""
    if "sender" not in named:
        return named
    return {name: value for name, value in named.items() if name != "sender"}


def _live_receivers_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    _timed = accel.compiled.timed if accel.enabled and accel.compiled else cap.timed

    def _live_receivers(self: Signal, sender: Any) -> Any:
        result = original(self, sender)
        send = _current.get()
        if type(send) is not _Send or send.signal_id != id(self):
            return result
        if send.wired and not send.proxied:  # e.g. has_listeners() inside a receiver
            return result
        if type(self)._live_receivers is not _live_receivers:
            return result  # a subclass's override calling super(): it is the outermost
        if send.proxied or send.method[0] == "a" or not _HAS_ASYNC:
            return _wire(send, result)
        sync, asynchronous = result  # the common case, inline: Django's send / send_robust
        if asynchronous:
            return _wire(send, result)
        send.wired = True
        send.receivers = sync
        send.n = len(sync)
        return _timed(sync, send.marks), asynchronous

    return _live_receivers


_HAS_ASYNC = _compat.HAS_ASYNC_SIGNALS


def _wire(send: cap.PureSend, result: Any) -> Any:
    send.wired = True
    sync, asynchronous = result if _compat.HAS_ASYNC_SIGNALS else (result, [])
    send.receivers = sync
    send.n = len(sync)
    if send.proxied:  # a subclass's own loop (it may fetch the receivers more than once)
        if send.calls is cap.NO_CALLS:
            send.calls = []
            send.running = -1
        timed: Any = [cap.Proxy(r, send) for r in sync]
    elif send.method in ("send", "send_robust"):
        timed = cap.timed(sync, send.marks)
    else:  # asend*: Django tests the list's truth before iterating it in a thread
        timed = cap.TimedList(sync)
        timed._sigscope_marks = send.marks
    if not _compat.HAS_ASYNC_SIGNALS:
        return timed
    if asynchronous:
        base = len(sync)
        asynchronous = [cap.AsyncReceiver(r, send, base + i) for i, r in enumerate(asynchronous)]
    return timed, asynchronous


# --------------------------------------------------------------------------- threads

_thread_start = threading.Thread.start


def _traced_thread_start(self: threading.Thread) -> None:
    target = getattr(self, "_target", None)
    if getattr(target, "__module__", None) != "concurrent.futures.thread":  # pool workers
        parent = cap.current_call()
        if parent is not None:
            cap.threads_marked = True
            self._sigscope_parent = parent  # type: ignore[attr-defined]
    _thread_start(self)


# --------------------------------------------------------------------------- install


def _patch_class(cls: type) -> None:
    own = dict(vars(cls))
    for name, value in own.items():
        if type(value) is not types.FunctionType:
            continue
        if name == LIVE:
            wrapper = _live_receivers_wrapper(value)
            if cls is Signal and accel.enabled and accel.compiled is not None:
                _name_like(wrapper, value)
                wrapper = accel.compiled.LiveReceivers(value, wrapper)
            _put(cls, name, value, wrapper)
        elif cls is Signal and name in METHODS:
            factory = _django_async if name.startswith("a") else _django_sync
            _put(cls, name, value, _accelerated(name, value, factory(name, value)))
        elif cls is not Signal and name.startswith(("send", "asend")):
            is_async = bool(value.__code__.co_flags & 0x80)  # CO_COROUTINE
            factory = _foreign_async if is_async else _foreign_sync
            _put(cls, name, value, factory(name, value))


def _accelerated(name: str, original: Any, method: Any) -> Any:
    """``method``, or its C version (which calls ``method`` for unusual argument shapes)."""
    if name in ("send", "send_robust") and accel.enabled and accel.compiled is not None:
        _name_like(method, original)
        return accel.compiled.SyncSend(name, original, method)
    return method


def _name_like(installed: Any, original: Any) -> None:
    installed.__name__ = original.__name__
    installed.__qualname__ = original.__qualname__
    installed.__doc__ = original.__doc__
    installed.__module__ = original.__module__


def _put(cls: type, name: str, original: Any, installed: Any) -> None:
    _name_like(installed, original)
    installed._sigscope_original = original
    _saved.append((cls, name, original, installed))
    setattr(cls, name, installed)


def _on_subclass(cls: type, **kwargs: Any) -> None:
    super(Signal, cls).__init_subclass__(**kwargs)  # type: ignore[misc]
    with _lock:
        if _saved:
            _patch_class(cls)


def install() -> None:
    """Patch ``Signal``, its subclasses (now and later) and ``Thread.start``."""
    global _Send
    with _lock:
        fast = accel.enabled and accel.compiled is not None
        _Send = cap.Send = cap.CSend if fast else cap.PureSend  # what `type(x) is _Send` checks
        record.kwargs_of = accel.compiled.kwargs if fast else record._kwargs  # type: ignore[union-attr]
        for cls in with_subclasses(Signal):  # Signal first
            _patch_class(cls)
        hook: Any = classmethod(_on_subclass)
        _saved.append((Signal, "__init_subclass__", None, hook))
        Signal.__init_subclass__ = hook  # type: ignore[method-assign]
        threading.Thread.start = _traced_thread_start  # type: ignore[method-assign]


def uninstall() -> None:
    """Put back every original attribute, the identical objects."""
    with _lock:
        for cls, name, original, installed in reversed(_saved):
            if vars(cls).get(name) is not installed:
                warnings.warn(
                    f"sigscope: {cls.__qualname__}.{name} was replaced by someone else while "
                    "tracing; leaving their version in place.",
                    RuntimeWarning,
                    stacklevel=4,
                )
            elif original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        _saved.clear()
        record.kwargs_of = record._kwargs
        if threading.Thread.start is _traced_thread_start:
            threading.Thread.start = _thread_start  # type: ignore[method-assign]


if accel.compiled is not None:
    from sigscope.tracing import names, values

    accel.compiled.configure(
        capture=cap,
        record=record,
        names=names,
        values=values,
        no_receivers=_compat.NO_RECEIVERS,
        get_running_loop=cap._get_running_loop,
        wire=_wire,
        has_async=_HAS_ASYNC,
    )
