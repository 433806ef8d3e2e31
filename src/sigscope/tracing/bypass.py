"""ORM calls that skip model signals, recorded as :class:`~sigscope.records.BypassEvent`.

``QuerySet.bulk_create``, ``bulk_update`` and ``update()`` send no
``pre_save``/``post_save``, and ``QuerySet._raw_delete()`` sends no
``pre_delete``/``post_delete``.  While a tracer runs these methods (and the
async ``abulk_create``/``abulk_update``/``aupdate``, which only add the
caller's location) are replaced *on the class*; the replacement calls
Django's own method with the same arguments, returns what it returns and lets
what it raises propagate untouched, then — only after a call that succeeded
and touched rows — asks sigscope's read-only view of the dispatcher
(:func:`sigscope._compat.live_receivers_for`) which receivers for the model did
not run.  No receiver, nothing bypassed, no record.

* Only the outermost call is recorded: ``bulk_update`` calls ``update()``.
* Django's own fast deletes go through ``_raw_delete`` only when the model has
  no delete receivers (``Collector.can_fast_delete``), so a ``raw_delete`` record
  is user code calling ``_raw_delete()`` on a model with delete receivers.
* Auto-created m2m ``through`` models are skipped: ``add()`` bulk-creates
  their rows and sends ``m2m_changed`` instead, as documented.
* The caller is found by walking ``sys._getframe()`` past Django's, asgiref's
  and sigscope's frames (the demo project counts as user code).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import html
import itertools
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import signals
from django.db.models.query import QuerySet

from sigscope import _compat
from sigscope.describe import describe_callable
from sigscope.records import BypassEvent
from sigscope.safe import short_path

__all__ = ["bypass_html", "bypass_lines", "install", "uninstall"]

#: operation -> the signals it does not send.
SKIPPED = {
    "bulk_create": (signals.pre_save, signals.post_save),
    "bulk_update": (signals.pre_save, signals.post_save),
    "update": (signals.pre_save, signals.post_save),
    "raw_delete": (signals.pre_delete, signals.post_delete),
}
_SIGNAL_NAMES = {
    id(s): f"django.db.models.signals.{name}"
    for name in ("pre_save", "post_save", "pre_delete", "post_delete")
    for s in [getattr(signals, name)]
}
_SYNC = {"bulk_create": "bulk_create", "bulk_update": "bulk_update", "update": "update"}
_SYNC["_raw_delete"] = "raw_delete"
_ASYNC = ("abulk_create", "abulk_update", "aupdate")
#: Frames between the caller and the patched method: the queryset and manager, sync_to_async.
_MACHINERY = ("django.db.models.query", "django.db.models.manager", "asgiref.", "sigscope.")
_USER_MODULES = ("sigscope.demo",)
_UNSET = object()

_ids = itertools.count(1)
_originals: dict[str, Any] = {}
_installed: dict[str, Any] = {}
#: Inside a patched ORM call in this context (nested calls are Django's, not the user's).
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("sigscope_orm", default=False)
#: The caller found by an async entry point, for the sync call it runs in a thread.
_site: contextvars.ContextVar[Any] = contextvars.ContextVar("sigscope_orm_site", default=_UNSET)
_names: dict[int, tuple[Any, str]] = {}
_hooks: dict[str, Callable[[], Any]] = {}


def install() -> None:
    """Replace the ORM methods on ``QuerySet`` (called when the first tracer starts)."""
    from sigscope.tracing import active_tracers, current_call

    _hooks["tracers"], _hooks["parent"] = active_tracers, current_call
    for name, operation in _SYNC.items():
        _originals[name] = vars(QuerySet)[name]
        _installed[name] = _patched_sync(operation, _originals[name])
    for name in _ASYNC:
        if name in vars(QuerySet):
            _originals[name] = vars(QuerySet)[name]
            _installed[name] = _patched_async(_originals[name])
    for name, value in _installed.items():
        setattr(QuerySet, name, value)


def uninstall() -> None:
    """Put Django's own methods back, the identical objects (the last tracer stopped)."""
    for name, value in _installed.items():
        if vars(QuerySet).get(name) is value:
            setattr(QuerySet, name, _originals[name])
        else:
            warnings.warn(
                f"sigscope: QuerySet.{name} was replaced by someone else while tracing; "
                "leaving their version in place.",
                RuntimeWarning,
                stacklevel=4,
            )
    _installed.clear()
    _originals.clear()


