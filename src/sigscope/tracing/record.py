"""From a finished send to what the tracers keep: ids, clock readings and text.

Called once per send, after Django's method returned (or raised), while the
receivers and values are still alive: receivers become cached descriptions,
results and keyword arguments become text (``None``, bools, ints and short
strings are kept as they are: they reference nothing), exceptions become
:class:`~sigscope.tracing.errors.Captured`.  Afterwards the ``Send`` holds no
reference to anything of the application.  A send that ran no receiver is only
counted (``Tracer.unheard``).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from sigscope.tracing import capture as cap
from sigscope.tracing.errors import capture
from sigscope.tracing.names import (
    _by_ids,
    _sender_labels,
    _signal_names,
    infos_of,
    receiver_info,
    sender_label,
    signal_name,
)
from sigscope.tracing.values import LIMIT, describe, full_repr, str_dict

#: Running tracers without filters, and those with (rebuilt on start/stop; tuples).
catch_all: tuple[Any, ...] = ()
filtering: tuple[Any, ...] = ()
#: Some running tracer records sends that ran no receiver as events (``record_empty``).
record_all = False
#: The ``unheard`` counts of the only running tracer, when it has no filters (else ``None``).
lone_unheard: dict[Any, int] | None = None
internal_errors = 0
#: This thread's name as its first recorded send saw it (per thread, not per ident:
#: a new thread can get a dead one's ident).  The C path keeps the same in the
#: thread state's dict (``PyThreadState_GetDict``), from :func:`thread_name`.
_here = threading.local()


def thread_name() -> str:
    """The sending thread's name (``threading.current_thread().name`` at its first send)."""
    try:
        return _here.name
    except AttributeError:
        name = _here.name = threading.current_thread().name
        return name


def route(signal: Any, sender: Any) -> tuple[Any, ...]:
    """The running tracers that want this send."""
    if not filtering:
        return catch_all
    return (*catch_all, *(t for t in filtering if t._wants(signal, sender)))


def unheard(signal: Any, sender: Any) -> None:
    """Count a send that reached no receiver, in every tracer that wants it."""
    key = (id(signal), id(sender))
    for tracer in route(signal, sender) if filtering else catch_all:
        counts = tracer._unheard
        count = counts.get(key)
        if count is None:
            tracer._count_unheard(signal, sender)
        else:
            counts[key] = count + 1


def atom(value: Any) -> bool:
    """A value kept as it is: it references nothing and its repr is Python's."""
    cls = type(value)
    return value is None or cls is bool or cls is int or (cls is str and len(value) <= LIMIT)


def finish(
    send: cap.PureSend, signal: Any, sender: Any, named: dict[str, Any], responses: Any
) -> None:
    """Turn ``send`` into text and ids and hand it to its tracers; never raises ``Exception``."""
    try:
        _finish(send, signal, sender, named, responses)
    except Exception as exc:  # a sigscope bug must not reach the application
        failed(send, exc)
    else:
        release(send)


def release(send: cap.PureSend) -> None:
    """Drop what the send held of the application."""
    if send.wired:
        send.receivers = None
        if send.proxied:
            send.calls = cap.NO_CALLS
    send.tracers = ()


def failed(send: cap.PureSend, exc: Exception) -> None:
    """Recording ``send`` raised ``exc``: count it (warn once), keep nothing."""
    global internal_errors
    internal_errors += 1
    release(send)
    if internal_errors == 1 and type(exc) is not RecursionError:  # at the recursion limit
        warnings.warn(f"sigscope: recording a send failed: {exc!r}", RuntimeWarning, 2)


