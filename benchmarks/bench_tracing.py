"""What a running Tracer costs, next to raw Django and to sentry-sdk's ``signals_spans``.

Run:  python benchmarks/bench_tracing.py        (prints a Markdown table; needs sentry-sdk
      for the peer rows, else they are skipped and say so)
      python benchmarks/bench_tracing.py --only create --only get --rounds 31 --cpu 1
                                              (some cases, pinned to one CPU: steadier on
                                              a busy machine)

* ``send``: ``signal.send(sender=None)`` on a fresh ``Signal`` with 0, 1, 10 and
  100 no-op receivers (distinct module-level functions, connected weakly).
* ``create``: ``Model.objects.create()`` on the demo project's in-memory SQLite
  (``blog.Tag`` and ``shop.Customer``: only the any-sender ``post_save`` receiver
  runs; ``pre_save`` and ``post_save`` also hold ``shop.Order``-only receivers,
  which Django skips).  Each round's creates run in one ``transaction.atomic()``
  block that is rolled back, untimed, so the tables do not grow.  ``DEBUG`` is
  switched off (the demo turns it on) so the query log is not part of the cost.
* ``create`` in a running event loop: ``Tag.objects.create()`` inside an
  ``asyncio.run()`` task, as code in a notebook cell runs (ipykernel >= 6): a
  send then notes its task.
* ``get``: ``django.test.Client().get("/ping/")`` of a view returning ``HttpResponse("ok")``
  (no middleware, no database): ``request_started``/``request_finished`` fire, the
  second with the test client's own receiver.
* ``traced`` = a ``Tracer(max_events=1000)`` is running (its ring buffer is full
  after the first round, so old events are being dropped, as in a long trace).
* ``no tracer active``: the 10-receiver send timed before any tracer ever started,
  then again right after a tracer traced it and stopped (``Signal``'s class
  attributes restored).  These two phases cannot be interleaved, so a few per cent
  of drift is noise; the identity check of the restored attributes is what shows
  zero cost.

* ``sentry-sdk``: run in a child process (its patches cannot be undone):
  ``sentry_sdk.init(dsn="https://public@127.0.0.1/1", transport=<a Transport that
  drops every envelope>, traces_sample_rate=1.0,
  integrations=[DjangoIntegration(signals_spans=True)], default_integrations=False)``,
  each round inside ``sentry_sdk.start_transaction()``.  Its ratio isolates
  ``signals_spans``: rounds alternate between its ``Signal._live_receivers`` patch
  and Django's original (its other Django patches stay on in both).

Every figure is the median over interleaved rounds (untraced and traced rounds
alternate, the order flipping each round, to cancel drift), per operation, with
the garbage collector off while timing (and a full collection between rounds).
"paired rounds" is the median and the interquartile range of the ratio of each
traced round to the untraced round next to it: how far one run's ratio can be
trusted on a machine whose speed drifts.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable

import django

import sigscope.demo

ROUND_NS = 20_000_000  # aim for ~20 ms per untraced round

Workload = Callable[[int], int]  # (operations) -> elapsed ns for them


# --------------------------------------------------------------------------- workloads


def make_receivers(n: int) -> types.ModuleType:
    """A module with ``n`` distinct no-op receiver functions ``r0`` .. ``r{n-1}``."""
    module = types.ModuleType(f"bench_receivers_{n}")
    sys.modules[module.__name__] = module  # keeps the weakly connected functions alive
    for i in range(n):
        source = f"def r{i}(sender, **kwargs):\n    return None\n"
        exec(compile(source, f"<{module.__name__}>", "exec"), module.__dict__)
    return module


def send_workload(receivers: int) -> Workload:
    from django.dispatch import Signal

    signal = Signal()
    module = make_receivers(receivers)
    for i in range(receivers):
        signal.connect(module.__dict__[f"r{i}"])  # weak, the default
    assert len(signal.receivers) == receivers

    def run(ops: int) -> int:
        send = signal.send  # looked up per round: the tracer patches the class
        loop = range(ops)
        start = time.perf_counter_ns()
        for _ in loop:
            send(sender=None)
        return time.perf_counter_ns() - start

    run.keep = module  # type: ignore[attr-defined]
    return run


def create_workload(model: type, **fields: str) -> Workload:
    from django.db import transaction

    counter = itertools.count()

    def run(ops: int) -> int:
        create = model.objects.create
        values = [{k: v.format(next(counter)) for k, v in fields.items()} for _ in range(ops)]
        with transaction.atomic():
            start = time.perf_counter_ns()
            for kwargs in values:
                create(**kwargs)
            elapsed = time.perf_counter_ns() - start
            transaction.set_rollback(True)
        return elapsed

    return run


def in_running_loop(run: Workload) -> Workload:
    """``run`` inside a running event loop's task, as a notebook cell runs (ipykernel >= 6).

    The ORM then needs ``DJANGO_ALLOW_ASYNC_UNSAFE``, which ``sigscope.setup()``
    sets in a notebook; starting the loop is not timed.
    """
    import asyncio

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    def wrapped(ops: int) -> int:
        async def cell() -> int:
            return run(ops)

        return asyncio.run(cell())

    return wrapped


def get_workload() -> Workload:
    """``Client().get("/ping/")`` of a trivial view (its own URLconf, no middleware)."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import Client
    from django.urls import clear_url_caches, path

    urls = types.ModuleType("bench_tracing_urls")
    urls.urlpatterns = [path("ping/", lambda request: HttpResponse("ok"))]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    clear_url_caches()
    client = Client()

    def run(ops: int) -> int:
        get = client.get
        start = time.perf_counter_ns()
        for _ in range(ops):
            get("/ping/")
        return time.perf_counter_ns() - start

    assert client.get("/ping/").status_code == 200
    return run


