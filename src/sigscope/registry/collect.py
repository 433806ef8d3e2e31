"""The collection steps of a snapshot that need live objects: pending connects, live facts."""

from __future__ import annotations

import dataclasses
import difflib
import types
from typing import Any

from sigscope import _compat
from sigscope.describe import Memo, describe_callable
from sigscope.records import PendingInfo, SignalInfo
from sigscope.registry import live

__all__ = ["add_live_facts", "read_pending"]


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


def add_live_facts(
    signals: list[SignalInfo],
    live_lists: list[list[Any]],
    *,
    debug: bool,
) -> list[SignalInfo]:
    facts = _binding_facts(signals, live_lists, debug=debug)
    candidates = [
        rec
        for info, recs in zip(signals, live_lists)
        for r, rec in zip(info.receivers, recs)
        if debug and r.weak and rec is not None and not facts[(_func_id(rec), True)][1]
    ]
    kept = live.debug_kept_alive(candidates, ignore=live_lists) if candidates else set()
    del candidates
    result = []
    for info, recs in zip(signals, live_lists):
        rows = []
        for r, rec in zip(info.receivers, recs):
            changes: dict[str, Any] = {}
            if rec is not None and facts[(_func_id(rec), r.weak and debug)][0]:
                changes["stale"] = True
            if rec is not None and id(rec) in kept:
                changes["debug_kept_alive"] = True
            rows.append(dataclasses.replace(r, **changes) if changes else r)
        result.append(dataclasses.replace(info, receivers=tuple(rows)))
    return result


def _func_id(receiver: Any) -> int:
    return id(receiver.__func__ if type(receiver) is types.MethodType else receiver)


def _binding_facts(
    signals: list[SignalInfo], live_lists: list[list[Any]], *, debug: bool
) -> dict[tuple[int, bool], tuple[bool, bool]]:
    """:func:`live.binding_facts` once per function (a method's: its ``__func__``).

    The module binding is checked only for DEBUG's weak candidates, as before.
    Keyed by ``id()`` and holding only booleans: the receivers stay alive in
    ``live_lists`` meanwhile, and the DEBUG check finds no new referrer here.
    """
    facts: dict[tuple[int, bool], tuple[bool, bool]] = {}
    for info, recs in zip(signals, live_lists):
        for r, rec in zip(info.receivers, recs):
            key = (_func_id(rec), r.weak and debug)
            if rec is not None and key not in facts:
                facts[key] = live.binding_facts(rec, bound_check=key[1])
    return facts