def _finish(send: cap.PureSend, signal: Any, sender: Any, named: dict[str, Any], responses: Any):
    send.end = _clock()
    tracers = send.tracers
    if send.proxied:
        _capture_proxied(send)
    elif send.wired:
        marks = send.marks  # Django's loop, inline (the hot path)
        called = len(marks) - 1 if len(marks) > send.n else len(marks)
        if called > 0:
            receivers = send.receivers
            if called != send.n:
                sequence = None
            elif called == 1:
                sequence = _by_ids.get((id(receivers[0]),))
            else:
                sequence = _by_ids.get(tuple(map(id, receivers)))
            send.infos = sequence or infos_of(receivers[:called])
            send.results = None  # mostly: every receiver returned None (tested by identity)
            if type(responses) is list:  # a Python loop: faster here than any C-level chain
                for pair in responses:
                    if pair[1] is not None:
                        send.results = _results(send, responses, called)
                        break
        else:
            send.infos, send.results = (), None
    else:
        send.infos, send.results = (), None
    if not (send.infos or send.async_calls or send.error is not None):
        for tracer in tracers:
            tracer._count_unheard(signal, sender)
        tracers = tuple(t for t in tracers if t.record_empty)
        if not tracers:
            return
    if send.async_calls:
        for call in send.async_calls:
            call.info = receiver_info(call.receiver)
            call.receiver = None
            call.result = _result(call.result, False, "safe")
    holder = _signal_names.get(id(signal))
    send.signal = holder if holder is not None and holder.ref() is signal else signal_name(signal)
    if sender is None:
        send.sender = None
    else:  # sender_label(), its cache inline
        cached = _sender_labels.get(id(sender))
        send.sender = (
            cached[1] if cached is not None and cached[0]() is sender else sender_label(sender)
        )
    send.thread_id = _get_ident()
    send.thread_name = thread_name()
    if len(tracers) == 1:
        tracer = tracers[0]
        kwargs = kwargs_of(named, *tracer._value_options) if named else ()
        if tracer._listener is None and type(tracer)._record is _plain_record:
            tracer._buffer.append((send, kwargs))
            next(tracer._seen)
        else:
            tracer._record(send, kwargs)
        return
    by_options: dict[Any, tuple[tuple[str, Any], ...]] = {}
    for tracer in tracers:
        options = tracer._value_options
        if options not in by_options:
            by_options[options] = kwargs_of(named, *options) if named else ()
        tracer._record(send, by_options[options])


_get_ident = threading.get_ident
#: ``Tracer._record`` (set by sigscope.tracing.tracer): subclasses overriding it are called.
_plain_record: Any = None
_clock = cap.clock


def _results(send: cap.PureSend, responses: list[Any], called: int) -> list[Any]:
    robust = send.method.endswith("_robust")
    reprs = send.tracers[0]._reprs
    return [_result(pair[1], robust, reprs) for pair in responses[:called]]


def _capture_proxied(send: cap.PureSend) -> None:
    calls = send.calls
    send.infos = tuple(receiver_info(entry[0]) for entry in calls)
    send.marks = [stamp for entry in calls for stamp in (entry[1], entry[2])]
    robust = send.method.endswith("_robust")
    reprs = send.tracers[0]._reprs if send.tracers else "safe"
    send.results = [
        entry[4] if entry[4] is not None else _result(entry[3], robust, reprs) for entry in calls
    ]


def _result(value: Any, robust: bool, reprs: str) -> Any:
    if atom(value):
        return value
    if robust and issubclass(type(value), BaseException):
        return capture(value)
    return cap_text(full_repr(value) if reprs == "full" else describe(value))


class cap_text(str):
    """A value already turned into its description."""

    __slots__ = ()


def _kwargs(named: dict[str, Any], redactor: Any, reprs: str) -> tuple[tuple[str, Any], ...]:
    """``(name, value)`` pairs: atoms as they are, the rest described, secrets hidden."""
    hidden = None
    if redactor.enabled:
        names = tuple(named)
        found = redactor.plans.get(names)  # decided once per sequence of names
        if found is None:
            found = redactor.any_hidden(names)
        if found:
            return _hiding_kwargs(named, redactor, reprs)
        hidden = redactor
    return tuple(  # an atom (see atom()) as it is, inline: this runs per kwarg
        [
            (name, value)
            if value is None
            or (cls := type(value)) is bool
            or cls is int
            or (cls is str and len(value) <= LIMIT)
            else (name, _value(value, cls, hidden, reprs))
            for name, value in named.items()
        ]
    )


#: :func:`_kwargs`, or its C transcription while the accelerator is on (set by patch.install).
kwargs_of: Any = _kwargs


def _value(value: Any, cls: type, hidden: Any, reprs: str) -> Any:
    """A keyword argument's value that is not an atom, as what may be kept of it."""
    if reprs == "full":
        return cap_text(full_repr(value))
    if cls is dict:
        deferred = str_dict(value, hidden)
        if deferred is not None:
            return deferred  # a WSGI environ: strings copied, described when read
    return cap_text(describe(value, LIMIT, hidden))


def _hiding_kwargs(named: dict[str, Any], redactor: Any, reprs: str) -> tuple[tuple[str, Any], ...]:
    """:func:`_kwargs` of a send where some name is hidden (or ``setting_changed``)."""
    hide_value = "setting" in named and redactor.hides_setting_value(named)
    out: list[tuple[str, Any]] = []
    for name, value in named.items():
        if redactor.hides(name) or (hide_value and name == "value"):
            out.append((name, cap_text(redactor.substitute)))
        elif atom(value):
            out.append((name, value))
        else:
            out.append((name, _value(value, type(value), redactor, reprs)))
    return tuple(out)