# --------------------------------------------------------------------------- timing


def timed(run: Workload, ops: int) -> float:
    """ns per operation of one round (gc off while timing, full collection before)."""
    gc.collect()
    gc.disable()
    try:
        return run(ops) / ops
    finally:
        gc.enable()


def calibrate(run: Workload) -> int:
    """Operations per round for ~ROUND_NS untraced (fastest of 3 tries, against warm-up noise)."""
    ops = 1
    while True:
        elapsed = min(run(ops) for _ in range(3))
        if elapsed >= ROUND_NS / 10 or ops >= 1_000_000:
            break
        ops *= 10
    return max(1, min(1_000_000, int(ops * ROUND_NS / max(elapsed, 1))))


def interleaved(
    run: Workload, rounds: int, on: Callable[[], object], off: Callable[[], object]
) -> tuple[float, float, list[float]]:
    """Median ns/op with ``off()`` and with ``on()`` in force, from alternating rounds,
    and the ratio of each pair of adjacent rounds (traced / plain)."""
    ops = calibrate(run)

    def switched(n: int) -> float:
        on()
        try:
            return timed(run, n)
        finally:
            off()

    timed(run, ops)  # warm-up, both ways
    switched(ops)
    plain_times: list[float] = []
    traced_times: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            plain_times.append(timed(run, ops))
            traced_times.append(switched(ops))
        else:
            traced_times.append(switched(ops))
            plain_times.append(timed(run, ops))
    pairs = [t / p for p, t in zip(plain_times, traced_times, strict=True)]
    return statistics.median(plain_times), statistics.median(traced_times), pairs


def spread(pairs: list[float]) -> str:
    """The middle half of the paired ratios, e.g. ``1.08–1.17``."""
    if len(pairs) < 4:
        return "–"
    low, _, high = statistics.quantiles(pairs, n=4)
    return f"{low:.2f}–{high:.2f}"


def cases() -> list[tuple[str, Callable[[], Workload]]]:
    """(name, make) of every case; ``make()`` imports the models (after Django's setup)."""

    def tag(name: str) -> Workload:
        from sigscope.demo.blog.models import Tag

        return create_workload(Tag, name=name)

    def customer() -> Workload:
        from sigscope.demo.shop.models import Customer

        return create_workload(Customer, name="customer {}", email="c{}@example.com")

    found: list[tuple[str, Callable[[], Workload]]] = []
    for n in (0, 1, 10, 100):
        found.append((f"`send`, {n} receiver{'s' if n != 1 else ''}", lambda n=n: send_workload(n)))
    found.append(("`Tag.objects.create()`", lambda: tag("tag-{}")))
    found.append(("`Customer.objects.create()`", customer))
    found.append(
        (
            "`Tag.objects.create()` in a running event loop (a notebook cell)",
            lambda: in_running_loop(tag("loop-tag-{}")),
        )
    )
    found.append(("`Client().get()` of a trivial view", get_workload))
    return found


