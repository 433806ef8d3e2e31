"""Receivers that do not run as they look: reloaded, dead, DEBUG-kept, async on 4.2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sigscope.analysis.common import label, locations, when
from sigscope.records import Finding, ReceiverInfo

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["async_on_old_django", "dead_and_kept_alive", "stale"]


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
                sender=label(r.sender),
                receivers=(r.receiver.name,),
                message=f"{r.receiver.name} is the version from before its module was "
                f"reloaded: the old code still runs {when(r.signal, r.sender)}.{tail}",
                fix="Connect with weak=True and a dispatch_uid (a reload then replaces it), "
                "or disconnect the old receiver before reloading; restart the process.",
                locations=locations([r]),
            )
        )
    return found


def dead_and_kept_alive(regs: Sequence[ReceiverInfo]) -> list[Finding]:
    found = []
    for r in regs:
        if r.dead:
            name = r.declared_as or r.receiver.name
            found.append(
                Finding(
                    kind="dead_receiver",
                    severity="warning",
                    signal=r.signal,
                    sender=label(r.sender),
                    receivers=(name,),
                    message=f"{name} was garbage collected: it was connected "
                    "weakly and nothing else kept it alive, so it never runs (Django prunes "
                    "such entries lazily; an object that died during connect() on Django "
                    "6.x stays listed).",
                    fix="Keep a reference: define the receiver at module level (or keep the "
                    "instance alive), or connect with weak=False.",
                    locations=locations([r]),
                )
            )
        elif r.debug_kept_alive:
            found.append(
                Finding(
                    kind="debug_kept_alive",
                    severity="warning",
                    signal=r.signal,
                    sender=label(r.sender),
                    receivers=(r.receiver.name,),
                    message=f"{r.receiver.name} is alive only because DEBUG=True: Django's "
                    "DEBUG-only signature check caches it. With DEBUG=False (production) "
                    "it is garbage collected and silently stops running.",
                    fix="Define the receiver at module level, or connect it with weak=False.",
                    locations=locations([r]),
                )
            )
    return found


def async_on_old_django(snap: Snapshot) -> list[Finding]:
    return [
        Finding(
            kind="async_receiver_unsupported",
            severity="error",
            signal=r.signal,
            sender=label(r.sender),
            receivers=(r.receiver.name,),
            message=f"{r.receiver.name} is an async function, but Django "
            f"{snap.django_version} calls receivers synchronously: it returns a coroutine "
            "that is never awaited, and its body never runs.",
            fix="Upgrade to Django 5.0+ (async receivers), or make the receiver synchronous.",
            locations=locations([r]),
        )
        for r in snap.receivers
        if r.receiver.is_async and not r.dead
    ]
