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
