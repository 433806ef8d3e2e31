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
disconnected                   note      declared, then ``disconnect()``-ed in source
dispatch_uid_collision         error     two callables share one ``dispatch_uid``
scan_error                     note      a project file does not decode or parse
falsy_dispatch_uid             warning   ``dispatch_uid=""``/``0`` is ignored
async_receiver_unsupported     error     an ``async def`` receiver on Django < 5.0
abstract_sender                warning   connected for an abstract model: never runs
sender_not_inherited           note      a model's proxies/MTI children are not covered
never_sent                     note      a custom signal with receivers is never sent
never_received                 note      a custom signal is sent but nobody receives it
bypasses_signals               note      ``bulk_create``/``update()`` skips save receivers
=============================  ========  ==========================================

One module per family: ``duplicates``, ``lifecycle``, ``pending``, ``source``,
``senders``, ``sites``.  Findings about Django's own receivers are left out unless
``include_builtin`` is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigscope import _compat
from sigscope.analysis.common import when
from sigscope.analysis.duplicates import same_callable, same_code, several_instances
from sigscope.analysis.lifecycle import async_on_old_django, dead_and_kept_alive, stale
from sigscope.analysis.pending import pending
from sigscope.analysis.senders import abstract_senders, senders_not_inherited
from sigscope.analysis.sites import site_findings
from sigscope.analysis.source import dispatch_uid_collisions, falsy_uids, not_connected, scan_errors
from sigscope.records import Finding

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["SEVERITY_ORDER", "analyse", "is_builtin_finding", "when"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def is_builtin_finding(finding: Finding) -> bool:
    """A finding about Django's own receivers only (left out unless asked for)."""
    return bool(finding.receivers) and all(n.startswith("django.") for n in finding.receivers)


def analyse(snap: Snapshot, *, include_builtin: bool | None = None) -> tuple[Finding, ...]:
    """All findings for a snapshot, most severe first.

    ``include_builtin`` (default: the snapshot's own setting) keeps findings
    about Django's own receivers.
    """
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
    findings += dispatch_uid_collisions(snap)
    findings += falsy_uids(snap)
    findings += scan_errors(snap)
    findings += abstract_senders(snap)
    findings += senders_not_inherited(snap)
    if not _compat.HAS_ASYNC_SIGNALS:
        findings += async_on_old_django(snap)
    findings += site_findings(snap)
    if include_builtin is None:
        include_builtin = getattr(snap, "include_builtin", False)
    if not include_builtin:
        findings = [f for f in findings if not is_builtin_finding(f)]
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.kind, f.signal or ""))
    return tuple(findings)
