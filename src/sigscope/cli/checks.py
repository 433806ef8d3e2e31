"""Bad input, caught before any work: one line (``UsageError``), exit code 2.

Output paths are checked before Django is set up (or a traced program runs), the
``--signal``/``--app`` filters against the snapshot before anything is printed, and
a setup failure is named where it happened (the app whose ``ready()`` raised, the
URLconf that did not load).
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sigscope.safe import short_location

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = [
    "UsageError",
    "check_filters",
    "check_output_path",
    "one_line",
    "ready_failure",
    "urlconf_failure",
]


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2."""


def one_line(exc: BaseException) -> str:
    """``TypeName: first line of the message``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_output_path(path: str | None, option: str) -> None:
    """Raise :class:`UsageError` unless ``path`` can be created or overwritten."""
    if not path:
        return
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path}: no such directory: {parent}")
    target = path if os.path.exists(path) else parent
    if not os.access(target, os.W_OK):
        raise UsageError(f"{option} {path}: not writable")


def _suggest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(known)), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_filters(snap: Snapshot, *, signals: Sequence[str], apps: Sequence[str]) -> None:
    """Every ``--signal`` names a signal of the snapshot, every ``--app`` an installed app
    (label or module) or the module of a receiver; else a "did you mean" error."""
    names = {n for s in snap.signals for n in (s.name, *s.aliases)} | {
        p.signal for p in snap.pending
    }
    shorts = {n.rpartition(".")[2] for n in names}
    for wanted in signals:
        if wanted not in names and wanted not in shorts:
            raise UsageError(f"--signal {wanted}: no such signal" + _suggest(wanted, shorts))
    labels = {label for _, label in snap.apps} | {module for module, _ in snap.apps}
    modules = {r.receiver.module for r in snap.receivers if r.receiver.module}
    parts = {part for m in modules for part in m.split(".")}
    for wanted in apps:
        if wanted not in labels and wanted not in parts:
            known = {label for _, label in snap.apps}
            raise UsageError(f"--app {wanted}: no such app" + _suggest(wanted, known))


def ready_failure(exc: BaseException) -> str | None:
    """``"app 'shop': ShopConfig.ready() failed at shop/apps.py:12: RuntimeError: boom"``
    when ``exc`` was raised inside an ``AppConfig.ready()``, else ``None``."""
    import django
    from django.apps import AppConfig

    django_dir = os.path.dirname(os.path.abspath(django.__file__)) + os.sep
    owner, where, tb = None, None, exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if owner is None and frame.f_code.co_name == "ready":
            candidate = frame.f_locals.get("self")
            if candidate is not None and issubclass(type(candidate), AppConfig):
                owner = candidate
        filename = frame.f_code.co_filename
        if owner is not None and (where is None or not filename.startswith(django_dir)):
            where = f"{filename}:{tb.tb_lineno}"  # the deepest frame outside Django
        tb = tb.tb_next
    if owner is None or where is None:
        return None
    label = inspect.getattr_static(owner, "label", None)
    app = f"app {label!r}: " if isinstance(label, str) else ""
    return (
        f"{app}{type(owner).__qualname__}.ready() failed at {short_location(where)}: "
        f"{one_line(exc)}"
    )


def urlconf_failure(exc: BaseException) -> str:
    from django.conf import settings

    root = getattr(settings, "ROOT_URLCONF", "?")
    return f"the URLconf {root} failed to load: {one_line(exc)} (--no-urlconf skips it)"
