"""Send sites and bypass sites: the static scan, its matching to live signals and models,
the findings, the JSON and the graph — on a real project (``tests/fixtures/sites_project``)
run in its own process."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time

import pytest

from sigscope.registry.site_match import lookup
from sigscope.registry.sites import scan_file, scan_sites

PROJECT = os.path.join(os.path.dirname(__file__), "fixtures", "sites_project")
SERVICES = os.path.join(PROJECT, "billing", "services.py")
UNUSED = os.path.join(PROJECT, "billing", "unused.py")


def _in_project(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([PROJECT, env.get("PYTHONPATH", "")])
    prelude = "import sigscope\nsigscope.setup('sites_settings')\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project():
    """``(snapshot, JSON document, graph)`` of the fixture project, taken in a fresh process."""
    result = _in_project(
        """
        import pickle, sys
        from sigscope.graph.export import to_dict
        sigscope.snapshot(scan_source=False)  # sigscope's own modules loaded
        before = set(sys.modules)
        snap = sigscope.snapshot()
        assert set(sys.modules) == before, set(sys.modules) ^ before  # the scan imports nothing
        assert "billing.unused" not in sys.modules
        sys.stdout.buffer.write(pickle.dumps((snap, to_dict(snap), snap.graph)))
        """
    )
    assert result.returncode == 0, result.stderr.decode()
    return pickle.loads(result.stdout)


def _sites(snap, short):
    """The send sites of one signal in services.py."""
    return [
        (s.line, s.function, s.method, s.sender, s.sender_model)
        for s in _signal(snap, short)
        if s.file == SERVICES
    ]


def _signal(snap, short):
    return snap.signal(short).sent_from


def test_every_spelling_of_a_send_is_found_with_its_sender(project):
    snap, _, _ = project
    assert _sites(snap, "invoice_paid") == [
        (13, "pay", "send", "Invoice", "billing.Invoice"),
        (18, "Payments.settle", "send_robust", "models.Invoice", "billing.Invoice"),
        (22, "pay_later", "asend", '"billing"', None),
        (30, "pay_all", "asend_robust", "Invoice", "billing.Invoice"),
    ]
    assert {s.file for s in _signal(snap, "invoice_paid")} == {SERVICES, UNUSED}


def test_a_module_nobody_imports_is_scanned_not_imported(project):
    snap, _, _ = project  # (the fixture asserts billing.unused stays out of sys.modules)
    [site] = [s for s in _signal(snap, "invoice_paid") if s.file == UNUSED]
    assert (site.line, site.function, site.sender) == (7, "legacy_pay", "None")


def test_a_signal_subclass_sending_its_own_way_is_found(project):
    snap, _, _ = project  # pretix's PluginSignal.send_chained
    assert _sites(snap, "invoice_rendered") == [
        (59, "render", "send_chained", "Invoice", "billing.Invoice")
    ]
    assert not any(f.signal == "billing.signals.invoice_rendered" for f in snap.findings)


def test_class_attribute_signals_are_found_through_self_and_the_class(project):
    snap, _, _ = project
    sites = snap.signal("billing.signals.Hooks.changed").sent_from
    assert [(os.path.basename(s.file), s.line, s.function, s.sender) for s in sites] == [
        ("services.py", 34, "changed", "None"),
        ("signals.py", 16, "Hooks.touch", "self.__class__"),
    ]


def test_calls_on_things_that_are_not_signals_or_models_are_not_sites(project):
    snap, _, _ = project
    lines = {s.line for sig in snap.signals for s in sig.sent_from if s.file == SERVICES}
    lines |= {b.line for b in snap.bypass_sites if b.file == SERVICES}
    assert not lines & {42, 43, 44}  # sock.send, dict.update, a class attribute dict's update


def test_bypass_sites_resolve_to_live_models(project):
    snap, _, _ = project
    assert [(b.line, b.function, b.operation, b.model) for b in snap.bypass_sites] == [
        (48, "mark_paid", "update", "billing.Invoice"),
        (52, "import_invoices", "bulk_create", "billing.Invoice"),
        (53, "import_invoices", "bulk_update", "billing.Invoice"),
        (54, "import_invoices", "update", "billing.Invoice"),
        (55, "import_invoices", "bulk_create", "billing.Payment"),
    ]


def test_bypasses_signals_names_the_receivers_that_will_not_run(project):
    snap, _, _ = project
    found = [f for f in snap.findings if f.kind == "bypasses_signals"]
    assert [f.locations for f in found] == [
        (f"{SERVICES}:{line}",) for line in (48, 52, 53, 54)
    ]  # not Payment's: it has no save receivers
    first = found[0]
    assert first.severity == "note" and first.sender == "billing.Invoice"
    assert first.signal == "django.db.models.signals.post_save"
    assert first.receivers == ()  # the receivers are fine: not marked as findings
    assert (
        "billing.receivers.number_invoice, billing.receivers.invoice_saved do not run"
        in first.message
    )
    assert "pre_save/post_save" in first.message and "mark_paid" in first.message
    assert "save()" in first.fix and "post_save.send(sender=Invoice" in first.fix
    assert "created=True" in found[1].fix  # bulk_create creates


def test_never_sent_and_never_received(project):
    snap, _, _ = project
    by_kind = {}
    for f in snap.findings:
        by_kind.setdefault(f.kind, []).append(f)
    [unsent] = by_kind["never_sent"]
    assert unsent.signal == "billing.signals.invoice_voided"
    assert unsent.receivers == ("billing.receivers.refund",)
    [unheard] = by_kind["never_received"]
    assert unheard.signal == "billing.signals.invoice_exported"
    assert unheard.locations == (f"{SERVICES}:38",)
    # a sent and received signal, and Django's own, are neither
    flagged = {f.signal for f in by_kind["never_sent"] + by_kind["never_received"]}
    assert "billing.signals.invoice_paid" not in flagged
    assert not any(name.startswith("django.") for name in flagged)


def test_json_lists_sent_from_per_signal(project):
    _, document, _ = project
    assert document["schema"] == 1
    signals = {s["name"]: s for s in document["signals"]}
    first = signals["billing.signals.invoice_paid"]["sent_from"][0]
    assert first == {
        "file": SERVICES,
        "line": 13,
        "function": "pay",
        "method": "send",
        "sender": "Invoice",
        "sender_model": "billing.Invoice",
    }
    assert signals["django.db.models.signals.post_save"]["sent_from"] == []
    assert [b["line"] for b in document["bypass_sites"]] == [48, 52, 53, 54, 55]
    json.dumps(document)  # plain data all the way down


def test_graph_has_send_site_nodes_pointing_at_their_signal(project):
    from sigscope.graph import send_sites_for_model

    _, _, graph = project
    node = f"site:{SERVICES}:13"
    assert graph.nodes[node]["type"] == "site" and graph.nodes[node]["function"] == "pay"
    edge = graph.edges[node, "signal:billing.signals.invoice_paid", "billing.signals.invoice_paid"]
    assert edge["relation"] == "send_site" and edge["sender_model"] == "billing.Invoice"
    assert send_sites_for_model(graph, "billing.Invoice") == [
        ("billing.signals.invoice_paid", "billing.receivers.thank_customer"),
        ("billing.signals.invoice_rendered", "billing.receivers.add_footer"),
    ]  # invoice_exported is sent with Invoice too, but nothing receives it
    assert send_sites_for_model(graph, "billing.Payment") == []


def test_without_the_source_scan_there_are_no_sites_and_no_site_findings():
    result = _in_project(
        """
        snap = sigscope.snapshot(scan_source=False)
        kinds = {f.kind for f in snap.findings}
        sent = [s for s in snap.signals if s.sent_from]
        print(snap.bypass_sites, sent, kinds & {"never_sent", "never_received", "bypasses_signals"})
        """
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["()", "[]", "set()"]


def test_the_scan_is_cached_by_mtime(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("from x.signals import ping\n\ndef f():\n    ping.send(sender=None)\n")
    [first] = scan_sites([(str(tmp_path), "pkg")])
    assert [(s.line, s.target) for s in first.sends] == [(4, "x.signals.ping")]
    assert scan_sites([(str(tmp_path), "pkg")])[0] is first  # unchanged: not parsed again
    source.write_text("from x.signals import ping\nping.send_robust(sender=1)\n")
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))
    [second] = scan_sites([(str(tmp_path), "pkg")])
    assert [(s.line, s.method, s.function) for s in second.sends] == [
        (2, "send_robust", "<module>")
    ]


def test_relative_imports_resolve_from_the_package(tmp_path):
    package = tmp_path / "shop"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "__init__.py").write_text("from ..signals import a\na.send(sender=None)\n")
    (package / "sub" / "views.py").write_text(
        "from . import hooks\nfrom .. import signals as s\nhooks.b.send(None)\ns.c.asend(None)\n"
    )
    init = scan_file(str(package / "sub" / "__init__.py"), "shop.sub")
    views = scan_file(str(package / "sub" / "views.py"), "shop.sub.views")
    assert [s.target for s in init.sends] == ["shop.signals.a"]
    assert [s.target for s in views.sends] == ["shop.sub.hooks.b", "shop.signals.c"]


def test_a_coding_cookie_is_honoured(tmp_path):
    (tmp_path / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n# caf\xe9\nfrom x import sig\nsig.send(sender='caf\xe9')\n"
    )
    [found] = scan_sites([(str(tmp_path), "pkg")])
    assert [(s.line, s.sender) for s in found.sends] == [(4, "'café'")]


def test_files_that_do_not_parse_or_decode_have_no_sites(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n    sig.send(None)\n")
    (tmp_path / "latin.py").write_bytes(b"# \xe9\nsig.send(None)\n")
    assert scan_sites([(str(tmp_path), "pkg")]) == ()


def test_lookup_reads_imported_modules_only():
    from django.db.models.signals import post_save

    assert lookup("django.db.models.signals.post_save") is post_save
    assert lookup("django.db.models.base.post_save") is post_save  # an alias
    assert lookup("sigscope.demo.shop.models.Order.objects") is not None  # the descriptor
    assert lookup("surely_not_imported_pkg.signals.x") is None
    assert "surely_not_imported_pkg" not in sys.modules
