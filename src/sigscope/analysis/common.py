"""Helpers every finding family shares: wording, names, locations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sigscope.records import ReceiverInfo, SenderInfo

__all__ = ["count", "label", "locations", "names", "overlap", "when"]

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


def count(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def names(regs: Sequence[ReceiverInfo]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.receiver.name for r in regs))


def locations(regs: Iterable[ReceiverInfo]) -> tuple[str, ...]:
    """Where to change it: the connect sites first, then the receivers' definitions."""
    regs = list(regs)
    sites = [r.connected_at for r in regs if r.connected_at]
    return tuple(
        dict.fromkeys([*sites, *(r.receiver.location for r in regs if r.receiver.location)])
    )


def overlap(a: SenderInfo, b: SenderInfo) -> SenderInfo | None:
    """The sender for which both registrations run, or None if never both."""
    if a.obj_id == b.obj_id:
        return a
    if a.is_any:
        return b
    if b.is_any:
        return a
    return None


def label(sender: SenderInfo | None) -> str | None:
    return None if sender is None or sender.is_any else sender.label
