"""Where a traced ``create()``/``get()`` spends its extra work: bytecodes, counted, per function.

Run:  python benchmarks/tracing_opcodes.py [create|get|send10] [--top N]

Counts the bytecodes CPython executes per operation (``sys.settrace`` with
``f_trace_opcodes``), raw and with a ``Tracer`` running, and prints the
difference per function.  Unlike timings, the counts do not depend on the load
of the machine, so they show what a change saves even on a busy box.  The
workloads are ``bench_tracing``'s.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_tracing as bench


def _short(path: str) -> str:
    return path.split("site-packages/")[-1].split("/src/")[-1]


def count(run: Any, traced: bool, ops: int = 10) -> collections.Counter[str]:
    """Bytecodes executed per function over ``ops`` operations."""
    from sigscope.tracing import Tracer

    tracer = Tracer(max_events=1000)
    if traced:
        tracer.start()
    run(50)  # warm: caches filled, the ring buffer turning over
    counts: collections.Counter[str] = collections.Counter()

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        key = f"{_short(frame.f_code.co_filename)}:{frame.f_code.co_name}"

        def on_opcode(frame: Any, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[key] += 1
            return on_opcode

        return on_opcode

    sys.settrace(on_call)
    try:
        run(ops)
    finally:
        sys.settrace(None)
        tracer.stop()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=["create", "get", "send10"], nargs="?", default="create")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    import sigscope.demo

    sigscope.demo.migrate()
    from django.conf import settings

    settings.DEBUG = False
    from sigscope.demo.shop.models import Customer

    run = {
        "create": lambda: bench.create_workload(Customer, name="c {}", email="c{}@example.com"),
        "get": bench.get_workload,
        "send10": lambda: bench.send_workload(10),
    }[args.case]()
    run(100)
    raw, traced = count(run, False), count(run, True)
    total_raw, total_traced = sum(raw.values()) / 10, sum(traced.values()) / 10
    print(f"{args.case}: {total_raw:,.0f} bytecodes per operation raw, {total_traced:,.0f} traced")
    diff = traced.copy()
    diff.subtract(raw)
    for name, extra in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[: args.top]:
        if extra:
            print(f"{extra / 10:+8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
