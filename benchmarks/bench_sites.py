"""Cost of the send-site / bypass-site scan on a synthetic 50,000-line project.

Run:  python benchmarks/bench_sites.py [LINES]      (prints a Markdown table)

The project is written to a temporary directory: modules of ~200 lines.  A "service"
module has imports, a model-using class, functions that send the demo's signals
(``order_placed.send``, ``self.sig.send_robust``), ``Order.objects.filter().update()``
and ``bulk_create`` calls, and ordinary code (``dict.update``, ``socket.send``) that
must not become sites; a "plain" module has only the ordinary code without sends.
Two projects: every module a service (the worst case: every file is parsed), and one
in five.  "cold" parses what it must (the per-file cache emptied, as in a fresh
``sigscope check`` process), "warm" re-stats every file and finds nothing changed,
"match" resolves the candidates against the live demo signals and models.
Medians of 5 runs.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time

import django

import sigscope.demo
from sigscope.registry import declared, sites
from sigscope.registry.site_match import attach_sites
from sigscope.snapshot import snapshot

MODULE = '''"""Synthetic module {i}."""
import socket

from sigscope.demo.shop.models import Customer, Order
from sigscope.demo.shop.signals import order_placed, order_shipped
from sigscope.demo.shop import signals


class Service{i}:
    sig = order_shipped

    def place(self, customer: Customer) -> Order:
        order = Order.objects.create(customer=customer, total="1.00")
        order_placed.send(sender=Order, order=order)
        return order

    def ship(self, order: Order) -> None:
        self.sig.send_robust(sender=type(order), order=order)
        signals.order_shipped.send(sender=Order, order=order)

    def close(self) -> int:
        return Order.objects.filter(status="new").exclude(total=0).update(status="paid")

    def load(self, rows: list) -> None:
        Customer.objects.bulk_create(rows)
'''
FILLER = """

def helper_{i}_{j}(data: dict, sock: socket.socket) -> int:
    total = 0
    for key, value in data.items():
        if isinstance(value, int):
            total += value
        else:
            total += len(str(value))
    data.update(total=total)
    sock.send(str(total).encode())
    return total
"""
PLAIN = FILLER.replace("    sock.send(str(total).encode())\n", "")


def write_project(root: str, lines: int, every: int = 1) -> int:
    """``lines`` of code; every ``every``-th module a service module, the others plain."""
    app = os.path.join(root, "synthetic_app")
    os.makedirs(app)
    open(os.path.join(app, "__init__.py"), "w").close()
    written, i = 0, 0
    while written < lines:
        if i % every == 0:
            text = MODULE.format(i=i) + "".join(FILLER.format(i=i, j=j) for j in range(13))
        else:
            text = "import socket\n" + "".join(PLAIN.format(i=i, j=j) for j in range(15))
        with open(os.path.join(app, f"module_{i}.py"), "w") as handle:
            handle.write(text)
        written += text.count("\n")
        i += 1
    return i


def median_ms(func, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def measure(lines: int, every: int, snap, apps) -> str:
    with tempfile.TemporaryDirectory() as root:
        files = write_project(root, lines, every)
        roots = [(os.path.join(root, "synthetic_app"), "synthetic_app")]

        def cold_sites() -> None:
            sites._scan_cached.cache_clear()
            sites.scan_sites(roots)

        def cold_declared() -> None:
            declared._scan_cached.cache_clear()
            declared.scan_declared(roots)

        found = sites.scan_sites(roots)
        cold = median_ms(cold_sites)
        warm = median_ms(lambda: sites.scan_sites(roots))
        match = median_ms(lambda: attach_sites(snap.signals, found, apps))
        receivers = median_ms(cold_declared)
        signals, bypasses = attach_sites(snap.signals, found, apps)
        n_sends = sum(len(s.sent_from) for s in signals)
    kind = "every module" if every == 1 else f"1 module in {every}"
    return (
        f"| {lines:,} lines, {files} files, sends in {kind} | {n_sends} / {len(bypasses)} | "
        f"{cold:.0f} | {warm:.1f} | {match:.1f} | {receivers:.0f} |"
    )


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    sigscope.demo.setup()
    snap = snapshot(scan_source=False)
    from django.apps import apps

    where = f"Python {platform.python_version()}, Django {django.get_version()}"
    print(f"{where}, {os.cpu_count()} cores\n")
    print(
        "| project | sends / bypasses | cold (ms) | warm (ms) | match (ms) | declared, cold (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for every in (1, 5):
        print(measure(lines, every, snap, apps))


if __name__ == "__main__":
    main()
