"""Findings from where the source sends signals, and where it skips them.

=================  ========  =======================================================
kind               severity  what happens
=================  ========  =======================================================
never_sent         note      a project signal has receivers, but nothing sends it
never_received     note      the project sends a custom signal nobody receives
bypasses_signals   note      ``bulk_create``/``bulk_update``/``update()`` on a model
                             with save receivers: they do not run for those rows
                             (named in the message; ``receivers`` is empty, so the
                             receivers themselves are not marked in views and graphs)
=================  ========  =======================================================

All three need the source scan (``snapshot(scan_source=True)``, the default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sigscope.records import BypassSite, Finding, ReceiverInfo, SignalInfo
from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["bypassed_signals", "site_findings", "unsent_and_unheard"]

_SAVE_SIGNALS = ("django.db.models.signals.pre_save", "django.db.models.signals.post_save")
_SENDS = "send/send_robust/asend/asend_robust"


def site_findings(snap: Snapshot) -> list[Finding]:
    """Every finding of this module (none when the source was not scanned)."""
    if snap.project_packages is None:
        return []
    return unsent_and_unheard(snap) + bypassed_signals(snap)


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _live(signal: SignalInfo) -> list[ReceiverInfo]:
    return [r for r in signal.receivers if not r.dead]


def _names(regs: Sequence[ReceiverInfo]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.receiver.name for r in regs))


def _listing(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def unsent_and_unheard(snap: Snapshot) -> list[Finding]:
    """``never_sent`` for project signals with receivers and no send site;
    ``never_received`` for custom signals sent with no receiver at all."""
    pending = {p.signal for p in snap.pending}
    found = []
    for s in snap.signals:
        if s.is_builtin:
            continue
        live = _live(s)
        if live and not s.sent_from and snap.in_project(s.name):
            found.append(_never_sent(s, live))
        elif s.sent_from and not live and s.name not in pending:
            found.append(_never_received(s))
    return found


def _never_sent(s: SignalInfo, live: list[ReceiverInfo]) -> Finding:
    names = _names(live)
    n = len(names)
    return Finding(
        kind="never_sent",
        severity="note",
        signal=s.name,
        sender=None,
        receivers=names,
        message=f"{s.name} has {n} receiver{'s' if n != 1 else ''} ({_listing(names)}), "
        f"but no {_SENDS} call on it was found in the project's apps, so "
        f"{'they never run' if n != 1 else 'it never runs'} (unless code outside those "
        "apps sends it).",
        fix=f"Send it where the event happens ({_short(s.name)}.send(sender=..., ...)), "
        "or remove the signal and its receivers.",
        locations=tuple(dict.fromkeys(r.receiver.location for r in live if r.receiver.location)),
    )


def _never_received(s: SignalInfo) -> Finding:
    n = len(s.sent_from)
    where = ", ".join(short_location(f"{x.file}:{x.line}") for x in s.sent_from[:3])
    return Finding(
        kind="never_received",
        severity="note",
        signal=s.name,
        sender=None,
        receivers=(),
        message=f"{s.name} is sent from {n} place{'s' if n != 1 else ''} ({where}"
        f"{', …' if n > 3 else ''}), but no receiver is connected to it: each send does nothing.",
        fix="Connect the receiver that should react (and import its module from your "
        "AppConfig.ready()), or remove the send if nothing needs it.",
        locations=tuple(f"{x.file}:{x.line}" for x in s.sent_from),
    )


def bypassed_signals(snap: Snapshot) -> list[Finding]:
    """``bypasses_signals`` for each bypass site on a model with its own save receivers."""
    save = sorted(  # pre_save's receivers first: the order a save runs them in
        (s for s in snap.signals if s.name in _SAVE_SIGNALS),
        key=lambda s: _SAVE_SIGNALS.index(s.name),
    )
    found = []
    for site in snap.bypass_sites:
        own = [
            r
            for s in save
            for r in _live(s)
            if r.sender.kind == "model" and r.sender.label == site.model and _ours(r)
        ]
        if not own:
            continue
        anyone = [r for s in save for r in _live(s) if r.sender.is_any and _ours(r)]
        found.append(_bypass(site, own + anyone))
    return found


def _ours(r: ReceiverInfo) -> bool:
    return not (r.receiver.module or "").startswith("django.")


_HOW = {
    "update": "QuerySet.update()",
    "bulk_create": "bulk_create()",
    "bulk_update": "bulk_update()",
}


def _bypass(site: BypassSite, regs: list[ReceiverInfo]) -> Finding:
    names = _names(regs)
    signals = sorted({_short(r.signal) for r in regs}, reverse=True)  # pre_save, post_save
    model = site.model.rpartition(".")[2]
    created = "True" if site.operation == "bulk_create" else "False"
    if site.operation == "update":
        loop = f"loop over the objects and call save() on each (one query per {model})"
    else:
        loop = f"save() each {model} instead (one query per object)"
    return Finding(
        kind="bypasses_signals",
        severity="note",
        signal=f"django.db.models.signals.{'post_save' if 'post_save' in signals else 'pre_save'}",
        sender=site.model,
        receivers=(),  # named in the message: they are fine, the call site is the news
        message=f"{_HOW[site.operation]} on {site.model} at "
        f"{short_location(f'{site.file}:{site.line}')} (in {site.function}) writes rows "
        f"without sending {'/'.join(signals)}: {_listing(names, limit=6)} "
        f"{'do' if len(names) != 1 else 'does'} not run for them.",
        fix=f"If they must run, {loop}, or send the signal yourself for each object "
        f"(post_save.send(sender={model}, instance=obj, created={created})); if skipping "
        "them is intended here, leave it.",
        locations=(f"{site.file}:{site.line}",),
    )
