"""sigscope: see Django's signal wiring — every receiver, every duplicate, every send.

>>> import sigscope
>>> sigscope.setup("mysite.settings")          # doctest: +SKIP
>>> snap = sigscope.snapshot()                  # doctest: +SKIP
>>> snap.receivers_for(post_save, sender=Order)  # doctest: +SKIP
>>> snap.findings                               # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from sigscope._setup import setup
from sigscope.diff import SnapshotDiff, diff
from sigscope.records import (
    CallableInfo,
    DeclaredReceiver,
    Finding,
    PendingInfo,
    ReceiverInfo,
    SenderInfo,
    SignalInfo,
)
from sigscope.snapshot import Snapshot, snapshot

__version__ = "0.1.0"

__all__ = [
    "CallableInfo",
    "DeclaredReceiver",
    "Finding",
    "PendingInfo",
    "ReceiverInfo",
    "SenderInfo",
    "SignalInfo",
    "Snapshot",
    "SnapshotDiff",
    "__version__",
    "diff",
    "inspect",
    "load_ipython_extension",
    "monitor",
    "setup",
    "snapshot",
]

_LAZY = {
    "trace": "sigscope.tracing",
    "Tracer": "sigscope.tracing",
    "Trace": "sigscope.tracing.result",
    "Inspector": "sigscope.views.inspector",
    "Monitor": "sigscope.views.monitor",
}


def inspect(snap: Snapshot | None = None, *, live: bool = False, **filters: Any) -> Any:
    """The Inspector widget (a new snapshot unless ``snap`` is given).

    ``filters``: ``app``, ``signal``, ``sender``, ``search``, ``hide_builtin``, ``severity``
    (the widget's controls, by name).  ``live=True`` also starts a tracer and animates
    the graph while signals fire (Pause/Resume/Clear/Stop buttons; ``inspector.live``).
    """
    from sigscope.views.inspector import Inspector

    return Inspector(snap, live=live, **filters)


def monitor(**tracer_options: Any) -> Any:
    """The live monitor widget; it records until paused or stopped (``Tracer`` options)."""
    from sigscope.views.monitor import Monitor

    return Monitor(**tracer_options)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sigscope``: the ``%sigscope`` and ``%%sigscope_trace`` magics."""
    from sigscope.ipython import load

    load(ipython)


def __getattr__(name: str) -> Any:
    """Tracing is imported on first use, so ``import sigscope`` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sigscope' has no attribute {name!r}")
