"""What changed between two snapshots: registrations added, removed, changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sigscope.records import ReceiverInfo

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["SnapshotDiff", "diff"]

Key = tuple[str, str, str | None, str | None]


def _key(r: ReceiverInfo) -> Key:
    """A registration's identity across snapshots: signal, receiver, sender, uid."""
    return (r.signal, r.receiver.name, None if r.sender.is_any else r.sender.label, r.dispatch_uid)


def _state(r: ReceiverInfo) -> tuple[object, ...]:
    return (r.weak, r.is_async, r.dead, r.stale, r.receiver.file, r.receiver.line)


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    added: tuple[ReceiverInfo, ...]
    removed: tuple[ReceiverInfo, ...]
    #: ``(before, after)`` pairs: same signal/receiver/sender/uid, other state (dead, file…).
    changed: tuple[tuple[ReceiverInfo, ReceiverInfo], ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def __str__(self) -> str:
        lines = [f"+ {r.signal}: {r.receiver.name} ({r.sender})" for r in self.added]
        lines += [f"- {r.signal}: {r.receiver.name} ({r.sender})" for r in self.removed]
        lines += [f"~ {a.signal}: {a.receiver.name} ({a.sender})" for a, _ in self.changed]
        return "\n".join(lines) if lines else "no change"


def diff(before: Snapshot, after: Snapshot) -> SnapshotDiff:
    """Registrations that a step connected, disconnected or changed.

    Registrations are matched by (signal, receiver name, sender, dispatch_uid);
    a receiver connected twice counts twice.

    Examples
    --------
    >>> import sigscope
    >>> sigscope.diff(sigscope.Snapshot([]), sigscope.Snapshot([]))
    SnapshotDiff(added=(), removed=(), changed=())
    """
    old: dict[Key, list[ReceiverInfo]] = {}
    new: dict[Key, list[ReceiverInfo]] = {}
    for r in before.receivers:
        old.setdefault(_key(r), []).append(r)
    for r in after.receivers:
        new.setdefault(_key(r), []).append(r)
    added: list[ReceiverInfo] = []
    removed: list[ReceiverInfo] = []
    changed: list[tuple[ReceiverInfo, ReceiverInfo]] = []
    for key in old.keys() | new.keys():
        a_list, b_list = old.get(key, []), new.get(key, [])
        unmatched_b = Counter(_state(b) for b in b_list)
        pending_a = []
        for a in a_list:
            if unmatched_b[_state(a)] > 0:
                unmatched_b[_state(a)] -= 1
            else:
                pending_a.append(a)
        rest_b = [b for b in b_list if _take(unmatched_b, _state(b))]
        pairs = min(len(pending_a), len(rest_b))
        changed += list(zip(pending_a[:pairs], rest_b[:pairs]))
        removed += pending_a[pairs:]
        added += rest_b[pairs:]

    def order(r: ReceiverInfo) -> tuple[str, int]:
        return (r.signal, r.index)

    return SnapshotDiff(
        tuple(sorted(added, key=order)),
        tuple(sorted(removed, key=order)),
        tuple(sorted(changed, key=lambda pair: order(pair[1]))),
    )


def _take(counter: Counter[tuple[object, ...]], state: tuple[object, ...]) -> bool:
    if counter[state] > 0:
        counter[state] -= 1
        return True
    return False
