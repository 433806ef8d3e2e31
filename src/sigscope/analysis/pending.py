"""Lazy ``sender="app.Model"`` connects still waiting for their model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigscope.records import Finding

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["pending"]


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
