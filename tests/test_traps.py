"""The traps project (tests/fixtures/traps, one app per trap), read in its own process.

Each test asserts on the records and the JSON of one snapshot of that project;
expected lines are found in the fixture's source, not written here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TRAPS = FIXTURES / "traps"
SRC = Path(__file__).parent.parent / "src"


@pytest.fixture(scope="module")
def traps(tmp_path_factory):
    out = tmp_path_factory.mktemp("traps") / "dump.pkl"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "traps.settings"}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(FIXTURES)])
    result = subprocess.run(
        [sys.executable, str(TRAPS / "dump.py"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=FIXTURES,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with open(out, "rb") as handle:
        return pickle.load(handle)  # records only: no Django needed to read them


def line_of(path: Path, text: str, after: str | None = None) -> int:
    """1-based line of the first line containing ``text`` (after the line containing ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines[start:], start) if text in line) + 1


def at(path: Path, line: int) -> str:
    return f"{os.path.realpath(path)}:{line}"


def regs(dump, receiver: str):
    return [r for r in dump["snapshot"].receivers if r.receiver.name == receiver]


def findings(dump, kind: str, key: str = "findings"):
    return [f for f in dump[key] if f.kind == kind]


SIGNALS = TRAPS / "senders" / "signals.py"
UIDS = TRAPS / "uids" / "signals.py"


def test_non_model_senders_are_named_by_what_binds_them(traps):
    module = "traps.senders.signals"
    expected = {
        "on_billing": ("value", f"{'billing'!r} ({module}.BILLING)"),
        "on_retry_limit": ("value", f"{70_001!r} ({module}.RETRY_LIMIT)"),
        "on_gateway_class": ("class", f"{module}.Gateway"),
        "on_gateway": ("object", f"<{module}.Gateway instance> ({module}.GATEWAY)"),
    }
    for name, (kind, label) in expected.items():
        [reg] = regs(traps, f"{module}.{name}")
        assert (reg.sender.kind, reg.sender.label) == (kind, label)
    document = json.dumps(traps["json"])
    assert "0x" not in document and "<sender id" not in document


def test_abstract_model_sender_never_runs(traps):
    [reg] = regs(traps, "traps.senders.signals.on_status_change")
    assert reg.sender.kind == "abstract_model"
    assert reg.sender.label == "traps.senders.models.StatusModel (abstract)"
    [finding] = findings(traps, "abstract_sender")
    assert finding.severity == "warning" and finding.receivers == (reg.receiver.name,)
    status = "traps.senders.models.StatusModel"
    concrete = [
        m.label for m in traps["snapshot"].models if not m.proxy and status in m.abstract_ancestors
    ]
    assert concrete == ["senders.Item", "senders.SpecialItem"]
    assert all(label in finding.fix for label in concrete)
    assert "senders.ArchivedItem" not in finding.fix  # a proxy: connect for its concrete model


def test_proxy_and_multi_table_children_are_not_covered(traps):
    by_signal = {f.signal.rpartition(".")[2]: f for f in findings(traps, "sender_not_inherited")}
    assert set(by_signal) == {"post_save", "pre_delete"}
    saved = by_signal["post_save"]
    assert saved.receivers == ("traps.senders.signals.on_item_saved",)
    assert "senders.ArchivedItem (proxy)" in saved.message
    assert "senders.SpecialItem (multi-table child)" in saved.message
    deleted = by_signal["pre_delete"]  # deleting a child deletes (and signals) its Item row
    assert "senders.ArchivedItem (proxy)" in deleted.message
    assert "SpecialItem" not in deleted.message
    models = {m.label: m for m in traps["snapshot"].models}
    assert models["senders.ArchivedItem"].proxy
    assert models["senders.SpecialItem"].concrete_ancestors == ("senders.Item",)


def test_dispatch_uid_collision_names_both_receivers_and_both_connect_sites(traps):
    [finding] = findings(traps, "dispatch_uid_collision")
    assert finding.severity == "error" and finding.sender == "uids.Note"
    author, editor = "traps.uids.signals.notify_author", "traps.uids.signals.notify_editor"
    assert finding.receivers == (author, editor)
    assert "'notes.notify'" in finding.message
    first = line_of(UIDS, '@receiver(post_save, sender=Note, dispatch_uid="notes.notify")')
    second = line_of(UIDS, "@receiver(", after="def notify_author")
    assert finding.locations[:2] == (at(UIDS, first), at(UIDS, second))
    assert len(regs(traps, author)) == 1 and regs(traps, editor) == []  # Django kept the first
    assert not any(editor in f.receivers for f in traps["findings"] if f.kind == "not_connected")


def test_disconnect_is_a_note_at_the_disconnect_call(traps):
    [finding] = findings(traps, "disconnected")
    assert finding.severity == "note"
    assert finding.receivers == ("traps.uids.signals.index_note",)
    assert finding.locations == (
        at(UIDS, line_of(UIDS, "post_save.disconnect(index_note")),
        at(UIDS, line_of(UIDS, "post_save.connect(index_note")),
    )


