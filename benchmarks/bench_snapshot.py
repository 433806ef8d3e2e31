"""Snapshot cost (scan + decode + graph + findings) on synthetic registries.

Run:  python benchmarks/bench_snapshot.py [N ...]   (default 1,000 10,000 50,000;
      prints a Markdown table)

Targets: ≤ 300 ms at 10,000 receivers, ≤ 1.5 s at 50,000 (linear).

The first call in a fresh process is timed too (a subprocess per size): it also pays
for one-time imports (networkx, the analysis modules).

Each registry has N receivers spread over N/10 custom signals, in a synthetic
module, mixing plain functions (weak), bound methods (weak), partials and
callable instances (strong), some with a sender and some with a dispatch_uid,
on top of the demo project's own wiring.  The raw baseline is the least any
inspection must do: walk every ``Signal.receivers`` entry and dereference its
weak reference.  Timings are medians of 5 runs after one warm-up (``gc.collect()``
before each).
"""

from __future__ import annotations

import functools
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
import types

import django
from django.dispatch import Signal

import sigscope
import sigscope.demo
from sigscope.registry import find_signals


class Listener:
    def on(self, sender, **kwargs):
        return None

    def __call__(self, sender, **kwargs):
        return None


def build_registry(n: int) -> types.ModuleType:
    module = types.ModuleType(f"synthetic_{n}")
    sys.modules[module.__name__] = module
    keep = []
    for s in range(max(1, n // 10)):
        signal = Signal()
        setattr(module, f"signal_{s}", signal)
        for r in range(10):
            i = s * 10 + r
            source = f"def receiver_{i}(sender, **kwargs):\n    return {i}\n"
            exec(compile(source, f"<synthetic {i}>", "exec"), module.__dict__)
            func = module.__dict__[f"receiver_{i}"]
            kind = i % 5
            if kind == 0:
                signal.connect(func, dispatch_uid=f"uid-{i}")
            elif kind == 1:
                listener = Listener()
                keep.append(listener)
                signal.connect(listener.on, sender=Listener)
            elif kind == 2:
                signal.connect(functools.partial(func), weak=False)
            elif kind == 3:
                signal.connect(Listener(), weak=False)
            else:
                signal.connect(func, sender=Listener)
    module.keep = keep  # type: ignore[attr-defined]
    return module


def full_snapshot() -> int:
    snap = sigscope.snapshot(scan_source=False)
    # build the graph and the findings; counting nodes is O(1) (number_of_edges() walks them all)
    return snap.graph.number_of_nodes() + len(snap.findings)


def walk_only() -> int:
    count = 0
    for signal in _SIGNALS:
        for entry in signal.receivers:
            ref = entry[1]
            target = ref() if hasattr(ref, "__callback__") else ref
            count += target is not None
    return count


_SIGNALS: list[Signal] = []


def median_ms(func, rounds: int = 5) -> float:
    func()
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def first_call_ms(n: int) -> float:
    """One full snapshot in a fresh process (imports included), wall clock."""
    out = subprocess.run(
        [sys.executable, __file__, "--first", str(n)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def _first(n: int) -> None:
    sigscope.demo.setup()
    build_registry(n)
    gc.collect()
    start = time.perf_counter()
    full_snapshot()
    print(f"{(time.perf_counter() - start) * 1000:.1f}")


def main() -> None:
    if sys.argv[1:2] == ["--first"]:
        _first(int(sys.argv[2]))
        return
    sigscope.demo.setup()
    print(
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| receivers | raw walk (ms) | snapshot + graph + findings (ms) | ratio "
        "| first call, fresh process (ms) |"
    )
    print("|---:|---:|---:|---:|---:|")
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 50_000]
    for n in sizes:
        module = build_registry(n)
        _SIGNALS[:] = [s for s, _, _ in find_signals()]
        raw = median_ms(walk_only)
        full = median_ms(full_snapshot)
        total = sum(len(s.receivers) for s in _SIGNALS)
        for s in range(max(1, n // 10)):
            getattr(module, f"signal_{s}").receivers.clear()
        del sys.modules[module.__name__]
        first = first_call_ms(n)
        print(
            f"| {n:,} (+{total - n} demo) | {raw:.2f} | {full:.1f} | {full / raw:.0f}× "
            f"| {first:.0f} |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
