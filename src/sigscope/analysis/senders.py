"""Receivers that never run, or run for fewer models than they seem to, because of their sender.

Django sends model signals with ``sender=`` the instance's own class
(``Model.save_base`` uses ``origin = cls``): an abstract model is never a
sender; a proxy's save sends ``sender=Proxy``; a multi-table child's save sends
``sender=Child`` only.  Deletes also send for the multi-table parents' rows
(the collector deletes them), so on ``pre_delete``/``post_delete`` only proxies
are missed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sigscope.analysis.common import label, locations, when
from sigscope.records import Finding, ModelInfo, ReceiverInfo

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["abstract_senders", "senders_not_inherited"]

_MODULE = "django.db.models.signals."
_INSTANCE_SIGNALS = frozenset(
    _MODULE + s
    for s in ("pre_init", "post_init", "pre_save", "post_save", "pre_delete", "post_delete")
)
_DELETE_SIGNALS = frozenset({_MODULE + "pre_delete", _MODULE + "post_delete"})


def abstract_senders(snap: Snapshot) -> list[Finding]:
    """Receivers connected for an abstract model: Django never sends with one."""
    found = []
    for r in snap.receivers:
        if r.dead or r.sender.kind != "abstract_model":
            continue
        path = r.sender.path or ""
        concrete = [m.label for m in snap.models if path in m.abstract_ancestors and not m.proxy]
        instead = (
            f"connect it for each concrete model ({', '.join(concrete)})"
            if concrete
            else "connect it for the concrete models"
        )
        short = path.rpartition(".")[2]
        found.append(
            Finding(
                kind="abstract_sender",
                severity="warning",
                signal=r.signal,
                sender=r.sender.label,
                receivers=(r.receiver.name,),
                message=f"{r.receiver.name} is connected for {r.sender.label}: Django never "
                "sends with an abstract model (a save sends sender=the concrete class), so "
                "it never runs.",
                fix=f"Either {instead}, or connect it with no sender and check "
                f"`issubclass(sender, {short})` in the receiver.",
                locations=locations([r]),
            )
        )
    return found


def _descendants(models: tuple[ModelInfo, ...]) -> dict[str, list[ModelInfo]]:
    below: dict[str, list[ModelInfo]] = defaultdict(list)
    for m in models:
        for ancestor in m.concrete_ancestors:
            below[ancestor].append(m)
    return below


def _missed_by_delete(m: ModelInfo, sender: str, proxies: set[str]) -> bool:
    """A delete of ``m`` sends for ``m``, its concrete model and that one's MTI parents."""
    chain = [m.label, *m.concrete_ancestors]
    concrete_at = next((i for i, x in enumerate(chain) if x not in proxies), len(chain) - 1)
    return sender in chain[1 : concrete_at + 1]


def _what(m: ModelInfo) -> str:
    return f"{m.label} (proxy)" if m.proxy else f"{m.label} (multi-table child)"


def senders_not_inherited(snap: Snapshot) -> list[Finding]:
    """A receiver for a model does not run for its proxies or multi-table children."""
    below = _descendants(snap.models)
    if not below:
        return []
    proxies = {m.label for m in snap.models if m.proxy}
    found = []
    for signal in snap.signals:
        if signal.name not in _INSTANCE_SIGNALS:
            continue
        covered = defaultdict(set)
        for r in signal.receivers:
            covered[r.receiver.name].add(r.sender.label if not r.sender.is_any else "*")
        for r in signal.receivers:
            if r.dead or r.sender.kind != "model" or r.sender.label not in below:
                continue
            seen = covered[r.receiver.name]
            missed = [
                m
                for m in below[r.sender.label]
                if m.label not in seen
                and "*" not in seen
                and (signal.name not in _DELETE_SIGNALS or _missed_by(m, r, proxies))
            ]
            if missed:
                found.append(_not_inherited(r, missed))
    return found


def _missed_by(m: ModelInfo, r: ReceiverInfo, proxies: set[str]) -> bool:
    return _missed_by_delete(m, r.sender.label or "", proxies)


def _not_inherited(r: ReceiverInfo, missed: list[ModelInfo]) -> Finding:
    short = r.signal.rpartition(".")[2]
    model = (r.sender.label or "").rpartition(".")[2]
    names = ", ".join(_what(m) for m in missed)
    return Finding(
        kind="sender_not_inherited",
        severity="note",
        signal=r.signal,
        sender=label(r.sender),
        receivers=(r.receiver.name,),
        message=f"{r.receiver.name} runs {when(r.signal, r.sender)}, but not for {names}: "
        f"Django sends {short} with sender=the instance's own class, and a receiver for "
        f"{r.sender.label} does not cover its subclasses.",
        fix=f"If it should run for them, connect it for each of them too, or connect it with "
        f"no sender and check `issubclass(sender, {model})`.",
        locations=locations([r]),
    )