def test_duplicate_points_at_both_connect_calls_then_the_def(traps):
    [finding] = findings(traps, "duplicate_dispatch_uid")
    assert finding.locations == (
        at(UIDS, line_of(UIDS, 'dispatch_uid="uids.audit")')),
        at(UIDS, line_of(UIDS, 'dispatch_uid="uids.audit.again")')),
        at(UIDS, line_of(UIDS, "def audit(")),
    )


def test_every_project_registration_knows_where_it_was_connected(traps):
    ours = [
        r
        for r in traps["snapshot"].receivers
        if r.signal.startswith("traps.") or (r.receiver.module or "").startswith("traps.")
    ]
    assert len(ours) >= 10
    for r in ours:
        path, _, line = r.connected_at.rpartition(":")
        text = Path(path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert "@receiver(" in text or ".connect(" in text, (r.receiver.name, text)
    # Django's close_old_connections, connected again by traps.uids under a uid: only that
    # registration is the project's; Django's own (no uid) was connected by Django.
    closes = regs(traps, "django.db.close_old_connections")
    by_uid = {r.dispatch_uid: r.connected_at for r in closes}
    assert by_uid[None] is None and by_uid["traps.close_again"].startswith(str(UIDS))
    rows = [row for s in traps["json"]["signals"] for row in s["receivers"]]
    assert {"connected_at", "declared_as"} <= set(rows[0])
    assert sum(1 for row in rows if row["connected_at"]) == len(ours) + 1


def test_dead_receiver_is_named_from_the_source(traps):
    [reg] = [r for r in traps["snapshot"].receivers if r.signal == "traps.dead.wiring.ping"]
    assert reg.dead and reg.receiver.kind == "dead"
    assert reg.declared_as == "traps.dead.wiring.install.<locals>.on_ping"
    wiring = TRAPS / "dead" / "wiring.py"
    assert reg.connected_at == at(wiring, line_of(wiring, "ping.connect(on_ping)"))
    [finding] = findings(traps, "dead_receiver")
    assert finding.receivers == (reg.declared_as,)
    [row] = next(s for s in traps["json"]["signals"] if s["name"] == reg.signal)["receivers"]
    assert row["declared_as"] == reg.declared_as and row["dead"] is True


def test_not_connected_fix_imports_from_the_real_app_config(traps):
    [finding] = findings(traps, "not_connected")
    assert finding.receivers == ("traps.nested.handlers.audit.record_login",)
    apps = {a.label: a for a in traps["snapshot"].apps_info}
    assert apps["nested"].config == "traps.nested.apps.NestedConfig"
    assert "NestedConfig.ready() in traps.nested.apps" in finding.fix
    statement = finding.fix.split("`")[1].split("  #")[0]
    assert statement == "from .handlers import audit"
    target = importlib.util.resolve_name(".handlers.audit", apps["nested"].config_package)
    assert target == "traps.nested.handlers.audit"  # what the import would load, not imported
    assert (TRAPS / "nested" / "handlers" / "audit.py").exists()


def test_files_that_do_not_parse_or_decode_are_reported_not_advised(traps):
    errors = {Path(e.file).name: e for e in traps["snapshot"].scan_errors}
    assert set(errors) == {"broken.py", "latin.py"}
    assert (errors["broken.py"].reason, errors["latin.py"].reason) == ("syntax", "decode")
    notes = findings(traps, "scan_error")
    assert {Path(f.locations[0].rpartition(":")[0]).name for f in notes} == set(errors)
    assert all(f.severity == "note" for f in notes)
    assert not any("broken" in r or "latin" in r for f in traps["findings"] for r in f.receivers)


def test_findings_on_djangos_own_receivers_only_when_asked(traps):
    assert not [
        f
        for f in traps["findings"]
        if all(r.startswith("django.") for r in f.receivers) and f.receivers
    ]
    builtin = [f for f in traps["builtin_findings"] if f not in traps["findings"]]
    assert [(f.kind, f.receivers) for f in builtin] == [
        ("duplicate_dispatch_uid", ("django.db.close_old_connections",))
    ]
    options = "django.db.models.options.Options.setting_changed"
    major, minor = (int(x) for x in traps["snapshot"].django_version.split(".")[:2])
    if (major, minor) >= (5, 0):  # Django 4.2 has no Options.setting_changed receiver
        assert len(regs(traps, options)) >= 2  # bound to User and to the swappable Widget
    assert not any(options in f.receivers for f in traps["builtin_findings"])


def test_triggered_by_lists_only_receivers_of_model_signals(traps):
    item = traps["triggered"]["senders.Item"]
    assert item == [
        "receiver:traps.senders.signals.on_item_deleted",
        "receiver:traps.senders.signals.on_item_saved",
    ]
    assert traps["triggered"]["senders.SpecialItem"] == []  # a child's saves send sender=child
    note = traps["triggered"]["uids.Note"]
    assert "receiver:traps.uids.signals.notify_author" in note
    assert "receiver:traps.uids.signals.notify_editor" not in note  # never connected
