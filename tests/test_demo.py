"""The bundled demo project: every receiver kind, every finding, and a scenario that runs."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest

from sigscope import _compat

EXPECTED_FINDINGS = {
    "bound_to_several_instances",
    "bypasses_signals",
    "dead_receiver",
    "debug_kept_alive",
    "duplicate_any_and_specific",
    "duplicate_dispatch_uid",
    "duplicate_module_alias",
    "duplicate_rerun",
    "falsy_dispatch_uid",
    "never_received",
    "never_sent",
    "not_connected",
    "pending_unresolved",
    "stale_reload",
}


@pytest.fixture(scope="module")
def demo_snapshot():
    """The demo as a fresh process sees it (other tests run its scenario, which prunes the
    dead receiver): the snapshot's records, pickled across."""
    code = (
        "import pickle, sys, sigscope, sigscope.demo\n"
        "sigscope.demo.setup()\n"
        "snap = sigscope.snapshot()\n"
        "snap.findings\n"
        "sys.stdout.buffer.write(pickle.dumps(snap))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return pickle.loads(result.stdout)


def demo_registrations(snap):
    return [
        r
        for r in snap.receivers
        if (r.receiver.module or "").startswith(("sigscope.demo", "blog."))
    ]


def test_demo_shows_every_finding_kind_once_or_more(demo_snapshot):
    kinds = {f.kind for f in demo_snapshot.findings}
    assert kinds >= EXPECTED_FINDINGS
    assert kinds - EXPECTED_FINDINGS == set()  # and nothing the demo did not mean to show


def test_demo_has_every_receiver_kind(demo_snapshot):
    regs = demo_registrations(demo_snapshot)
    kinds = {r.receiver.kind for r in regs}
    assert {"function", "lambda", "method", "classmethod", "partial", "callable", "dead"} <= kinds
    assert any(r.receiver.is_closure for r in regs)
    assert any(r.receiver.wrapped_by for r in regs)
    assert any(r.sender.kind == "app_config" for r in regs)
    assert any(r.sender.label == "blog.Post_tags" for r in regs)
    assert any(not r.weak for r in regs) and any(r.weak for r in regs)
    assert any(r.dispatch_uid for r in regs)
    assert any(r.is_async for r in regs) is _compat.HAS_ASYNC_SIGNALS


def test_demo_findings_name_the_demo_code(demo_snapshot):
    by_kind = {f.kind: f for f in demo_snapshot.findings}
    assert "blog/handlers.py" in by_kind["duplicate_module_alias"].locations[0]
    assert by_kind["duplicate_rerun"].receivers[0].endswith("install.<locals>.post_webhook")
    assert by_kind["stale_reload"].receivers == ("sigscope.demo.shop.pricing.apply_discount",)
    assert "warm_cache" in by_kind["debug_kept_alive"].receivers[0]
    assert by_kind["pending_unresolved"].sender == "shop.ordr"


def test_scenario_runs_in_a_fresh_process_and_the_receivers_do_their_work():
    code = (
        "import json, sigscope.demo\n"
        "made = sigscope.demo.run_scenario()\n"
        "post, order = made['post'], made['order']\n"
        "post.refresh_from_db(); order.refresh_from_db(); order.customer.refresh_from_db()\n"
        "from sigscope.demo.blog.signals import post_published\n"
        "print(json.dumps({'tags': post.tag_names, 'discount': str(order.discount),\n"
        "  'status': order.status, 'orders': order.customer.order_count,\n"
        "  'updated': order.updated_at is not None,\n"
        "  'published': [str(r) for r, _ in post_published.send(sender=None, post=post)]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["tags"] == "signals"  # m2m_changed → reindex_tags
    assert facts["discount"] == "2.10"  # pre_save → apply_discount (5 % of 42.00)
    assert facts["status"] == "shipped" and facts["orders"] == 2 and facts["updated"]
    # the dead receiver never runs, only the live one does
    assert [r.split(" at ")[0] for r in facts["published"]] == ["<function remember_activity"]


# --- the demo as a Django project (issue 9) --------------------------------------------


def _manage(*args: str, db: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sigscope.demo.settings", "SIGSCOPE_DEMO_DB": db}
    return subprocess.run(
        [sys.executable, "-m", "sigscope.demo.manage", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_demo_ships_its_migrations_as_packages():
    import importlib.util

    # pyproject's [tool.setuptools.packages.find] installs every package under src/:
    # each migrations directory must be one (an __init__.py), with its migration module
    for app in ("shop", "blog"):
        spec = importlib.util.find_spec(f"sigscope.demo.{app}.migrations")
        assert spec is not None and spec.origin and spec.origin.endswith("__init__.py")
        directory = os.path.dirname(spec.origin)
        assert os.path.isfile(os.path.join(directory, "0001_initial.py"))


def test_demo_check_migrate_and_makemigrations_work(tmp_path):
    db = str(tmp_path / "demo.sqlite3")
    check = _manage("check", db=db)
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues (1 silenced)." in check.stdout
    migrate = _manage("migrate", db=db)
    assert migrate.returncode == 0, migrate.stderr
    assert "Applying shop.0001_initial... OK" in migrate.stdout
    assert "Applying blog.0001_initial... OK" in migrate.stdout
    assert _manage("makemigrations", "--check", "--dry-run", db=db).returncode == 0
    # Django's check is silenced for the deliberate typo; sigscope still reports it
    sigscope_check = _manage("sigscope", "check", "--format", "json", db=db)
    kinds = {f["kind"] for f in json.loads(sigscope_check.stdout)["findings"]}
    assert "pending_unresolved" in kinds


def test_demo_runserver_serves_a_page(tmp_path):
    import socket
    import time
    import urllib.request

    db = str(tmp_path / "demo.sqlite3")
    assert _manage("migrate", db=db).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sigscope.demo.settings", "SIGSCOPE_DEMO_DB": db}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sigscope.demo.manage",
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.1)  # polling for the server to listen, bounded by the deadline
        assert body is not None, server.stdout.read().decode() if server.poll() is not None else ""
        assert body.endswith(" orders\n")
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()


def test_trace_demo_traces_the_scenario_not_the_migrations(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "sigscope.cli", "trace", "--demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "▸ post_save(shop.Order)" in result.stdout  # --demo prints to stdout
    assert "migrations.Migration" not in result.stdout
    assert "pre_migrate" not in result.stdout and "post_migrate" not in result.stdout
    first = result.stdout.splitlines()[1]
    assert first.startswith("▸ post_save(shop.Customer)")  # the scenario's first save
