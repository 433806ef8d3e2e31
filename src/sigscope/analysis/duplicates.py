"""Receivers that run more than once per send: the same callable or code connected twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sigscope.analysis.common import count, label, locations, names, overlap, when
from sigscope.records import Finding, ReceiverInfo, SenderInfo
from sigscope.safe import short_location

__all__ = ["same_callable", "same_code", "several_instances"]


def _callable_key(r: ReceiverInfo) -> tuple[int | None, int | None]:
    if r.receiver.kind in ("method", "classmethod"):
        return (r.receiver.self_id, r.receiver.func_id)
    return (None, r.receiver.func_id)


def same_callable(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """One callable registered under several lookup keys: it runs more than once per send."""
    keys = [_callable_key(r) for r in regs]
    if len(set(keys)) == len(keys):
        return []  # every callable registered once
    groups: dict[tuple[int | None, int | None], list[ReceiverInfo]] = defaultdict(list)
    for key, r in zip(keys, regs):
        groups[key].append(r)
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
        message=f"{name} runs {count(n)} {when(first.signal, sender)}: it is connected "
        f"{count(len(any_regs))} for any sender and {count(len(specific))} for {sender.label}.",
        fix=f"Drop the sender={sender.label} registration (the any-sender one already "
        "covers it), or connect both with the same dispatch_uid.",
        locations=locations(specific),
    )


def _uid_finding(regs: list[ReceiverInfo]) -> Finding:
    first = regs[0]
    uids = ", ".join(repr(r.dispatch_uid) if r.dispatch_uid else "no dispatch_uid" for r in regs)
    return Finding(
        kind="duplicate_dispatch_uid",
        severity="error",
        signal=first.signal,
        sender=label(first.sender),
        receivers=(first.receiver.name,),
        message=f"{first.receiver.name} runs {count(len(regs))} "
        f"{when(first.signal, first.sender)}: it is connected under {len(regs)} lookup "
        f"keys ({uids}).",
        fix="Connect it once, with one dispatch_uid that names the receiver "
        f'(e.g. dispatch_uid="{first.receiver.name}"), and remove the other calls.',
        locations=locations(regs),
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
        if len(group) < 2:
            continue  # one registration: nothing to compare
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
                    sender=label(sender),
                    receivers=tuple(f"{m}.{first.receiver.qualname}" for m in modules),
                    message=f"{where} is imported under {n} module names "
                    f"({', '.join(modules)}); each import connected its own copy, so "
                    f"{first.receiver.qualname} runs {count(n)} {when(first.signal, sender)}.",
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
                    sender=label(sender),
                    receivers=names(distinct),
                    message=f"The code that connects {first.receiver.name} ran {count(n)}: "
                    f"{n} function objects made by the same def at {where} are connected, "
                    f"so it runs {count(n)} {when(first.signal, sender)}.",
                    fix="Connect it once (from AppConfig.ready()), define the receiver at "
                    "module level, or pass a dispatch_uid so repeated connects are ignored.",
                    locations=(where,),
                )
            )
    return found


def _overlap_all(regs: Sequence[ReceiverInfo]) -> SenderInfo | None:
    sender: SenderInfo | None = regs[0].sender
    for r in regs[1:]:
        sender = overlap(sender, r.sender) if sender is not None else None
    return sender


def several_instances(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    """One method (or ``__call__``) bound to several instances: worth knowing, maybe intended."""
    groups: dict[tuple, list[ReceiverInfo]] = defaultdict(list)
    for r in regs:
        info = r.receiver
        if info.kind not in ("method", "callable") or info.code_id is None:
            continue
        if (info.module or "").startswith("django."):
            continue  # Django's own (Options.setting_changed per swappable model): by design
        groups[(info.code_id, r.sender.obj_id)].append(r)
    found = []
    for group in groups.values():
        if len(group) < 2:
            continue
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
                sender=label(first.sender),
                receivers=(first.receiver.name,),
                message=f"{first.receiver.name} is bound to {n} different instances; "
                f"each runs {when(first.signal, first.sender)} ({n} calls per send).",
                fix="Fine if every instance should react (one listener per object). If one "
                "call was meant, connect a single instance or use a dispatch_uid.",
                locations=locations([first]),
            )
        )
    return found
