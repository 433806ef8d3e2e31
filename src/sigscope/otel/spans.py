"""Recorded sends (``SendEvent`` records) → OpenTelemetry spans.

Both the replay (:func:`sigscope.otel.export`) and the live instrumentation
(:func:`sigscope.otel.instrument`) build spans here, from records only: the
values in the attributes are the safe, already redacted text of the record, and
the times are the recorded ones (``started_at`` wall clock, offsets and durations
in nanoseconds), passed explicitly to ``start_span``/``end``.

Span shape (the README's "OpenTelemetry" section):

* ``send <signal short name>`` (kind ``INTERNAL``): ``django.signal``,
  ``django.signal.method``, ``django.signal.sender``, ``django.signal.receivers``,
  ``thread.name`` and ``django.signal.kwargs.<name>``;
* a child ``receive <signal short name>`` per receiver call: ``code.function.name``,
  ``code.file.path``, ``code.line.number``, ``django.signal.receiver.index``,
  ``django.signal.receiver.async`` and ``django.signal.result``;
* a send made inside a receiver is a child of that receiver's span;
* an exception sets status ``ERROR``, ``error.type``, and an ``exception`` event.

A send span that is not recording (sampled out; or the API without an SDK) gets
no children: a parent-based sampler would drop them, and they cost ~20 µs each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from sigscope.records import ErrorInfo, ReceiverCall, SendEvent

__all__ = ["Opened", "SpanShape", "children_of", "end_spans", "start_spans"]

#: Spans started but not ended yet, with the end time each one gets (ns since the epoch).
Opened = list[tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class SpanShape:
    """What goes into the spans (options for volume)."""

    receiver_spans: bool = True
    kwargs: bool = True


def short_name(signal: str) -> str:
    """``post_save`` for ``django.db.models.signals.post_save``; the class for a signal
    with no importable name (``<unnamed pkg.PluginSignal #3>`` → ``<PluginSignal>``: a
    number or an address would make span names unbounded).

    >>> short_name("django.db.models.signals.post_save"), short_name("<unnamed a.B #2>")
    ('post_save', '<B>')
    """
    if signal.startswith("<"):
        words = signal[1:].rstrip(">").split()
        if words and words[0] == "unnamed":
            words = words[1:]
        return "<" + (words[0].rpartition(".")[2] if words else "signal") + ">"
    return signal.rpartition(".")[2] or signal


def wall_ns(started_at: float) -> int:
    """A record's ``started_at`` (seconds since the epoch) in nanoseconds."""
    return round(started_at * 1e9)


def children_of(events: Iterable[SendEvent]) -> dict[int, list[SendEvent]]:
    """The sends made inside each send (by send id); a send whose parent is absent is a root."""
    events = list(events)
    ids = {e.id for e in events}
    kids: dict[int, list[SendEvent]] = defaultdict(list)
    for e in events:
        if e.parent is not None and e.parent[0] in ids:
            kids[e.parent[0]].append(e)
    return kids


def send_attributes(event: SendEvent, shape: SpanShape) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "django.signal": event.signal,
        "django.signal.method": event.method,
        "django.signal.receivers": len(event.calls),
        "thread.name": event.thread,
    }
    if event.sender is not None:
        attributes["django.signal.sender"] = event.sender
    if shape.kwargs:
        for name, value in event.kwargs:
            attributes[f"django.signal.kwargs.{name}"] = str(value)
    return attributes


def receive_attributes(call: ReceiverCall) -> dict[str, Any]:
    info = call.receiver
    attributes: dict[str, Any] = {
        "code.function.name": info.name,
        "django.signal.receiver.index": call.index,
        "django.signal.receiver.async": call.is_async,
    }
    if info.file:
        attributes["code.file.path"] = info.file
    if info.line is not None:
        attributes["code.line.number"] = info.line
    if call.result is not None:
        attributes["django.signal.result"] = call.result
    return attributes


def _fail(span: Any, error: ErrorInfo, when: int) -> None:
    event = {"exception.type": error.type, "exception.message": error.message}
    if error.traceback:
        event["exception.stacktrace"] = error.traceback
    span.set_attribute("error.type", error.type)
    span.add_event("exception", attributes=event, timestamp=when)
    span.set_status(Status(StatusCode.ERROR, f"{error.type}: {error.message}"))


def _start_receive_spans(
    tracer: Any, event: SendEvent, send_context: Context, opened: Opened
) -> dict[int, Context]:
    """One ``receive`` span per receiver call; their contexts by receiver index."""
    start, name = wall_ns(event.started_at), short_name(event.signal)
    receivers: dict[int, Context] = {}
    for call in event.calls:
        began = start + call.offset_ns
        child = tracer.start_span(
            f"receive {name}",
            context=send_context,
            kind=SpanKind.INTERNAL,
            attributes=receive_attributes(call),
            start_time=began,
        )
        if call.error is not None:
            _fail(child, call.error, began + call.duration_ns)
        opened.append((child, began + call.duration_ns))
        receivers[call.index] = otel_trace.set_span_in_context(child, send_context)
    return receivers


def start_spans(
    tracer: Any,
    event: SendEvent,
    kids: Mapping[int, Sequence[SendEvent]],
    *,
    context: Context | None,
    shape: SpanShape,
    opened: Opened,
    contexts: dict[int, tuple[Context, dict[int, Context]]] | None = None,
) -> None:
    """Start the spans of ``event``, its receivers and (recursively) the sends made inside them.

    Nothing is ended here: each span and its end time is appended to ``opened``
    (parents first), for :func:`end_spans`.  ``contexts``, when given, receives
    each send's context and its receivers' contexts by index (for sends that
    arrive after their parent was emitted).
    """
    start = wall_ns(event.started_at)
    span = tracer.start_span(
        f"send {short_name(event.signal)}",
        context=context,
        kind=SpanKind.INTERNAL,
        attributes=send_attributes(event, shape),
        start_time=start,
    )
    end = start + event.duration_ns
    if event.error is not None:
        _fail(span, event.error, end)
    opened.append((span, end))
    send_context = otel_trace.set_span_in_context(span, context)
    receivers: dict[int, Context] = {}
    if not span.is_recording():  # sampled out, or no SDK: its children would be dropped too
        if contexts is not None:
            contexts[event.id] = (send_context, receivers)
        return
    if shape.receiver_spans:
        receivers = _start_receive_spans(tracer, event, send_context, opened)
    if contexts is not None:
        contexts[event.id] = (send_context, receivers)
    for inner in kids.get(event.id, ()):
        assert inner.parent is not None
        parent = receivers.get(inner.parent[1], send_context)
        start_spans(
            tracer, inner, kids, context=parent, shape=shape, opened=opened, contexts=contexts
        )


def end_spans(opened: Opened) -> int:
    """End the spans :func:`start_spans` opened (children first); returns how many."""
    for span, end in reversed(opened):
        span.end(end_time=end)
    return len(opened)
