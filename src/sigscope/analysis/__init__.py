"""Explain what is wrong with a registry: pure functions over snapshot records.

Every finding says what happens, in the user's terms, and how to fix it.

=============================  ========  ==========================================
kind                           severity  what happens
=============================  ========  ==========================================
duplicate_dispatch_uid         error     one callable under two ``dispatch_uid``s
duplicate_any_and_specific     error     ``sender=None`` plus a specific sender
duplicate_module_alias         error     one file imported under two module names
duplicate_rerun                error     registering code ran twice (same code object)
stale_reload                   error     ``importlib.reload`` left the old function
bound_to_several_instances     note      one method bound to several instances
dead_receiver                  warning   a weak receiver was garbage collected
debug_kept_alive               warning   only ``DEBUG=True`` keeps a weak receiver
pending_unresolved             error     a lazy ``"app.Model"`` sender never loads
not_connected                  warning   declared in source, not connected now
falsy_dispatch_uid             warning   ``dispatch_uid=""``/``0`` is ignored
async_receiver_unsupported     error     an ``async def`` receiver on Django < 5.0
=============================  ========  ==========================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sigscope import _compat
from sigscope.analysis.sites import site_findings
from sigscope.records import Finding, ReceiverInfo, SenderInfo
from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["SEVERITY_ORDER", "analyse"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}

_WHEN = {
    "pre_save": "is saved",
    "post_save": "is saved",
    "pre_delete": "is deleted",
    "post_delete": "is deleted",
    "m2m_changed": "changes a many-to-many relation",
    "pre_init": "is instantiated",
    "post_init": "is instantiated",
}


def when(signal: str, sender: SenderInfo | None) -> str:
    """``"each time shop.Order is saved"``, ``"each time order_paid is sent"``."""
    short = signal.rpartition(".")[2]
    if sender is not None and not sender.is_any:
        if short in _WHEN and sender.kind == "model":
            return f"each time {sender.label} {_WHEN[short]}"
        return f"each time {sender.label} sends {short}"
    return f"each time {short} is sent"


def _count(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _names(regs: Sequence[ReceiverInfo]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.receiver.name for r in regs))


def _locations(regs: Iterable[ReceiverInfo]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.receiver.location for r in regs if r.receiver.location))


def _overlap(a: SenderInfo, b: SenderInfo) -> SenderInfo | None:
    """The sender for which both registrations run, or None if never both."""
    if a.obj_id == b.obj_id:
        return a
    if a.is_any:
        return b
    if b.is_any:
        return a
    return None


def analyse(snap: Snapshot) -> tuple[Finding, ...]:
    """All findings for a snapshot, most severe first."""
    findings: list[Finding] = []
    for signal in snap.signals:
        live = [r for r in signal.receivers if not r.dead]
        findings += same_callable(live)
        findings += same_code(live)
        findings += several_instances(live)
        findings += stale(live)
        findings += dead_and_kept_alive(signal.receivers)
    findings += pending(snap)
    findings += not_connected(snap)
    findings += falsy_uids(snap)
    if not _compat.HAS_ASYNC_SIGNALS:
        findings += async_on_old_django(snap)
    findings += site_findings(snap)
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.kind, f.signal or ""))
    return tuple(findings)


def _callable_key(r: ReceiverInfo) -> tuple[int | None, int | None]:
    if r.receiver.kind in ("method", "classmethod"):
        return (r.receiver.self_id, r.receiver.func_id)
    return (None, r.receiver.func_id)


def same_callable(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """One callable registered under several lookup keys: it runs more than once per send."""
    groups: dict[tuple[int | None, int | None], list[ReceiverInfo]] = defaultdict(list)
    for r in regs:
        groups[_callable_key(r)].append(r)
    found = []
    for group in groups.values():
        if len(group) < 2:
            continue
        any_regs = [r for r in group if r.sender.is_any]
        by_sender: dict[int, list[ReceiverInfo]] = defaultdict(list)
        for r in group:
            if not r.sender.is_any:
                by_sender[r.sender.obj_id].append(r)
        if len(any_regs) > 1:
            found.append(_uid_finding(any_regs))
        for specific in by_sender.values():
            if any_regs:
                found.append(_any_and_specific(any_regs, specific))
            elif len(specific) > 1:
                found.append(_uid_finding(specific))
    return found


def _any_and_specific(any_regs: list[ReceiverInfo], specific: list[ReceiverInfo]) -> Finding:
    first, sender = specific[0], specific[0].sender
    name = first.receiver.name
    n = len(any_regs) + len(specific)
    return Finding(
        kind="duplicate_any_and_specific",
        severity="error",
        signal=first.signal,
        sender=sender.label,
        receivers=(name,),
        message=f"{name} runs {_count(n)} {when(first.signal, sender)}: it is connected "
        f"{_count(len(any_regs))} for any sender and {_count(len(specific))} for {sender.label}.",
        fix=f"Drop the sender={sender.label} registration (the any-sender one already "
        "covers it), or connect both with the same dispatch_uid.",
        locations=_locations(specific),
    )


def _uid_finding(regs: list[ReceiverInfo]) -> Finding:
    first = regs[0]
    uids = ", ".join(repr(r.dispatch_uid) if r.dispatch_uid else "no dispatch_uid" for r in regs)
    return Finding(
        kind="duplicate_dispatch_uid",
        severity="error",
        signal=first.signal,
        sender=_label(first.sender),
        receivers=(first.receiver.name,),
        message=f"{first.receiver.name} runs {_count(len(regs))} "
        f"{when(first.signal, first.sender)}: it is connected under {len(regs)} lookup "
        f"keys ({uids}).",
        fix="Connect it once, with one dispatch_uid that names the receiver "
        f'(e.g. dispatch_uid="{first.receiver.name}"), and remove the other calls.',
        locations=_locations(regs),
    )


def _code_groups(regs: Sequence[ReceiverInfo]) -> dict[tuple, list[ReceiverInfo]]:
    groups: dict[tuple, list[ReceiverInfo]] = defaultdict(list)
    for r in regs:
        info = r.receiver
        if info.kind in ("function", "lambda", "partial") and info.line is not None:
            groups[(info.file, info.line, info.qualname, info.bound_to)].append(r)
    return groups


def same_code(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """Distinct function objects from one ``def``: re-run code, or a module imported twice."""
    found = []
    for group in _code_groups(regs).values():
        distinct = list({r.receiver.func_id: r for r in group if not r.stale}.values())
        if len(distinct) < 2 or _overlap_all(distinct) is None:
            continue
        sender = _overlap_all(distinct)
        modules = sorted({r.receiver.module or "?" for r in distinct})
        first = distinct[0]
        where = short_location(first.receiver.location)
        n = len(distinct)
        if len(modules) > 1:
            found.append(
                Finding(
                    kind="duplicate_module_alias",
                    severity="error",
                    signal=first.signal,
                    sender=_label(sender),
                    receivers=tuple(f"{m}.{first.receiver.qualname}" for m in modules),
                    message=f"{where} is imported under {n} module names "
                    f"({', '.join(modules)}); each import connected its own copy, so "
                    f"{first.receiver.qualname} runs {_count(n)} {when(first.signal, sender)}.",
                    fix="Import the module under one name only (the dotted path used in "
                    "INSTALLED_APPS; check sys.path for a project directory added twice), "
                    "or give the connect a dispatch_uid.",
                    locations=(where,),
                )
            )
        else:
            found.append(
                Finding(
                    kind="duplicate_rerun",
                    severity="error",
                    signal=first.signal,
                    sender=_label(sender),
                    receivers=_names(distinct),
                    message=f"The code that connects {first.receiver.name} ran {_count(n)}: "
                    f"{n} function objects made by the same def at {where} are connected, "
                    f"so it runs {_count(n)} {when(first.signal, sender)}.",
                    fix="Connect it once (from AppConfig.ready()), define the receiver at "
                    "module level, or pass a dispatch_uid so repeated connects are ignored.",
                    locations=(where,),
                )
            )
    return found


def _overlap_all(regs: Sequence[ReceiverInfo]) -> SenderInfo | None:
    sender: SenderInfo | None = regs[0].sender
    for r in regs[1:]:
        sender = _overlap(sender, r.sender) if sender is not None else None
    return sender


def _label(sender: SenderInfo | None) -> str | None:
    return None if sender is None or sender.is_any else sender.label


def several_instances(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """One method (or ``__call__``) bound to several instances: worth knowing, maybe intended."""
    groups: dict[tuple, list[ReceiverInfo]] = defaultdict(list)
    for r in regs:
        if r.receiver.kind in ("method", "callable") and r.receiver.code_id is not None:
            groups[(r.receiver.code_id, r.sender.obj_id)].append(r)
    found = []
    for group in groups.values():
        instances = {r.receiver.self_id for r in group}
        if len(instances) < 2:
            continue
        first = group[0]
        n = len(instances)
        found.append(
            Finding(
                kind="bound_to_several_instances",
                severity="note",
                signal=first.signal,
                sender=_label(first.sender),
                receivers=(first.receiver.name,),
                message=f"{first.receiver.name} is bound to {n} different instances; "
                f"each runs {when(first.signal, first.sender)} ({n} calls per send).",
                fix="Fine if every instance should react (one listener per object). If one "
                "call was meant, connect a single instance or use a dispatch_uid.",
                locations=_locations([first]),
            )
        )
    return found


def stale(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """Receivers left behind by ``importlib.reload``."""
    found = []
    for r in regs:
        if not r.stale:
            continue
        twin = any(o is not r and not o.stale and o.receiver.name == r.receiver.name for o in regs)
        tail = " The reloaded version is connected too, so both run." if twin else ""
        found.append(
            Finding(
                kind="stale_reload",
                severity="error" if twin else "warning",
                signal=r.signal,
                sender=_label(r.sender),
                receivers=(r.receiver.name,),
                message=f"{r.receiver.name} is the version from before its module was "
                f"reloaded: the old code still runs {when(r.signal, r.sender)}.{tail}",
                fix="Connect with weak=True and a dispatch_uid (a reload then replaces it), "
                "or disconnect the old receiver before reloading; restart the process.",
                locations=_locations([r]),
            )
        )
    return found


def dead_and_kept_alive(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    found = []
    for r in regs:
        if r.dead:
            found.append(
                Finding(
                    kind="dead_receiver",
                    severity="warning",
                    signal=r.signal,
                    sender=_label(r.sender),
                    receivers=(r.receiver.name,),
                    message=f"{r.receiver.name} was garbage collected: it was connected "
                    "weakly and nothing else kept it alive, so it never runs (Django prunes "
                    "such entries lazily; an object that died during connect() on Django "
                    "6.x stays listed).",
                    fix="Keep a reference: define the receiver at module level (or keep the "
                    "instance alive), or connect with weak=False.",
                    locations=_locations([r]),
                )
            )
        elif r.debug_kept_alive:
            found.append(
                Finding(
                    kind="debug_kept_alive",
                    severity="warning",
                    signal=r.signal,
                    sender=_label(r.sender),
                    receivers=(r.receiver.name,),
                    message=f"{r.receiver.name} is alive only because DEBUG=True: Django's "
                    "DEBUG-only signature check caches it. With DEBUG=False (production) "
                    "it is garbage collected and silently stops running.",
                    fix="Define the receiver at module level, or connect it with weak=False.",
                    locations=_locations([r]),
                )
            )
    return found


def pending(snap: Snapshot) -> list[Finding]:
    found = []
    for p in snap.pending:
        hint = f" Did you mean {' or '.join(p.suggestions)}?" if p.suggestions else ""
        if p.unresolvable:
            message = (
                f"{p.receiver.name} waits for model {p.model!r}, which will never load "
                f"({p.reason}), so it never runs."
            )
        else:
            message = f"{p.receiver.name} waits for model {p.model!r}, not loaded yet."
        found.append(
            Finding(
                kind="pending_unresolved",
                severity="error" if p.unresolvable else "note",
                signal=p.signal,
                sender=p.model,
                receivers=(p.receiver.name,),
                message=message,
                fix="Fix the sender string ('app_label.ModelName') or pass the model class." + hint,
                locations=(p.receiver.location,) if p.receiver.location else (),
            )
        )
    return found


def not_connected(snap: Snapshot) -> list[Finding]:
    """Receivers declared in source (``@receiver``/``.connect``) that are not connected now."""
    from sigscope.registry.declared_match import unconnected

    return unconnected(snap)


def falsy_uids(snap: Snapshot) -> list[Finding]:
    found = []
    from sigscope.registry.declared_match import canonical_signal

    sources = [
        (canonical_signal(snap, d.signal), f"{d.module}.{d.function}", f"{d.file}:{d.line}")
        for d in snap.declared
        if d.falsy_dispatch_uid
    ]
    sources += [
        (p.signal, p.receiver.name, p.receiver.location)
        for p in snap.pending
        if p.dispatch_uid is not None and not p.dispatch_uid
    ]
    for signal, name, where in sources:
        found.append(
            Finding(
                kind="falsy_dispatch_uid",
                severity="warning",
                signal=signal,
                sender=None,
                receivers=(name,),
                message=f"{name} is connected with a falsy dispatch_uid at "
                f"{short_location(where)}: Django "
                "ignores it (`if dispatch_uid:`), so repeated connects are not de-duplicated.",
                fix="Use a non-empty string naming the receiver, or drop the argument.",
                locations=(where,),
            )
        )
    return found


def async_on_old_django(snap: Snapshot) -> list[Finding]:
    return [
        Finding(
            kind="async_receiver_unsupported",
            severity="error",
            signal=r.signal,
            sender=_label(r.sender),
            receivers=(r.receiver.name,),
            message=f"{r.receiver.name} is an async function, but Django "
            f"{snap.django_version} calls receivers synchronously: it returns a coroutine "
            "that is never awaited, and its body never runs.",
            fix="Upgrade to Django 5.0+ (async receivers), or make the receiver synchronous.",
            locations=_locations([r]),
        )
        for r in snap.receivers
        if r.receiver.is_async and not r.dead
    ]
