"""Match receivers declared in source against what is connected now.

A ``@receiver`` function is connected when some registration's code starts at
the same ``file:line`` (a decorated function's ``co_firstlineno`` is its
first decorator's line, which is what the scan records).  A ``.connect(name)``
call is connected when a registration on a signal of the same short name has
that function name, or comes from the same file (a callable instance or a
bound method is named by its class, not by the variable the source connects).
Connects inside ordinary functions are not judged: sigscope
cannot know whether that function is meant to have run.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from sigscope.records import DeclaredReceiver, Finding
from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["canonical_signal", "unconnected"]

_SIMPLE_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


@lru_cache(maxsize=4096)
def _real(path: str) -> str:
    return os.path.realpath(path)


def _short(dotted: str) -> str:
    return dotted.rpartition(".")[2]


def unconnected(snap: Snapshot) -> list[Finding]:
    """A ``not_connected`` finding for each declared receiver that nothing connected."""
    if not snap.declared:
        return []
    at: set[tuple[str, int]] = set()
    names: set[tuple[str, str]] = set()
    files: set[tuple[str, str]] = set()
    infos = [r.receiver for r in snap.receivers] + [p.receiver for p in snap.pending]
    signals = [r.signal for r in snap.receivers] + [p.signal for p in snap.pending]
    for info, signal in zip(infos, signals):
        if info.file and info.line:
            at.add((_real(info.file), info.line))
            files.add((_short(signal), _real(info.file)))
        names.add((_short(signal), _short(info.qualname)))
    found = []
    for d in snap.declared:
        if d.scope == "function" or _is_connected(d, at, names, files):
            continue
        signal = canonical_signal(snap, d.signal)
        found.append(_finding(d, signal, imported=d.module in snap.imported_modules))
    return found


def _is_connected(
    d: DeclaredReceiver,
    at: set[tuple[str, int]],
    names: set[tuple[str, str]],
    files: set[tuple[str, str]],
) -> bool:
    if d.via == "receiver":
        return (_real(d.file), d.line) in at
    if not _SIMPLE_NAME.match(d.function):
        return True  # a lambda or partial(...) in source: no reliable way to match it
    signal = _short(d.signal)
    return (signal, _short(d.function)) in names or (signal, _real(d.file)) in files


def canonical_signal(snap: Snapshot, written: str) -> str:
    """The canonical name of a signal written in source (``post_save``,
    ``signals.order_placed``) when exactly one live signal has that short name."""
    short = _short(written)
    names = {s.name for s in snap.signals if _short(s.name) == short}
    return names.pop() if len(names) == 1 else written


def _finding(d: DeclaredReceiver, signal: str, *, imported: bool) -> Finding:
    where = f"{d.file}:{d.line}"
    shown = short_location(where)
    how = "@receiver" if d.via == "receiver" else ".connect()"
    if imported:
        message = (
            f"{d.module}.{d.function} is declared with {how} on {d.signal} at {shown}, but "
            "it is not connected now: it was disconnected, replaced by a duplicate "
            "dispatch_uid, or its weak reference died."
        )
        fix = (
            "Check for a disconnect() or a dispatch_uid shared with another receiver; keep "
            "a reference to the function (or weak=False)."
        )
    else:
        message = (
            f"{d.module}.{d.function} is declared with {how} on {d.signal} at {shown}, but "
            f"module {d.module} is never imported, so the receiver is never connected and "
            "never runs."
        )
        package = d.module.rpartition(".")[0] or d.module
        fix = (
            f"Import it from your AppConfig.ready() in {package}.apps: "
            f"`from . import {_short(d.module)}  # noqa: F401`."
        )
    return Finding(
        kind="not_connected",
        severity="warning",
        signal=signal,
        sender=d.sender,
        receivers=(f"{d.module}.{d.function}",),
        message=message,
        fix=fix,
        locations=(where,),
    )
