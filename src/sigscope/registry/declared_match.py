"""Match receivers declared in source to live registrations, exactly.

A declaration matches a registration when all three agree:

* the **signal**: the declaration's dotted path (resolved through the file's
  imports) is one of the live signal's names or aliases; when it cannot be
  resolved, its short name must be unique among live signals;
* the **receiver**: a ``@receiver`` function by ``file:line`` (a decorated
  function's ``co_firstlineno`` is its first decorator's line), a
  ``.connect(name)`` by the dotted name the source resolves to;
* the **sender**: its resolved path or label, or any sender when the source
  cannot tell (``sender=self.get_model("Order")``).

Several declarations of one receiver on one signal (two ``dispatch_uid``s) are
told apart by their ``dispatch_uid``.  A matched registration records the
declaration's ``file:line`` as ``connected_at``; a dead weak receiver that
matches exactly one declaration by signal, sender and ``dispatch_uid`` records
its name as ``declared_as``.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

from sigscope.records import DeclaredReceiver, PendingInfo, ReceiverInfo, SenderInfo, SignalInfo

__all__ = ["SignalNames", "match_declared", "sender_matches"]


@lru_cache(maxsize=4096)
def _real(path: str) -> str:
    return os.path.realpath(path)


def _short(dotted: str) -> str:
    return dotted.rpartition(".")[2]


class SignalNames:
    """Canonical signal names by any name they are bound to (and unique short names)."""

    def __init__(self, names: Iterable[tuple[str, Sequence[str]]]) -> None:
        self._full: dict[str, str] = {}
        shorts: dict[str, set[str]] = defaultdict(set)
        for name, aliases in names:
            for alias in (name, *aliases):
                self._full.setdefault(alias, name)
            shorts[_short(name)].add(name)
        self._short = {k: v.pop() for k, v in shorts.items() if len(v) == 1}

    def canonical(self, d: DeclaredReceiver) -> str | None:
        """The canonical name of the signal a declaration names, or ``None``."""
        if d.signal_path and d.signal_path in self._full:
            return self._full[d.signal_path]
        return self._short.get(_short(d.signal))


def sender_matches(d: DeclaredReceiver, sender: SenderInfo) -> bool:
    """Could this declaration's ``sender=`` be this live sender?"""
    if d.sender is None:
        return sender.is_any
    if sender.is_any:
        return False
    written = d.sender_path
    if written is None or written.endswith(".through"):
        return True  # an expression the scan cannot resolve (or an m2m through model)
    if written[:1] in "'\"":
        value = ast.literal_eval(written)
        if sender.kind in ("model", "pending") and isinstance(value, str):
            return value.lower() == (sender.label or "").lower()
        return sender.kind in ("value", "unknown")
    known = [x for x in (sender.path, sender.label) if x]
    return written in known or any(_short(written) == _short(x) for x in known)