def selected(only: list[str]) -> list[tuple[str, Callable[[], Workload]]]:
    """The cases whose name contains one of ``only`` (case-insensitive); all if empty."""
    wanted = [text.lower() for text in only]
    return [
        (case, make)
        for case, make in cases()
        if not wanted or any(text in case.lower() for text in wanted)
    ]


def sigscope_rows(
    rounds: int, only: list[str]
) -> tuple[list[tuple[str, float, float, list[float]]], dict[str, int]]:
    from sigscope.tracing import Tracer

    rows, recorded = [], {}
    for case, make in selected(only):
        tracer = Tracer(max_events=1000)
        plain, traced, pairs = interleaved(make(), rounds, tracer.start, tracer.stop)
        rows.append((case, plain, traced, pairs))
        recorded[case] = len(tracer.events) + tracer.dropped
    return rows, recorded


def sentry_rows(rounds: int, only: list[str]) -> list[tuple[str, float, float]]:
    """The peer, in this (child) process: sentry-sdk's signals_spans on vs off."""
    import sentry_sdk
    from django.dispatch import Signal
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    class DropTransport(Transport):
        def capture_envelope(self, envelope: object) -> None:
            pass

    original = vars(Signal)["_live_receivers"]
    sentry_sdk.init(
        dsn="https://public@127.0.0.1/1",
        transport=DropTransport,
        traces_sample_rate=1.0,
        integrations=[DjangoIntegration(signals_spans=True)],
        default_integrations=False,
    )
    patched = vars(Signal)["_live_receivers"]
    assert patched is not original, "sentry-sdk did not patch Signal._live_receivers"
    Signal._live_receivers = original  # type: ignore[method-assign]

    def in_transaction(run: Workload) -> Workload:
        def wrapped(ops: int) -> int:
            with sentry_sdk.start_transaction(name="bench", op="bench"):
                return run(ops)

        return wrapped

    rows = []
    for case, make in selected(only):
        plain, traced, _ = interleaved(
            in_transaction(make()),
            rounds,
            lambda: setattr(Signal, "_live_receivers", patched),
            lambda: setattr(Signal, "_live_receivers", original),
        )
        rows.append((case, plain, traced))
    return rows


