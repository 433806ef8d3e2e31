"""From what a send left behind (ids, clock readings, text) to a plain ``SendEvent``.

Done when events are read, never during the send: this is where durations
are subtracted, values formatted and tracebacks turned into text.
"""

from __future__ import annotations

from typing import Any

from sigscope.records import ErrorInfo, ReceiverCall, SendEvent
from sigscope.tracing import capture as cap
from sigscope.tracing import record
from sigscope.tracing.errors import Captured, error_info
from sigscope.tracing.values import ModelPk, StrDict, describe

__all__ = ["freeze"]


def _text(value: Any) -> str:
    cls = type(value)
    deferred = cls is record.cap_text or cls is StrDict or cls is ModelPk
    return str(value) if deferred else describe(value)


def _outcome(value: Any) -> tuple[str | None, ErrorInfo | None]:
    if type(value) is Captured:
        return None, error_info(value)
    return _text(value), None


def _sync_calls(send: cap.PureSend) -> list[ReceiverCall]:
    calls = []
    marks, results, infos = send.marks, send.results, send.infos
    for index, info in enumerate(infos):
        if send.proxied:
            start, stop = marks[2 * index], marks[2 * index + 1]
        else:
            start = marks[index]
            stop = marks[index + 1] if index + 1 < len(marks) else send.end
        result, error = ("None", None) if results is None else _outcome(results[index])
        calls.append(
            ReceiverCall(
                index=index,
                receiver=info,
                is_async=False,
                duration_ns=stop - start,
                result=result,
                error=error,
                offset_ns=start - send.start,
            )
        )
    raised_inside = send.error is not None and not send.proxied and len(marks) <= send.n
    if raised_inside and calls and calls[-1].error is None:
        last = calls[-1]
        calls[-1] = _with_error(last, error_info(send.error))  # type: ignore[arg-type]
    return calls


def _with_error(call: ReceiverCall, error: ErrorInfo) -> ReceiverCall:
    return ReceiverCall(
        index=call.index,
        receiver=call.receiver,
        is_async=call.is_async,
        duration_ns=call.duration_ns,
        result=None,
        error=error,
        offset_ns=call.offset_ns,
    )


def freeze(send: cap.PureSend, kwargs: tuple[tuple[str, Any], ...]) -> SendEvent:
    """The plain record of a finished send."""
    calls = _sync_calls(send)
    for call in send.async_calls or ():
        result, error = _outcome(call.result)
        calls.append(
            ReceiverCall(
                index=call.index,
                receiver=call.info,
                is_async=True,
                duration_ns=call.duration,
                result=None if call.error is not None else result,
                error=error_info(call.error) if call.error is not None else error,
                offset_ns=call.start - send.start,
            )
        )
    return SendEvent(
        id=send.id,
        parent=send.parent,
        signal=str(send.signal),
        method=send.method,
        sender=send.sender,
        kwargs=tuple((k, _text(v)) for k, v in kwargs),
        thread=getattr(send, "thread_name", "?"),
        thread_id=send.thread_id,
        task=send.task,
        started_at=cap.WALL0 + (send.start - cap.CLOCK0) / 1e9,
        duration_ns=send.end - send.start,
        calls=tuple(calls),
        error=error_info(send.error) if send.error is not None else None,
        signal_id=getattr(send.signal, "key", 0),
    )
