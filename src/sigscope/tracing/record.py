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
from sigscope.tracing.names import receiver_info, sender_label, signal_name
from sigscope.tracing.values import LIMIT, describe, full_repr

#: Running tracers without filters, and those with (rebuilt on start/stop; tuples).
catch_all: tuple[Any, ...] = ()
filtering: tuple[Any, ...] = ()
internal_errors = 0
thread_names: dict[int, str] = {}


def route(signal: Any, sender: Any) -> tuple[Any, ...]:
    """The running tracers that want this send."""
    if not filtering:
        return catch_all
    return (*catch_all, *(t for t in filtering if t._wants(signal, sender)))


def unheard(signal: Any, sender: Any) -> None:
    """Count a send that reached no receiver, in every tracer that wants it."""
    for tracer in route(signal, sender) if filtering else catch_all:
        tracer._count_unheard(signal, sender)


def atom(value: Any) -> bool:
    """A value kept as it is: it references nothing and its repr is Python's."""
    cls = type(value)
    return value is None or cls is bool or cls is int or (cls is str and len(value) <= LIMIT)


def finish(send: cap.Send, signal: Any, sender: Any, named: dict[str, Any], responses: Any) -> None:
    """Turn ``send`` into text and ids and hand it to its tracers; never raises ``Exception``."""
    global internal_errors
    try:
        _finish(send, signal, sender, named, responses)
    except RecursionError:  # at the application's recursion limit: this send is not kept
        internal_errors += 1
    except Exception as exc:  # a sigscope bug must not reach the application
        internal_errors += 1
        if internal_errors == 1:
            warnings.warn(f"sigscope: recording a send failed: {exc!r}", RuntimeWarning, 2)
    finally:
        send.receivers = None
        send.calls = cap.NO_CALLS
        send.tracers = ()


def _finish(send: cap.Send, signal: Any, sender: Any, named: dict[str, Any], responses: Any):
    send.end = cap.clock()
    tracers = send.tracers
    if send.proxied:
        _capture_proxied(send)
    else:
        _capture_django(send, responses)
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
    send.signal = signal_name(signal)
    send.sender = sender_label(sender)
    ident = threading.get_ident()
    send.thread_id = ident
    if ident not in thread_names:
        thread_names[ident] = threading.current_thread().name
    by_options: dict[Any, tuple[tuple[str, Any], ...]] = {}
    for tracer in tracers:
        options = tracer._value_options
        kwargs = by_options.get(options)
        if kwargs is None:
            kwargs = by_options[options] = _kwargs(named, *options) if named else ()
        tracer._record(send, kwargs)


def _capture_django(send: cap.Send, responses: Any) -> None:
    receivers, marks = send.receivers, send.marks
    called = len(marks) - 1 if len(marks) > send.n else len(marks)
    send.infos = tuple(receiver_info(r) for r in receivers[:called]) if called > 0 else ()
    send.results = None
    if responses is None or called <= 0 or type(responses) is not list:
        return
    robust = send.method.endswith("_robust")
    results = None
    for index in range(min(called, len(responses))):
        value = responses[index][1]
        if value is not None:
            if results is None:
                results = [None] * called
            results[index] = _result(value, robust, send.tracers[0]._reprs)
    send.results = results


def _capture_proxied(send: cap.Send) -> None:
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
    out = []
    hide_value = redactor.enabled and redactor.hides_setting_value(named)
    hidden = redactor if redactor.enabled else None
    for name, value in named.items():
        if (hidden is not None and hidden.hides(name)) or (hide_value and name == "value"):
            out.append((name, cap_text(redactor.substitute)))
        elif atom(value):
            out.append((name, value))
        elif reprs == "full":
            out.append((name, cap_text(full_repr(value))))
        else:
            out.append((name, cap_text(describe(value, LIMIT, hidden))))
    return tuple(out)
