"""Every finding kind, on real registrations, and the cases that must not be flagged."""

from __future__ import annotations

import gc
import importlib
import sys
import textwrap

import pytest
from django.apps import apps
from django.db.models.signals import post_save
from django.dispatch import Signal

import sigscope
from sigscope import _compat

probe = Signal()
other = Signal()


def handler(sender, **kwargs):
    return None


class Listener:
    def on(self, sender, **kwargs):
        return None


@pytest.fixture(autouse=True)
def _clean():
    yield
    for signal in (probe, other):
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()


def findings_for(signal, kind):
    snap = sigscope.snapshot(scan_source=False)
    name = snap.signal(signal).name
    return [f for f in snap.findings if f.kind == kind and f.signal == name]


def test_same_callable_under_two_dispatch_uids():
    probe.connect(handler, dispatch_uid="one")
    probe.connect(handler, dispatch_uid="two")
    [finding] = findings_for(probe, "duplicate_dispatch_uid")
    assert finding.severity == "error"
    assert "runs twice each time probe is sent" in finding.message
    assert "'one', 'two'" in finding.message and "dispatch_uid" in finding.fix


def test_any_sender_plus_specific_sender():
    order = apps.get_model("shop", "Order")
    post_save.connect(handler)
    post_save.connect(handler, sender=order)
    try:
        snap = sigscope.snapshot(scan_source=False)
        found = [
            f
            for f in snap.findings
            if f.kind == "duplicate_any_and_specific" and f.receivers == (f"{__name__}.handler",)
        ]
        assert len(found) == 1
        assert found[0].sender == "shop.Order"
        assert "runs twice each time shop.Order is saved" in found[0].message
    finally:
        post_save.disconnect(handler)
        post_save.disconnect(handler, sender=order)


def test_no_false_alarms_for_two_signals_or_a_repeated_dispatch_uid():
    probe.connect(handler, dispatch_uid="stable", sender=Listener)
    probe.connect(handler, dispatch_uid="stable", sender=Listener)  # a no-op in Django
    other.connect(handler, sender=Listener)  # one function on two signals: fine
    assert len(probe.receivers) == 1
    snap = sigscope.snapshot(scan_source=False)
    names = {snap.signal(probe).name, snap.signal(other).name}
    assert [f for f in snap.findings if f.signal in names] == []


def test_registering_code_run_twice_same_code_object():
    def install():
        def audit(sender, **kwargs):
            return None

        probe.connect(audit, weak=False)

    install()
    install()
    [finding] = findings_for(probe, "duplicate_rerun")
    assert "ran twice" in finding.message and "install.<locals>.audit" in finding.message


def test_method_bound_to_several_instances_is_a_note():
    listeners = [Listener(), Listener(), Listener()]
    for listener in listeners:
        probe.connect(listener.on)
    [finding] = findings_for(probe, "bound_to_several_instances")
    assert finding.severity == "note" and "3 different instances" in finding.message


def test_dead_weak_receiver():
    temporary = Listener()
    probe.connect(temporary.on)
    del temporary
    gc.collect()
    [finding] = findings_for(probe, "dead_receiver")
    assert finding.severity == "warning" and "garbage collected" in finding.message


def test_weak_receiver_kept_alive_only_by_debug():
    from django.conf import settings

    assert settings.DEBUG  # the demo runs with DEBUG=True, as development does

    def install():
        def local(sender, **kwargs):
            return None

        probe.connect(local)

    install()
    gc.collect()
    [finding] = findings_for(probe, "debug_kept_alive")
    assert "DEBUG=False" in finding.message and "weak=False" in finding.fix


def test_module_level_weak_receiver_is_not_debug_kept_alive():
    probe.connect(handler)
    assert findings_for(probe, "debug_kept_alive") == []


@pytest.fixture
def package(tmp_path):
    """A package on disk, importable as ``pkgroot.signals_mod`` and as ``signals_mod``."""
    root = tmp_path / "pkgroot"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "signals_mod.py").write_text(
        textwrap.dedent(
            f"""
            from {__name__} import probe

            def on_probe(sender, **kwargs):
                return "v1"

            probe.connect(on_probe, weak=False)
            """
        )
    )
    sys.path[:0] = [str(tmp_path), str(root)]
    yield root
    sys.path.remove(str(tmp_path))
    sys.path.remove(str(root))
    for name in ("pkgroot", "pkgroot.signals_mod", "signals_mod"):
        sys.modules.pop(name, None)


def test_module_imported_under_two_names(package):
    importlib.import_module("pkgroot.signals_mod")
    importlib.import_module("signals_mod")
    [finding] = findings_for(probe, "duplicate_module_alias")
    assert "pkgroot.signals_mod" in finding.message and "signals_mod" in finding.message
    assert finding.locations[0].endswith("signals_mod.py:4")


def test_receiver_left_stale_by_reload(package):
    module = importlib.import_module("pkgroot.signals_mod")
    importlib.reload(module)
    [finding] = findings_for(probe, "stale_reload")
    assert finding.severity == "error"  # the reloaded copy is connected too: both run
    assert "before its module was reloaded" in finding.message
    assert findings_for(probe, "duplicate_rerun") == []  # explained once, as a reload


def test_pending_typo_never_resolves():
    snap = sigscope.snapshot(scan_source=False)
    [finding] = [
        f for f in snap.findings if f.kind == "pending_unresolved" and f.sender == "shop.ordr"
    ]
    assert finding.severity == "error" and "Did you mean shop.Order" in finding.fix


def test_pending_on_an_app_that_is_not_installed():
    post_save.connect(handler, sender="nosuchapp.Thing")
    try:
        snap = sigscope.snapshot(scan_source=False)
        [finding] = [f for f in snap.findings if f.sender == "nosuchapp.thing"]
        assert "no installed app is labelled 'nosuchapp'" in finding.message
    finally:
        apps._pending_operations.pop(("nosuchapp", "thing"))


@pytest.mark.skipif(_compat.HAS_ASYNC_SIGNALS, reason="only Django < 5.0 ignores async receivers")
def test_async_receiver_on_django_42_is_an_error():
    async def on_probe(sender, **kwargs):
        return None

    probe.connect(on_probe, weak=False)
    [finding] = findings_for(probe, "async_receiver_unsupported")
    assert "never awaited" in finding.message


def test_findings_are_sorted_most_severe_first():
    snap = sigscope.snapshot(scan_source=False)
    order = {"error": 0, "warning": 1, "note": 2}
    ranks = [order[f.severity] for f in snap.findings]
    assert ranks == sorted(ranks)
