"""Inspector render time and the live monitor under a flood of sends.

Run:  python benchmarks/bench_views.py        (prints Markdown tables)

* Inspector: ``sigscope.inspect()`` end to end (snapshot, rows, filters, the graph
  drawn to PNG) on synthetic registries of 100, 1,000 and 5,000 receivers on top
  of the demo project; medians of 3 runs.  Above 300 receivers the picture groups
  receivers by app.
* Monitor: 4 threads send as fast as they can for 3 s while the monitor records;
  reported: sends recorded per second, widget updates per second (target ≤ 10),
  the latency of a trivial operation in the main thread meanwhile (a stand-in
  for "the kernel still runs a cell", target < 100 ms), and resident memory growth
  (the monitor keeps a bounded buffer: it must not grow with the number of sends).
"""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).parent))

import bench_snapshot

import sigscope
import sigscope.demo


def inspector_table() -> None:
    print("| receivers | sigscope.inspect() (s) | picture |")
    print("|---:|---:|---|")
    for n in (100, 1_000, 5_000):
        module = bench_snapshot.build_registry(n)
        times = []
        for _ in range(3):
            gc.collect()
            start = time.perf_counter()
            inspector = sigscope.inspect(hide_builtin=False)
            times.append(time.perf_counter() - start)
        shown = len(inspector.receivers.options)
        picture = "one box per registration" if shown <= 300 else "grouped by app"
        print(f"| {n:,} (+demo, {shown:,} shown) | {statistics.median(times):.2f} | {picture} |")
        for s in range(max(1, n // 10)):
            getattr(module, f"signal_{s}").receivers.clear()
        del sys.modules[module.__name__]


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def monitor_table(seconds: float = 3.0) -> None:
    from django.dispatch import Signal

    flood = Signal()
    flood.connect(lambda sender, **kw: None, weak=False)
    rss_before = _rss_mib()
    monitor = sigscope.monitor()
    stop = threading.Event()
    sent = [0] * 4

    def pump(k: int) -> None:
        while not stop.is_set():
            for _ in range(100):
                flood.send(sender=None)
            sent[k] += 100

    threads = [threading.Thread(target=pump, args=(k,)) for k in range(4)]
    updates_before = monitor.updates
    start = time.monotonic()
    for thread in threads:
        thread.start()
    latencies = []
    while time.monotonic() - start < seconds:
        t0 = time.perf_counter()
        sum(range(1000))  # a trivial "cell"
        latencies.append(time.perf_counter() - t0)
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    time.sleep(0.25)
    updates = monitor.updates - updates_before
    recorded = monitor.live.feed.total
    rss_after = _rss_mib()
    monitor.stop()
    print(
        "| sends attempted/s | sends recorded/s | widget updates/s "
        "| main-thread op p99 | RSS growth |"
    )
    print("|---:|---:|---:|---:|---:|")
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e3
    print(
        f"| {sum(sent) / elapsed:,.0f} | {recorded / elapsed:,.0f} | {updates / elapsed:.1f} | "
        f"{p99:.1f} ms | +{rss_after - rss_before:.1f} MiB |"
    )


def main() -> None:
    sigscope.demo.setup()
    print(
        f"Python {platform.python_version()}, Django {django.get_version()}, {platform.machine()}\n"
    )
    inspector_table()
    print()
    monitor_table()


if __name__ == "__main__":
    main()
