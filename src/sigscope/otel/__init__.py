"""Signal sends as OpenTelemetry spans: replay a recorded trace, or instrument live.

Needs ``opentelemetry-api`` (``pip install sigscope[otel]``); which SDK and
exporter the spans go to is the application's choice (the global tracer provider
unless one is passed).  The span shape is described in :mod:`sigscope.otel.spans`
and the README's "OpenTelemetry" section.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
>>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
>>> from django.dispatch import Signal
>>> exporter = InMemorySpanExporter()
>>> provider = TracerProvider()
>>> provider.add_span_processor(SimpleSpanProcessor(exporter))
>>> order_paid = Signal()
>>> def email_receipt(sender, **kwargs):
...     return "queued"
>>> order_paid.connect(email_receipt)
>>> from sigscope import trace
>>> with trace() as t:
...     _ = order_paid.send(sender=None, card_token="tok_123")
>>> export(t, tracer_provider=provider)
2
>>> [(s.name, s.attributes.get("django.signal.result")) for s in exporter.get_finished_spans()]
[('receive <Signal>', "'queued'"), ('send <Signal>', None)]
>>> exporter.get_finished_spans()[1].attributes["django.signal.kwargs.card_token"]
'********************'
"""

from __future__ import annotations

try:
    import opentelemetry.trace  # noqa: F401
except ImportError as exc:  # tests/test_otel.py checks it in a subprocess
    raise ImportError(
        "sigscope.otel needs OpenTelemetry's API: pip install sigscope[otel] "
        "(or pip install opentelemetry-api)"
    ) from exc

from sigscope.otel.live import instrument, uninstrument
from sigscope.otel.replay import export

__all__ = ["export", "instrument", "uninstrument"]