class _Declarations:
    def __init__(self, declared: Iterable[DeclaredReceiver], names: SignalNames) -> None:
        self.by_line: dict[tuple[str, str, int], list[DeclaredReceiver]] = defaultdict(list)
        self.by_path: dict[tuple[str, str], list[DeclaredReceiver]] = defaultdict(list)
        self.by_signal: dict[str, list[DeclaredReceiver]] = defaultdict(list)
        self.used: set[int] = set()
        for d in declared:
            signal = names.canonical(d)
            if signal is None or d.via == "disconnect":
                continue
            self.by_signal[signal].append(d)
            if d.via == "receiver":
                self.by_line[(signal, _real(d.file), d.line)].append(d)
            if d.receiver_path:
                self.by_path[(signal, d.receiver_path)].append(d)

    def pick(
        self, found: list[DeclaredReceiver], sender: SenderInfo, uid: str | None
    ) -> DeclaredReceiver | None:
        fits = [d for d in found if sender_matches(d, sender)]
        if not fits and len({id(d) for d in found}) == 1:
            fits = found  # one declaration of this receiver: a sender the scan misread
        if uid is not None:  # keyed by its uid: a declaration without one is not it
            keyed = [d for d in fits if d.dispatch_uid and not d.falsy_dispatch_uid]
            fits = [d for d in keyed if d.dispatch_uid == uid] or keyed
        else:
            fits = [d for d in fits if d.dispatch_uid is None or d.falsy_dispatch_uid]
        best = next((d for d in fits if id(d) not in self.used), fits[0] if fits else None)
        if best is not None:
            self.used.add(id(best))
        return best

    def live(
        self,
        signal: str,
        name: str,
        file: str | None,
        line: int | None,
        sender: SenderInfo,
        uid: str | None,
    ) -> DeclaredReceiver | None:
        found = self.by_line.get((signal, _real(file), line or 0), []) if file else []
        return self.pick(found + self.by_path.get((signal, name), []), sender, uid)

    def same_file(self, r: ReceiverInfo) -> DeclaredReceiver | None:
        """A callable instance or bound method connected by a variable: same file only."""
        file = _real(r.receiver.file) if r.receiver.file else None
        found = [
            d
            for d in self.by_signal.get(r.signal, [])
            if id(d) not in self.used
            and d.via == "connect"
            and _real(d.file) == file
            and sender_matches(d, r.sender)
            and (r.dispatch_uid is None or d.dispatch_uid == r.dispatch_uid)
        ]
        return self.pick(found, r.sender, r.dispatch_uid) if len(found) == 1 else None

    def dead(self, r: ReceiverInfo) -> DeclaredReceiver | None:
        found = [
            d
            for d in self.by_signal.get(r.signal, [])
            if id(d) not in self.used
            and sender_matches(d, r.sender)
            and d.dispatch_uid == r.dispatch_uid
        ]
        return self.pick(found, r.sender, r.dispatch_uid) if len(found) == 1 else None


def match_declared(
    signals: Sequence[SignalInfo],
    pending: Sequence[PendingInfo],
    declared: Sequence[DeclaredReceiver],
) -> tuple[list[SignalInfo], list[PendingInfo]]:
    """``signals`` and ``pending`` with ``connected_at`` (and ``declared_as``) filled in."""
    if not declared:
        return list(signals), list(pending)
    names = SignalNames((s.name, s.aliases) for s in signals)
    index = _Declarations(declared, names)
    found: dict[tuple[int, int], DeclaredReceiver] = {}
    for pass_ in ("live", "same_file", "dead"):
        for s_index, signal in enumerate(signals):
            for r in signal.receivers:
                if (s_index, r.index) in found or (pass_ == "dead") != r.dead:
                    continue
                info = r.receiver
                if pass_ == "live":
                    d = index.live(
                        r.signal, info.name, info.file, info.line, r.sender, r.dispatch_uid
                    )
                else:
                    d = index.same_file(r) if pass_ == "same_file" else index.dead(r)
                if d is not None:
                    found[(s_index, r.index)] = d
    new_pending = []
    for p in pending:
        info, sender = p.receiver, SenderInfo("pending", p.model, 0)
        d = index.live(p.signal, info.name, info.file, info.line, sender, p.dispatch_uid)
        new_pending.append(dataclasses.replace(p, connected_at=d.where) if d else p)
    return [_with_sites(i, s, found) for i, s in enumerate(signals)], new_pending


def _with_sites(
    s_index: int, signal: SignalInfo, found: dict[tuple[int, int], DeclaredReceiver]
) -> SignalInfo:
    rows = []
    changed = False
    for r in signal.receivers:
        d = found.get((s_index, r.index))
        if d is None:
            rows.append(r)
            continue
        changed = True
        declared_as = (d.receiver_path or f"{d.module}.{d.function}") if r.dead else None
        rows.append(dataclasses.replace(r, connected_at=d.where, declared_as=declared_as))
    return dataclasses.replace(signal, receivers=tuple(rows)) if changed else signal
