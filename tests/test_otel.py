"""``sigscope.otel``: recorded and live sends as OpenTelemetry spans (in-memory exporter only)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import threading

import pytest
from django.dispatch import Signal
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path
from django.views.debug import SafeExceptionReporterFilter
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import sigscope
import sigscope.otel
from sigscope.otel.spans import wall_ns
from sigscope.tracing import active_tracers

pytestmark = pytest.mark.usefixtures("tracing_path")  # the C and the pure-Python path

#: What Django's error pages (and so sigscope) show instead of a secret.
HIDDEN = SafeExceptionReporterFilter.cleansed_substitute

ping = Signal()
pong = Signal()


def plain(sender, **kwargs):
    return "plain result"


def relay(sender, **kwargs):
    pong.send(sender="relay", hop=1)
    return None


def boom(sender, **kwargs):
    raise ValueError("bad total")


def answer(sender, **kwargs):
    return 42


@pytest.fixture(autouse=True)
def _clean():
    yield
    sigscope.otel.uninstrument()
    assert active_tracers() == ()
    for signal in (ping, pong):
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()


@pytest.fixture
def exporter():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    exporter.provider = provider
    yield exporter
    provider.shutdown()


def sends(spans):
    return [s for s in spans if s.name.startswith("send ")]


def receives(spans):
    return [s for s in spans if s.name.startswith("receive ")]


def under(spans, parent):
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def connect_cascade():
    ping.connect(plain, weak=False)
    ping.connect(relay, weak=False)
    pong.connect(answer, weak=False)


def test_export_shape_nesting_and_recorded_times(exporter):
    connect_cascade()
    with sigscope.trace() as t:
        ping.send(sender="web", order=7)
    assert sigscope.otel.export(t, tracer_provider=exporter.provider) == 5
    spans = exporter.get_finished_spans()
    assert len(sends(spans)) == len(t.events) == 2
    outer_event = next(e for e in t.events if e.parent is None)
    inner_event = next(e for e in t.events if e.parent is not None)
    [outer] = [s for s in sends(spans) if s.parent is None]
    assert outer.name == "send ping" and outer.kind is SpanKind.INTERNAL
    assert dict(outer.attributes) == {
        "django.signal": outer_event.signal,
        "django.signal.method": "send",
        "django.signal.sender": "'web'",
        "django.signal.receivers": 2,
        "django.signal.kwargs.order": "7",
        "thread.name": threading.current_thread().name,
    }
    assert (outer.start_time, outer.end_time) == (
        wall_ns(outer_event.started_at),
        wall_ns(outer_event.started_at) + outer_event.duration_ns,
    )
    first, second = sorted(under(spans, outer), key=lambda s: s.start_time)
    assert [first.name, second.name] == ["receive ping", "receive ping"]
    for span, call in zip((first, second), outer_event.calls):
        assert span.start_time == outer.start_time + call.offset_ns
        assert span.end_time == span.start_time + call.duration_ns
        assert span.attributes["django.signal.receiver.index"] == call.index
        assert span.attributes["code.function.name"] == call.name
    assert first.attributes["code.function.name"].endswith("test_otel.plain")
    assert first.attributes["code.file.path"] == __file__
    assert first.attributes["code.line.number"] == plain.__code__.co_firstlineno
    assert first.attributes["django.signal.result"] == "'plain result'"
    [inner] = under(spans, second)  # pong was sent by relay, the second receiver
    assert inner.name == "send pong" and inner.start_time == wall_ns(inner_event.started_at)
    assert [s.attributes["django.signal.result"] for s in under(spans, inner)] == ["42"]
    assert len({s.context.trace_id for s in spans}) == 1


def test_errors_set_status_and_record_the_exception(exporter):
    ping.connect(plain, weak=False)
    ping.connect(boom, weak=False)
    with sigscope.trace() as t:
        with pytest.raises(ValueError):
            ping.send(sender=None)
        ping.send_robust(sender=None)
    sigscope.otel.export(t.events, tracer_provider=exporter.provider)
    spans = exporter.get_finished_spans()
    raising, robust = sorted(sends(spans), key=lambda s: s.start_time)
    assert raising.status.status_code is StatusCode.ERROR  # the exception left the send
    assert robust.status.status_code is StatusCode.UNSET  # send_robust returned it
    for send in (raising, robust):
        ok, failed = sorted(under(spans, send), key=lambda s: s.start_time)
        assert ok.status.status_code is StatusCode.UNSET and not ok.events
        assert failed.status.status_code is StatusCode.ERROR
        assert failed.status.description == "ValueError: bad total"
        assert failed.attributes["error.type"] == "ValueError"
        [event] = failed.events
        assert event.name == "exception" and event.timestamp == failed.end_time
        assert event.attributes["exception.type"] == "ValueError"
        assert event.attributes["exception.message"] == "bad total"
        assert "in boom" in event.attributes["exception.stacktrace"]


def test_kwargs_are_redacted_and_options_drop_kwargs_and_receiver_spans(exporter):
    connect_cascade()
    with sigscope.trace() as t:
        ping.send(sender=None, password="hunter2", user="ada")
    sigscope.otel.export(t, tracer_provider=exporter.provider)
    [outer] = [s for s in exporter.get_finished_spans() if s.name == "send ping"]
    assert outer.attributes["django.signal.kwargs.password"] == HIDDEN
    assert outer.attributes["django.signal.kwargs.user"] == "'ada'"
    assert not any("hunter2" in str(v) for v in outer.attributes.values())
    exporter.clear()
    assert sigscope.otel.export(t, exporter.provider, receiver_spans=False, kwargs=False) == 2
    outer, inner = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    assert inner.parent.span_id == outer.context.span_id  # no receiver span in between
    assert not [k for k in outer.attributes if k.startswith("django.signal.kwargs.")]


def test_export_reads_a_jsonl_file(exporter, tmp_path):
    connect_cascade()
    with sigscope.trace() as t:
        ping.send(sender="web")
    t.to_jsonl(str(tmp_path / "run.jsonl"))
    assert sigscope.otel.export(t, tracer_provider=exporter.provider) == 5
    direct = exporter.get_finished_spans()
    exporter.clear()
    assert sigscope.otel.export(tmp_path / "run.jsonl", tracer_provider=exporter.provider) == 5
    replayed = exporter.get_finished_spans()

    def shape(spans):
        names = {s.context.span_id: s.name for s in spans}
        parent = {
            s.context.span_id: names.get(s.parent.span_id) if s.parent else None for s in spans
        }
        return sorted(
            (
                s.name,
                parent[s.context.span_id],
                s.start_time,
                s.end_time,
                *sorted(s.attributes.items()),
            )
            for s in spans
        )

    assert shape(replayed) == shape(direct)


def test_export_rejects_what_is_not_a_trace(exporter):
    with pytest.raises(TypeError, match="SendEvent"):
        sigscope.otel.export([object()], tracer_provider=exporter.provider)


def test_instrument_emits_live_spans_like_the_recorded_sends(exporter):
    connect_cascade()
    ping.connect(boom, weak=False)
    otel = exporter.provider.get_tracer("test")
    with sigscope.trace() as t, otel.start_as_current_span("request") as request:
        sigscope.otel.instrument(exporter.provider)
        with pytest.raises(ValueError):
            ping.send(sender="web", password="hunter2")
        sigscope.otel.uninstrument()
    spans = [s for s in exporter.get_finished_spans() if s.name != "request"]
    assert len(sends(spans)) == len(t.events) == 2
    assert len(receives(spans)) == sum(len(e.calls) for e in t.events) == 4
    [outer] = [s for s in spans if s.name == "send ping"]
    assert outer.parent.span_id == request.get_span_context().span_id
    assert outer.attributes["django.signal.kwargs.password"] == HIDDEN
    assert outer.status.status_code is StatusCode.ERROR
    relay_span = next(
        s for s in under(spans, outer) if s.attributes["code.function.name"].endswith("relay")
    )
    assert [s.name for s in under(spans, relay_span)] == ["send pong"]
    outer_event = next(e for e in t.events if e.parent is None)
    # Two tracers, two clocks read a few µs apart: the live span is within the recorded one.
    assert abs(outer.start_time - wall_ns(outer_event.started_at)) < 5_000_000
    assert outer.end_time - outer.start_time <= outer_event.duration_ns


def test_uninstrument_restores_signal_exactly(exporter):
    before = dict(vars(Signal))
    tracer = sigscope.otel.instrument(exporter.provider)
    assert vars(Signal)["send"] is not before["send"] and tracer.running
    with pytest.raises(RuntimeError, match="already instrumented"):
        sigscope.otel.instrument(exporter.provider)
    sigscope.otel.uninstrument()
    assert vars(Signal).keys() == before.keys()
    assert all(vars(Signal)[name] is value for name, value in before.items())
    ping.connect(plain, weak=False)
    ping.send(sender=None)
    assert exporter.get_finished_spans() == ()  # nothing after uninstrument()


def test_a_send_from_a_thread_that_outlives_its_receiver(exporter):
    go = threading.Event()
    threads = []

    def spawn(sender, **kwargs):
        def later():
            go.wait(10)
            pong.send(sender="thread")

        threads.append(threading.Thread(target=later))
        threads[0].start()

    ping.connect(spawn, weak=False)
    pong.connect(answer, weak=False)
    sigscope.otel.instrument(exporter.provider)
    ping.send(sender=None)
    assert [s.name for s in exporter.get_finished_spans()] == ["receive ping", "send ping"]
    go.set()
    threads[0].join(10)
    sigscope.otel.uninstrument()
    spans = exporter.get_finished_spans()
    [receive_ping] = [s for s in spans if s.name == "receive ping"]
    [send_pong] = [s for s in spans if s.name == "send pong"]
    assert send_pong.parent.span_id == receive_ping.context.span_id


def test_a_send_whose_parent_is_filtered_out_becomes_a_root(exporter):
    connect_cascade()
    sigscope.otel.instrument(exporter.provider, exclude=["ping"])
    ping.send(sender=None)  # not recorded: relay's pong has no recorded parent
    pong.send(sender="direct")
    sigscope.otel.uninstrument()
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans if s.parent is None) == ["send pong", "send pong"]
    assert len(spans) == 4


def event(id, parent, *, thread_id=1, started_at=1_800_000_000.0):
    from sigscope.records import SendEvent

    return SendEvent(
        id, parent, "app.signals.done", "send", None, (), "T", thread_id, None, started_at, 10, ()
    )


def test_sends_waiting_for_a_parent_that_never_comes_are_flushed(exporter):
    from sigscope.otel.live import _Live
    from sigscope.otel.replay import otel_tracer
    from sigscope.otel.spans import SpanShape

    live = _Live(otel_tracer(exporter.provider), SpanShape())
    live(event(5, (4, 0)))  # its parent, send 4, is not recorded (another tracer's filter)
    live(event(7, (6, 0), thread_id=2))  # waits in another thread
    assert exporter.get_finished_spans() == () and set(live.waiting) == {4, 6}
    live(event(8, None))  # a top-level send ended in thread 1: send 4 cannot be running there
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["send done", "send done"]
    assert set(live.waiting) == {6}
    live(event(6, None, thread_id=2))  # the other parent arrives: its child goes under it
    spans = {s.context.span_id: s for s in exporter.get_finished_spans()}
    [child] = [s for s in spans.values() if s.parent is not None]
    assert spans[child.parent.span_id].start_time == child.start_time == 1_800_000_000 * 10**9
    assert live.waiting == {}


def test_a_sampled_out_request_gets_no_signal_spans():
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    connect_cascade()
    sigscope.otel.instrument(provider)
    with provider.get_tracer("test").start_as_current_span("request") as request:
        assert ping.send(sender=None)[0] == (plain, "plain result")
    sigscope.otel.uninstrument()
    assert not request.is_recording() and exporter.get_finished_spans() == ()


class Failing(SpanProcessor):
    def on_start(self, span, parent_context=None):
        raise RuntimeError("exporter down")


def test_a_failing_span_pipeline_never_reaches_the_application():
    provider = TracerProvider()
    provider.add_span_processor(Failing())
    ping.connect(plain, weak=False)
    tracer = sigscope.otel.instrument(provider)
    with pytest.warns(RuntimeWarning, match="listener raised RuntimeError"):
        assert ping.send(sender=None) == [(plain, "plain result")]
    assert ping.send(sender=None) == [(plain, "plain result")]
    assert tracer.listener_errors == 2


# --------------------------------------------------------------------------- Django request span


def order_view(request):
    ping.send(sender="view", path=request.path)
    return HttpResponse("ok")


urlpatterns = [path("order/", order_view)]


@pytest.fixture
def django_instrumented(exporter):
    from django.conf import settings
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    middleware = list(settings.MIDDLEWARE)
    DjangoInstrumentor().instrument(tracer_provider=exporter.provider)
    try:
        yield exporter
    finally:
        DjangoInstrumentor().uninstrument()
        assert list(settings.MIDDLEWARE) == middleware


@override_settings(ROOT_URLCONF=__name__)
def test_the_django_request_span_is_the_parent(django_instrumented):
    connect_cascade()
    sigscope.otel.instrument(django_instrumented.provider)
    response = Client().get("/order/")
    sigscope.otel.uninstrument()
    assert response.status_code == 200
    spans = django_instrumented.get_finished_spans()
    [request] = [s for s in spans if s.kind is SpanKind.SERVER]
    [send] = [s for s in spans if s.name == "send ping"]
    assert send.parent.span_id == request.context.span_id
    assert send.context.trace_id == request.context.trace_id
    assert send.attributes["django.signal.kwargs.path"] == "'/order/'"
    assert request.start_time <= send.start_time <= send.end_time <= request.end_time
    assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN


# --------------------------------------------------------------------------- many processes


def trace_demo(*args: str, cwd: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.Popen(
        [sys.executable, "-m", "sigscope.cli", "trace", *args, "--demo"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_from_jsonl_merges_the_files_of_two_processes(tmp_path):
    workers = [trace_demo("--jsonl", "worker-{pid}.jsonl", cwd=str(tmp_path)) for _ in range(2)]
    for worker in workers:
        assert worker.wait(120) == 0, worker.stderr.read()
        worker.stderr.close()
    files = sorted(glob.glob(str(tmp_path / "worker-*.jsonl")))
    assert [os.path.basename(f) for f in files] == sorted(f"worker-{w.pid}.jsonl" for w in workers)
    merged = sigscope.Trace.from_jsonl(files)
    one = sigscope.Trace.from_jsonl(files[0])
    assert len(merged) == 2 * len(one) > 0
    events = merged.events
    assert sorted(e.id for e in events) == list(range(1, len(events) + 1))
    assert {e.process for e in events} == {f"{os.uname().nodename}:{w.pid}" for w in workers}
    by_id = {e.id: e for e in events}
    shipped = merged.sends("order_shipped")
    assert len(shipped) == 2
    for event in shipped:
        parent = by_id[event.parent[0]]
        assert parent.process == event.process and parent.signal.endswith("post_save")
        assert parent.calls[event.parent[1]].name.endswith("notify_shipped")
    assert merged.tree().count("▸ order_shipped(shop.Order)") == 2
    signals, _ = merged.summary()
    one_signals, _ = one.summary()
    assert {s.signal: s.sends for s in signals} == {s.signal: 2 * s.sends for s in one_signals}


def test_append_keeps_every_run_of_one_file(tmp_path):
    for _ in range(2):
        worker = trace_demo("--jsonl", "all.jsonl", "--append", cwd=str(tmp_path))
        assert worker.wait(120) == 0, worker.stderr.read()
        worker.stderr.close()
    text = (tmp_path / "all.jsonl").read_text()
    assert text.count('"type": "header"') == 2
    merged = sigscope.Trace.from_jsonl(tmp_path / "all.jsonl")
    assert len({e.process for e in merged.events}) == 2
    assert len(merged.sends("order_shipped")) == 2


def test_append_without_jsonl_is_a_usage_error(tmp_path):
    worker = trace_demo("--append", cwd=str(tmp_path))
    assert worker.wait(60) == 2
    assert "--append needs --jsonl" in worker.stderr.read()
    worker.stderr.close()


def test_from_jsonl_rejects_a_file_that_is_not_a_trace(tmp_path):
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match="not a sigscope trace"):
        sigscope.Trace.from_jsonl(tmp_path / "other.jsonl")


def test_without_opentelemetry_the_import_error_says_what_to_install():
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "try:\n    import sigscope.otel\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install sigscope[otel]" in result.stdout
