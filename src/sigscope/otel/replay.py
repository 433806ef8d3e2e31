"""``export``: replay recorded sends as spans, with the times they were recorded at."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from opentelemetry import trace as otel_trace

from sigscope.otel.spans import Opened, SpanShape, children_of, end_spans, start_spans
from sigscope.records import SendEvent

__all__ = ["export", "otel_tracer"]


def otel_tracer(tracer_provider: Any) -> Any:
    """sigscope's OpenTelemetry tracer (instrumentation scope ``sigscope``)."""
    from sigscope import __version__

    return otel_trace.get_tracer("sigscope", __version__, tracer_provider=tracer_provider)


def _events(trace: Any) -> list[SendEvent]:
    if isinstance(trace, (str, os.PathLike)):
        from sigscope.tracing.jsonl import traced_files

        return list(traced_files(trace).events)
    events = getattr(trace, "events", trace)
    if not isinstance(events, Iterable):
        raise TypeError(f"export() takes a Trace, SendEvents or a .jsonl path, not {trace!r}")
    out = list(events)
    for event in out:
        if not isinstance(event, SendEvent):
            raise TypeError(f"export() takes SendEvent records, not {type(event).__name__}")
    return out


def export(
    trace: Any,
    tracer_provider: Any = None,
    *,
    receiver_spans: bool = True,
    kwargs: bool = True,
) -> int:
    """Emit the spans of recorded sends, with their recorded start and end times.

    Parameters
    ----------
    trace
        A ``Trace`` (what ``with sigscope.trace() as t`` gives), an iterable of
        ``SendEvent`` records, or the path of a JSON Lines file written by
        ``Trace.to_jsonl`` (all its runs, merged as by ``Trace.from_jsonl``).
    tracer_provider
        Where the spans go; the global tracer provider when ``None``.
    receiver_spans, kwargs
        Also emit a span per receiver call; keyword arguments as attributes.

    Returns
    -------
    int
        The number of spans emitted.  Top-level sends are children of the span
        current when ``export`` is called (if any); nested sends are children of
        the receiver span they were sent from.
    """
    events = _events(trace)
    tracer = otel_tracer(tracer_provider)
    shape = SpanShape(receiver_spans=receiver_spans, kwargs=kwargs)
    kids = children_of(events)
    inner = {e.id for group in kids.values() for e in group}
    opened: Opened = []
    for event in events:
        if event.id not in inner:
            start_spans(tracer, event, kids, context=None, shape=shape, opened=opened)
    return end_spans(opened)
