"""A tracer's start and stop give back the class version tags they used (CPython 3.13+).

CPython 3.13 gives a class at most 1,000 *version tags* in a process: every
modification of the class or of one of its bases, once the class is looked up
again, uses one.  A class out of tags loses its method cache and the
specializing interpreter's fast paths for the rest of the process.

Starting the first tracer and stopping the last one modify ``Signal``,
``QuerySet``, ``BaseDatabaseWrapper`` and ``Thread`` (patching, then restoring
the identical attributes), and so every subclass of theirs.  After about 500
starts and stops (a test suite using the ``signal_trace`` fixture, a notebook
tracing in a loop) those classes would have run out: measured on 3.13, a
1-receiver ``send`` then took 30 % longer and a ``QuerySet.filter()`` 15–40 %
longer, *with no tracer running*.

So :func:`budget` notes each class's count the first time a tracer starts
(the class's baseline, kept for the process), and :func:`give_back` lowers the
counts back to it once the originals are restored: a start and stop cycle uses
no tag for good.  It uses the compiled helper
(:data:`sigscope.tracing.accel.built`); without it, or before 3.13 (no
per-class cap), both do nothing.  A class that was already out of tags before
the first tracer started stays as it was.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sigscope.tracing import accel

__all__ = ["budget", "give_back", "with_subclasses"]

Budget = list[tuple[Any, int]]  # (weak reference to the class, its baseline count)

#: id(class) -> (weak reference, its count when a tracer first started): the baselines.
_baselines: dict[int, tuple[Any, int]] = {}


def _roots() -> tuple[type, ...]:
    """The classes whose attributes a tracer replaces (their subclasses are touched too)."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.query import QuerySet
    from django.dispatch import Signal

    return (Signal, QuerySet, BaseDatabaseWrapper, threading.Thread)


def with_subclasses(*roots: type) -> list[type]:
    """The roots and all their subclasses, each once, by identity (no ``__eq__`` runs).

    A single root comes first.
    """
    found: list[type] = []
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        found.append(cls)
        todo.extend(type.__subclasses__(cls))
    return found


def budget() -> Budget:
    """Each touched class's baseline count (noted now for a class not seen before)."""
    helper = accel.built
    if helper is None:
        return []
    saved: Budget = []
    for cls in with_subclasses(*_roots()):
        known = _baselines.get(id(cls))
        if known is None or known[0]() is not cls:  # new, or another class at that id
            used = helper.versions_used(cls)
            if used is None:  # no per-class cap in this CPython
                return []
            known = _baselines[id(cls)] = (weakref.ref(cls), used)
        saved.append(known)
    return saved


def give_back(saved: Budget) -> int:
    """Lower the counts back to what :func:`budget` noted; the number of classes lowered."""
    helper = accel.built
    if helper is None:  # (then budget() noted nothing)
        return 0
    lowered = 0
    for ref, used in saved:
        cls = ref()
        if cls is not None:
            lowered += bool(helper.give_back_versions(cls, used))
    return lowered
