"""The collection steps of a snapshot that need live objects: pending connects, live facts."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from sigscope import _compat
from sigscope.describe import Memo, describe_callable
from sigscope.records import PendingInfo, SignalInfo
from sigscope.registry import live

__all__ = ["mark_kept_alive", "read_pending"]


def read_pending(
    registry: Any, names: dict[int, str], *, memo: Memo | None = None
) -> list[PendingInfo]:
    ready = bool(getattr(registry, "models_ready", False))
    labels = {
        m._meta.label_lower: m._meta.label
        for m in _compat.registered_models(registry)
        if not m._meta.auto_created
    }
    installed = {c.label for c in _compat.app_configs(registry)}
    result = []
    for raw in _compat.pending_connects(registry):
        app_label, model_name = raw.model_key
        key = f"{app_label}.{model_name}"
        if app_label not in installed:
            reason = f"no installed app is labelled {app_label!r}"
        else:
            reason = f"app {app_label!r} has no model {model_name!r}"
        close = difflib.get_close_matches(key, labels, n=3, cutoff=0.6)
        uid = raw.dispatch_uid
        result.append(
            PendingInfo(
                signal=names.get(id(raw.signal), "<unnamed signal>"),
                model=key,
                receiver=describe_callable(raw.receiver, memo=memo),
                weak=raw.weak,
                dispatch_uid=None if uid is None else str(uid),
                unresolvable=ready,
                reason=reason,
                suggestions=tuple(labels[c] for c in close),
            )
        )
    return result


def mark_kept_alive(
    signals: list[SignalInfo], live_lists: list[list[Any]], facts: live.LiveFacts
) -> list[SignalInfo]:
    """The records, with ``debug_kept_alive`` set on receivers only DEBUG's cache keeps.

    Run after reading, once nothing but ``live_lists`` (and Django) holds the receivers.
    """
    candidates, facts.candidates = facts.candidates, []
    kept = live.debug_kept_alive(candidates, ignore=live_lists) if candidates else set()
    del candidates
    if not kept:
        return signals
    result = []
    for info, recs in zip(signals, live_lists):
        if any(rec is not None and id(rec) in kept for rec in recs):
            rows = tuple(
                dataclasses.replace(r, debug_kept_alive=True)
                if rec is not None and id(rec) in kept
                else r
                for r, rec in zip(info.receivers, recs)
            )
            info = dataclasses.replace(info, receivers=rows)
        result.append(info)
    return result
