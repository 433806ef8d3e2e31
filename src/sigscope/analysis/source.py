"""Findings from the source scan: declared but not connected, disconnected, uid collisions,
files that could not be scanned, and ``dispatch_uid``s Django ignores."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from sigscope.records import AppInfo, DeclaredReceiver, Finding
from sigscope.registry.declared_match import SignalNames
from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["dispatch_uid_collisions", "falsy_uids", "not_connected", "scan_errors"]

_SIMPLE_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


def _names(snap: Snapshot) -> SignalNames:
    return SignalNames((s.name, s.aliases) for s in snap.signals)


def _name(d: DeclaredReceiver) -> str:
    return d.receiver_path or f"{d.module}.{d.function}"


def _sender(snap: Snapshot, d: DeclaredReceiver) -> str | None:
    """The sender as a label (``shop.Order``) when it names an installed model."""
    found = next((m.label for m in snap.models if d.sender_path == m.path), None)
    return found or d.sender


def _judged(d: DeclaredReceiver) -> bool:
    """Connects in ordinary functions (may not have run) and of lambdas are not judged."""
    return d.via != "disconnect" and d.scope != "function" and bool(_SIMPLE_NAME.match(d.function))


def _unmatched(snap: Snapshot, names: SignalNames) -> list[tuple[DeclaredReceiver, str]]:
    used = {(r.signal, r.connected_at) for r in snap.receivers if r.connected_at}
    used |= {(p.signal, p.connected_at) for p in snap.pending if p.connected_at}
    found = []
    for d in snap.declared:
        signal = names.canonical(d) or d.signal
        if _judged(d) and (signal, d.where) not in used:
            found.append((d, signal))
    return found


def _collision_groups(
    snap: Snapshot, names: SignalNames
) -> list[tuple[str, list[DeclaredReceiver]]]:
    groups: dict[tuple, list[DeclaredReceiver]] = defaultdict(list)
    for d in snap.declared:
        if _judged(d) and d.dispatch_uid and not d.falsy_dispatch_uid:
            signal = names.canonical(d) or d.signal
            groups[(signal, d.dispatch_uid, d.sender_path or d.sender)].append(d)
    return [(key[0], group) for key, group in groups.items() if len({_name(d) for d in group}) > 1]


def dispatch_uid_collisions(snap: Snapshot) -> list[Finding]:
    """Two different callables under one ``dispatch_uid`` on one signal: Django keeps the first."""
    names = _names(snap)
    connected = {(r.signal, r.connected_at): r for r in snap.receivers if r.connected_at}
    found = []
    for signal, group in _collision_groups(snap, names):
        kept = [d for d in group if (signal, d.where) in connected] or group[:1]
        winner = kept[0]
        losers = [d for d in group if _name(d) != _name(winner)]
        definition = connected.get((signal, winner.where))
        places = [winner.where, *(d.where for d in losers)]
        if definition is not None and definition.receiver.location:
            places.append(definition.receiver.location)
        lost = ", ".join(f"{_name(d)} ({short_location(d.where)})" for d in losers)
        found.append(
            Finding(
                kind="dispatch_uid_collision",
                severity="error",
                signal=signal,
                sender=_sender(snap, winner),
                receivers=(_name(winner), *dict.fromkeys(_name(d) for d in losers)),
                message=f"{_name(winner)} ({short_location(winner.where)}) and {lost} are "
                f"connected with the same dispatch_uid {winner.dispatch_uid!r} on "
                f"{signal.rpartition('.')[2]}: Django keys receivers by dispatch_uid, so it "
                f"keeps {_name(winner)} and silently ignores the other connect; "
                f"{_name(losers[0])} never runs.",
                fix="Give each receiver its own dispatch_uid (e.g. its dotted name).",
                locations=tuple(dict.fromkeys(places)),
            )
        )
    return found


def not_connected(snap: Snapshot) -> list[Finding]:
    """Declared receivers nothing connected: never imported, disconnected, or lost."""
    if not snap.declared:
        return []
    names = _names(snap)
    losers = {
        id(d)
        for _, group in _collision_groups(snap, names)
        for d in group
        if _name(d) != _name(group[0])
    }
    disconnects = [d for d in snap.declared if d.via == "disconnect"]
    found = []
    for d, signal in _unmatched(snap, names):
        if id(d) in losers:
            continue
        undone = next((x for x in disconnects if _undoes(x, d, names)), None)
        sender = _sender(snap, d)
        if undone is not None:
            found.append(_disconnected(d, signal, sender, undone))
        else:
            imported = d.module in snap.imported_modules
            found.append(_not_connected(d, signal, sender, snap.apps_info, imported=imported))
    return found


def _undoes(x: DeclaredReceiver, d: DeclaredReceiver, names: SignalNames) -> bool:
    if (names.canonical(x) or x.signal) != (names.canonical(d) or d.signal):
        return False
    if x.dispatch_uid is not None:
        return x.dispatch_uid == d.dispatch_uid
    same = x.receiver_path == d.receiver_path if x.receiver_path else x.function == d.function
    return same and (x.sender_path or x.sender) == (d.sender_path or d.sender)


def _disconnected(
    d: DeclaredReceiver, signal: str, sender: str | None, x: DeclaredReceiver
) -> Finding:
    how = "@receiver" if d.via == "receiver" else ".connect()"
    return Finding(
        kind="disconnected",
        severity="note",
        signal=signal,
        sender=sender,
        receivers=(_name(d),),
        message=f"{_name(d)} is connected with {how} at {short_location(d.where)} and "
        f"disconnected at {short_location(x.where)}: it is not connected now, so it does "
        "not run.",
        fix=f"Fine if meant; otherwise remove the disconnect() at {short_location(x.where)}.",
        locations=(x.where, d.where),
    )


def _app_of(apps: tuple[AppInfo, ...], module: str) -> AppInfo | None:
    fits = [a for a in apps if module == a.name or module.startswith(a.name + ".")]
    return max(fits, key=lambda a: len(a.name), default=None)


def import_statement(package: str, module: str) -> str:
    """An import of ``module`` that works from ``package`` (relative when inside it).

    >>> import_statement("polls", "polls.handlers.audit")
    'from .handlers import audit'
    >>> import_statement("polls", "polls.audit")
    'from . import audit'
    """
    if package and module.startswith(package + "."):
        parent, _, leaf = module[len(package) + 1 :].rpartition(".")
        return f"from .{parent} import {leaf}" if parent else f"from . import {leaf}"
    return f"import {module}"


def import_fix(apps: tuple[AppInfo, ...], module: str) -> str:
    """Where and how to import ``module`` so its receivers connect: the app's real AppConfig."""
    app = _app_of(apps, module)
    if app is None:
        return f"Import it where your project starts: `import {module}  # noqa: F401`."
    if app.config.startswith("django."):
        statement = import_statement(app.name, module)
        return (
            f"{app.name} has no AppConfig of its own: create {app.name}.apps with an AppConfig "
            f"(name = {app.name!r}) whose ready() runs `{statement}  # noqa: F401`."
        )
    config_module, _, cls = app.config.rpartition(".")
    statement = import_statement(app.config_package, module)
    verb = "Import it in" if app.has_ready else "Add a ready() method to"
    return f"{verb} {cls}.ready() in {config_module}: `{statement}  # noqa: F401`."