def _patched_sync(operation: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return original(self, *args, **kwargs)
        token = _inside.set(True)
        started = time.time()
        try:
            result = original(self, *args, **kwargs)
        finally:
            _inside.reset(token)
        _note(operation, self.model, _rows(operation, result), started)
        return result

    method._sigscope_original = original  # type: ignore[attr-defined]
    return method


def _patched_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _site.set((_caller(sys._getframe(1)), _hooks["parent"]()))
        try:
            return await original(self, *args, **kwargs)
        finally:
            _site.reset(token)

    method._sigscope_original = original  # type: ignore[attr-defined]
    return method


def _rows(operation: str, result: Any) -> int | None:
    if operation == "bulk_create":
        return len(result) if type(result) is list or type(result) is tuple else None
    return result if type(result) is int else None


def _note(operation: str, model: Any, rows: int | None, started: float) -> None:
    """Record a bypass in every running tracer that wants one of the skipped signals."""
    if rows == 0 or model is None or model._meta.auto_created:
        return
    tracers = _hooks["tracers"]()
    if not tracers:
        return
    skipped = [(s, _compat.live_receivers_for(s, model)) for s in SKIPPED[operation]]
    skipped = [(s, found) for s, found in skipped if found]
    if not skipped:
        return
    wanted = [t for t in tracers if any(_wants(t, s, model) for s, _ in skipped)]
    if not wanted:
        return
    site = _site.get()
    origin, parent = (_caller(), _hooks["parent"]()) if site is _UNSET else site
    if origin is None:  # Django's own use (m2m add(), migrations, deletion, related managers)
        return
    file, line, function = origin
    names = dict.fromkeys(_name(r) for _, found in skipped for r in found)
    event = BypassEvent(
        id=next(_ids),
        operation=operation,
        model=model._meta.label,
        rows=rows,
        signals=tuple(_SIGNAL_NAMES[id(s)] for s, _ in skipped),
        receivers=tuple(names),
        file=file,
        line=line,
        function=function,
        started_at=started,
        parent=parent,
        thread=threading.current_thread().name,
    )
    for tracer in wanted:
        store = getattr(tracer, "_extras", None)
        if store is not None:
            store.add_bypass(event)


def _wants(tracer: Any, signal: Any, model: Any) -> bool:
    wants = getattr(tracer, "_wants", None)
    return True if wants is None else bool(wants(signal, model))


def _caller(frame: Any = None) -> tuple[str | None, int | None, str | None] | None:
    """``(file, line, function)`` of the code that called the ORM method, or ``None``
    when that code is Django's own (then its signals are Django's documented business)."""
    frame = sys._getframe(2) if frame is None else frame
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if not isinstance(module, str):
            module = ""
        if not module.startswith(_MACHINERY) or module.startswith(_USER_MODULES):
            if module.startswith("django."):
                return None
            code = frame.f_code
            return code.co_filename, frame.f_lineno, getattr(code, "co_qualname", code.co_name)
        frame = frame.f_back
    return None, None, None


def _name(receiver: Any) -> str:
    """A receiver's dotted name (cached per live object)."""
    cached = _names.get(id(receiver))
    if cached is not None and cached[0]() is receiver:
        return cached[1]
    name = describe_callable(receiver).name
    with contextlib.suppress(TypeError):  # not weakly referenceable: not cached
        _names[id(receiver)] = (weakref.ref(receiver), name)
    if len(_names) > 10_000:
        _names.clear()
    return name


# --------------------------------------------------------------------------- rendering


def bypass_line(event: BypassEvent) -> str:
    """``⤼ bulk_create shop.Order ×3 — post_save not sent: 2 receivers skipped (…) at …``."""
    what = ", ".join(s.rpartition(".")[2] for s in event.signals)
    count = len(event.receivers)
    shown = ", ".join(event.receivers[:2]) + (", …" if count > 2 else "")
    rows = f" ×{event.rows}" if event.rows is not None else ""
    where = f" at {short_path(event.file)}:{event.line}" if event.file else ""
    plural = "s" if count != 1 else ""
    return (
        f"⤼ {event.operation} {event.model}{rows} — {what} not sent: "
        f"{count} receiver{plural} skipped ({shown}){where}"
    )


def bypass_lines(records: Iterable[BypassEvent]) -> list[str]:
    """One tree line per record."""
    return [bypass_line(r) for r in records]


def bypass_html(event: BypassEvent) -> str:
    """One record as an escaped HTML line (the receivers in its tooltip)."""
    title = html.escape("\n".join(event.receivers))
    return (
        f'<div class="sigscope-call sigscope-bypass" title="{title}">'
        f"{html.escape(bypass_line(event))}</div>"
    )