def peer_rows(rounds: int, only: list[str]) -> tuple[list[tuple[str, float, float]], str]:
    try:
        import sentry_sdk
    except ImportError:
        return [], "sentry-sdk not installed: peer rows skipped"
    # the child inherits this process's CPU affinity (--cpu)
    child = subprocess.run(
        [sys.executable, __file__, "--peer", "--rounds", str(rounds)]
        + [arg for text in only for arg in ("--only", text)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [tuple(row) for row in json.loads(child.stdout.splitlines()[-1])]
    return rows, f"sentry-sdk {sentry_sdk.VERSION}"  # type: ignore[return-value]


def plain_only(run: Workload, rounds: int, ops: int) -> float:
    timed(run, ops)
    return statistics.median(timed(run, ops) for _ in range(rounds))


# --------------------------------------------------------------------------- report


def fmt(ns: float) -> str:
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} µs"
    if ns >= 1000:
        return f"{ns / 1000:,.2f} µs"
    return f"{ns:,.0f} ns"


TARGETS = {
    "`send`, 10 receivers": 1.5,
    "`Customer.objects.create()`": 1.08,
    "`Tag.objects.create()`": 1.08,
    "`Client().get()` of a trivial view": 1.10,
}


def idle_rows(rounds: int) -> list[tuple[str, float, float]]:
    """No tracer active: before any tracer has ever started, then right after one
    traced the same send and stopped (adjacent phases, to keep drift out), and after
    1,000 more starts and stops (CPython 3.13+ caps each class's version tags at
    1,000: without sigscope.tracing.versions they ran out here)."""
    from sigscope.demo.shop.models import Customer
    from sigscope.tracing import Tracer

    idle_send = send_workload(10)
    idle_ops = calibrate(idle_send)
    idle_create = create_workload(Customer, name="idle {}", email="idle{}@example.com")
    create_ops = calibrate(idle_create)
    before = plain_only(idle_send, rounds, idle_ops)
    create_before = plain_only(idle_create, rounds, create_ops)
    with Tracer(max_events=1000):
        timed(idle_send, idle_ops)
    after = plain_only(idle_send, rounds, idle_ops)
    cycling = Tracer(max_events=10)
    for _ in range(1000):
        with cycling:
            idle_send(1)
        idle_send(1)
        idle_create(1)
    cycled = plain_only(idle_send, rounds, idle_ops)
    create_after = plain_only(idle_create, rounds, create_ops)
    idle = "`send`, 10 receivers, no tracer running"
    return [
        (f"{idle} (before any start vs after stop)", before, after),
        (f"{idle} (before vs after 1,000 more starts and stops)", before, cycled),
        (
            "`Customer.objects.create()`, no tracer running (before any start vs after 1,001)",
            create_before,
            create_after,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of each (default 15)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the cases whose name contains TEXT, e.g. create (repeatable; "
        "skips the no-tracer-running rows)",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        metavar="N",
        help="run pinned to CPU N (Linux), as taskset -c N: steadier on a busy machine",
    )
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = args.rounds
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    if not selected(args.only):
        names = "; ".join(case.replace("`", "") for case, _ in cases())
        parser.error(f"--only {' '.join(args.only)!r} matches no case (cases: {names})")
    if args.cpu is not None:
        if not hasattr(os, "sched_setaffinity"):
            parser.error("--cpu needs os.sched_setaffinity (Linux)")
        if args.cpu not in os.sched_getaffinity(0):
            allowed = ", ".join(map(str, sorted(os.sched_getaffinity(0))))
            parser.error(f"--cpu {args.cpu}: not a CPU this process may use ({allowed})")
        os.sched_setaffinity(0, {args.cpu})

    sigscope.demo.migrate()
    from django.conf import settings
    from django.dispatch import Signal

    from sigscope.tracing import active_tracers

    settings.DEBUG = False
    if args.peer:
        print(json.dumps(sentry_rows(rounds, args.only)))
        return 0
    originals = dict(vars(Signal))
    thread_start = threading.Thread.start

    print(
        f"- platform: {platform.platform()} ({platform.machine()})\n"
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"Django {django.get_version()}, sigscope {sigscope.__version__}\n"
        f"- os.cpu_count(): {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n"
        f"- {rounds} interleaved rounds per case, medians, ns/µs per operation"
        + (f", pinned to CPU {args.cpu}" if args.cpu is not None else "")
        + "\n",
        flush=True,
    )

    idle = idle_rows(rounds) if not args.only else []
    rows, recorded = sigscope_rows(rounds, args.only)
    peers, peer_note = peer_rows(rounds, args.only)
    assert not active_tracers()
    restored = threading.Thread.start is thread_start and dict(vars(Signal)) == originals

    print(
        "| case | raw Django | sigscope | ratio | paired rounds, median (middle half) "
        "| sentry-sdk `signals_spans` | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    peer = {case: (plain, traced) for case, plain, traced in peers}
    for case, plain, traced, pairs in rows:
        paired = f"{statistics.median(pairs):.2f}× ({spread(pairs)})"
        cells = [case, fmt(plain), fmt(traced), f"{traced / plain:.2f}×", paired]
        if case in peer:
            p_plain, p_traced = peer[case]
            cells += [fmt(p_traced), f"{p_traced / p_plain:.2f}×"]
        else:
            cells += ["–", "–"]
        print("| " + " | ".join(cells) + " |")
    for case, plain, traced in idle:
        print(f"| {case} | {fmt(plain)} | {fmt(traced)} | {traced / plain:.2f}× | – | – | – |")

    ratios = {case: (traced / plain, pairs) for case, plain, traced, pairs in rows}
    print("\nTargets (ratio of the medians; the paired rounds' median in brackets):")
    for case, limit in TARGETS.items():
        if case in ratios:
            ratio, pairs = ratios[case]
            verdict = "met" if ratio <= limit else "MISSED"
            print(
                f"- ≤ {limit:.2f}× on {case}: {ratio:.2f}× ({verdict}) "
                f"[{statistics.median(pairs):.2f}×]"
            )
    if idle:
        before, after = idle[0][1], idle[0][2]
        print(
            f"- 1.00× with no tracer running: {after / before:.2f}× (phases not interleavable; "
            f"every Signal class attribute and Thread.start restored as the same objects: "
            f"{'yes' if restored else 'NO'})"
        )
    else:
        print(
            "- every Signal class attribute and Thread.start restored as the same objects: "
            + ("yes" if restored else "NO")
        )
    print(f"- peer: {peer_note}")
    quiet = [c for c, n in recorded.items() if n == 0 and "0 receivers" not in c]
    print(
        "- sends recorded while traced: "
        + ", ".join(f"{c} {n:,}" for c, n in recorded.items())
        + (f" — NOTHING recorded for {', '.join(quiet)}" if quiet else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