def _not_connected(
    d: DeclaredReceiver,
    signal: str,
    sender: str | None,
    apps: tuple[AppInfo, ...],
    *,
    imported: bool,
) -> Finding:
    shown = short_location(d.where)
    how = "@receiver" if d.via == "receiver" else ".connect()"
    if imported:
        message = (
            f"{_name(d)} is declared with {how} on {d.signal} at {shown}, but it is not "
            "connected now: it was disconnected, or its weak reference died."
        )
        fix = "Check for a disconnect(); keep a reference to the function (or weak=False)."
    else:
        message = (
            f"{_name(d)} is declared with {how} on {d.signal} at {shown}, but module "
            f"{d.module} is never imported, so the receiver is never connected and never runs."
        )
        fix = import_fix(apps, d.module)
    return Finding(
        kind="not_connected",
        severity="warning",
        signal=signal,
        sender=sender,
        receivers=(_name(d),),
        message=message,
        fix=fix,
        locations=(d.where,),
    )


def scan_errors(snap: Snapshot) -> list[Finding]:
    """Project files the source scan could not read: what they declare is unknown."""
    return [
        Finding(
            kind="scan_error",
            severity="note",
            signal=None,
            sender=None,
            receivers=(),
            message=f"{short_location(e.file)} ({e.module}) {e.message}: sigscope cannot "
            "tell which receivers it declares.",
            fix="Fix the file (Python reads source as UTF-8 unless it has a coding line), "
            "or exclude it from the scan if it is not Python.",
            locations=(f"{e.file}:{e.line}" if e.line else e.file,),
        )
        for e in snap.scan_errors
    ]


def falsy_uids(snap: Snapshot) -> list[Finding]:
    """``dispatch_uid=""`` or ``0``: Django ignores it (``if dispatch_uid:``)."""
    names = _names(snap)
    sources = [
        (names.canonical(d) or d.signal, _name(d), d.where)
        for d in snap.declared
        if d.falsy_dispatch_uid and d.via != "disconnect"
    ]
    sources += [
        (p.signal, p.receiver.name, p.receiver.location)
        for p in snap.pending
        if p.dispatch_uid is not None and not p.dispatch_uid
    ]
    return [
        Finding(
            kind="falsy_dispatch_uid",
            severity="warning",
            signal=signal,
            sender=None,
            receivers=(name,),
            message=f"{name} is connected with a falsy dispatch_uid at {short_location(where)}: "
            "Django ignores it (`if dispatch_uid:`), so repeated connects are not de-duplicated.",
            fix="Use a non-empty string naming the receiver, or drop the argument.",
            locations=(where,),
        )
        for signal, name, where in sources
    ]
