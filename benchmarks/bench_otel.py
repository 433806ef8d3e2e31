"""What live OpenTelemetry spans cost: ``sigscope.otel.instrument()`` vs raw Django vs a tracer.

Run:  python benchmarks/bench_otel.py        (prints a Markdown table; needs opentelemetry-sdk)

Workloads (as in ``bench_tracing.py``):

* ``send``: ``signal.send(sender=None)`` on a fresh ``Signal`` with 10 no-op receivers;
* ``create``: ``Tag.objects.create()`` on the demo's in-memory SQLite (one ``post_save``
  receiver runs), each round in a rolled-back ``transaction.atomic()``, ``DEBUG`` off;
* ``GET``: ``django.test.Client().get()`` of a view returning ``HttpResponse("ok")``
  (``request_started``/``request_finished`` run Django's own receivers).

Modes, interleaved (the order rotates every round; medians of ns per operation):

* ``raw``: no tracer;
* ``trace()``: a running ``Tracer(max_events=1000)``;
* ``otel (no SDK)``: ``instrument()`` with OpenTelemetry's no-op tracer provider (the API
  installed, no SDK configured);
* ``otel (SDK)``: ``instrument()`` with the SDK's ``TracerProvider`` and a
  ``SimpleSpanProcessor`` whose exporter drops every span (the whole cost of building,
  ending and handing over each span, in the sending thread);
* ``otel (SDK, send spans only)``: the same with ``receiver_spans=False``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django
from bench_tracing import calibrate, create_workload, fmt, get_workload, send_workload, timed

import sigscope.demo

Mode = Callable[[], contextlib.AbstractContextManager[object]]


class DropExporter:
    """A span exporter that counts spans and drops them."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: object) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.spans += len(spans)  # type: ignore[arg-type]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def modes(exporter: DropExporter) -> dict[str, Mode]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import NoOpTracerProvider

    import sigscope.otel
    from sigscope.tracing import Tracer

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    tracer = Tracer(max_events=1000)

    @contextlib.contextmanager
    def traced() -> Iterator[None]:
        tracer.start()
        try:
            yield
        finally:
            tracer.stop()

    def instrumented(where: object, **options: bool) -> Mode:
        @contextlib.contextmanager
        def mode() -> Iterator[None]:
            sigscope.otel.instrument(where, **options)
            try:
                yield
            finally:
                sigscope.otel.uninstrument()

        return mode

    return {
        "raw": contextlib.nullcontext,
        "trace()": traced,
        "otel (no SDK)": instrumented(NoOpTracerProvider()),
        "otel (SDK)": instrumented(provider),
        "otel (SDK, send spans only)": instrumented(provider, receiver_spans=False),
    }


def measure(run: Callable[[int], int], chosen: dict[str, Mode], rounds: int) -> dict[str, float]:
    ops = calibrate(run)
    names = list(chosen)
    times: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up
        with chosen[name]():
            timed(run, ops)
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            with chosen[name]():
                times[name].append(timed(run, ops))
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds of each (default 9)")
    args = parser.parse_args(argv)
    sigscope.demo.migrate()
    from django.conf import settings

    from sigscope.demo.blog.models import Tag

    settings.DEBUG = False
    import opentelemetry.sdk.version

    print(
        f"- platform: {platform.platform()} ({platform.machine()}), "
        f"os.cpu_count(): {os.cpu_count()}\n"
        f"- Python {platform.python_version()}, Django {django.get_version()}, "
        f"sigscope {sigscope.__version__}, "
        f"opentelemetry-sdk {opentelemetry.sdk.version.__version__}\n"
        f"- {args.rounds} interleaved rounds per case, medians, per operation\n",
        flush=True,
    )
    exporter = DropExporter()
    chosen = modes(exporter)
    cases = {
        "`send`, 10 receivers": send_workload(10),
        "`Tag.objects.create()` (1 `post_save` receiver)": create_workload(Tag, name="tag-{}"),
        "test-client `GET`": get_workload(),
    }
    names = list(chosen)
    print("| case | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for case, run in cases.items():
        before = exporter.spans
        medians = measure(run, chosen, args.rounds)
        raw = medians["raw"]
        cells = [fmt(raw)] + [f"{fmt(medians[n])} ({medians[n] / raw:.2f}×)" for n in names[1:]]
        print(f"| {case} | " + " | ".join(cells) + " |", flush=True)
        assert exporter.spans > before, f"no spans were exported for {case}"
    print(f"\nspans built and handed to the (dropping) exporter: {exporter.spans:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
