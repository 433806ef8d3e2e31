"""``transaction.on_commit`` callbacks registered by receivers, and whether they ran.

While a tracer runs, ``BaseDatabaseWrapper.on_commit`` (what
``transaction.on_commit(func, using, robust)`` calls, however it was
imported) is replaced on the class.  Called outside a receiver it is Django's
own method, unchanged.  Called while a receiver runs
(:func:`sigscope.tracing.current_call` is not ``None``), it hands Django a
:class:`_Callback` instead of ``func``: a transparent wrapper that forwards
``__qualname__`` (Django's ``robust`` log line uses it; a ``partial`` still
has none, so 4.2's ``func.__qualname__`` still raises), ``repr``, equality and
every other attribute, calls ``func`` with the same arguments and lets what it
raises propagate (Django's ``robust`` handling, logging and re-raising stay
Django's).  The record then says:

* ``ran=True`` when Django (or ``captureOnCommitCallbacks(execute=True)``) called it;
* ``ran=False`` once Django discarded it: the outermost ``atomic`` rolled back
  (``run_on_commit = []``) or a savepoint rollback filtered it out, seen when
  the wrapper is freed (Django held the only reference), or when the trace is
  read and the wrapper is no longer in ``connection.run_on_commit``;
* ``ran=None`` while the transaction is still open.

Only weak references to the wrapper and the connection are kept: Django's list
keeps the callback alive exactly as long as it would without tracing.
"""

from __future__ import annotations

import html
import itertools
import time
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from sigscope import _compat
from sigscope.describe import describe_callable
from sigscope.records import ErrorInfo, OnCommitCallback
from sigscope.safe import truncate

__all__ = ["install", "on_commit_html", "on_commit_lines", "uninstall"]

_ids = itertools.count(1)
_originals: dict[str, Any] = {}
_hooks: dict[str, Callable[[], Any]] = {}


class Registration:
    """One registration's state (mutable, internal); frozen into an ``OnCommitCallback``.

    Updated by plain attribute writes (no lock): a weak-reference callback may
    run it from any thread, even while a tracer's lock is held.
    """

    __slots__ = (
        "callback",
        "connection",
        "error",
        "finished_at",
        "id",
        "ran",
        "registered_at",
        "registered_by",
        "using",
        "wrapper",
    )

    def __init__(self, func: Any, alias: str, parent: tuple[int, int]) -> None:
        self.id = next(_ids)
        self.callback = describe_callable(func).name
        self.registered_by = parent
        self.using = alias
        self.registered_at = time.time()
        self.ran: bool | None = None
        self.finished_at: float | None = None
        self.error: ErrorInfo | None = None
        self.wrapper: Any = None
        self.connection: Any = None

    def watch(self, wrapper: _Callback, connection: Any) -> None:
        self.wrapper = weakref.ref(wrapper, self._dropped)
        self.connection = weakref.ref(connection)

    def _dropped(self, ref: Any) -> None:
        # Django freed the wrapper (or no longer lists it) without calling it: discarded.
        if self.ran is None:
            self.ran, self.finished_at = False, time.time()
        self.wrapper = self.connection = None

    def finish(self, error: ErrorInfo | None) -> None:
        self.ran, self.finished_at, self.error = True, time.time(), error
        self.wrapper = self.connection = None

    def freeze(self) -> OnCommitCallback:
        """The record, after checking whether Django has discarded the callback."""
        wrapper_ref, connection_ref = self.wrapper, self.connection
        if self.ran is None and wrapper_ref is not None and connection_ref is not None:
            wrapper, connection = wrapper_ref(), connection_ref()
            if (
                wrapper is None
                or connection is None
                or not any(f is wrapper for f in _compat.pending_on_commit(connection))
            ):
                self._dropped(None)
        return OnCommitCallback(
            id=self.id,
            callback=self.callback,
            registered_by=self.registered_by,
            using=self.using,
            registered_at=self.registered_at,
            ran=self.ran,
            finished_at=self.finished_at,
            error=self.error,
        )


class _Callback:
    """What Django holds instead of the callback: it calls and forwards everything."""

    __slots__ = ("__weakref__", "_sigscope_func", "_sigscope_registration")

    def __init__(self, func: Any, registration: Registration) -> None:
        self._sigscope_func = func
        self._sigscope_registration = registration

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self._sigscope_func(*args, **kwargs)
        except BaseException as exc:  # recorded, then re-raised untouched
            self._sigscope_registration.finish(_error(exc))
            raise
        self._sigscope_registration.finish(None)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sigscope_func, name)

    @property
    def __wrapped__(self) -> Any:
        return self._sigscope_func

    def __repr__(self) -> str:
        return repr(self._sigscope_func)

    def __str__(self) -> str:
        return str(self._sigscope_func)

    def __eq__(self, other: object) -> bool:
        if type(other) is _Callback:
            other = other._sigscope_func
        return bool(self._sigscope_func == other)

    def __hash__(self) -> int:
        return hash(self._sigscope_func)


def _error(exc: BaseException) -> ErrorInfo:
    """Type, args and frames only: no ``__str__`` of the exception runs."""
    args = getattr(exc, "args", ())
    if type(args) is tuple and len(args) == 1 and type(args[0]) is str:
        message = truncate(args[0], 500)
    else:
        count = len(args) if type(args) is tuple else "?"
        message = f"<{type(exc).__qualname__} with {count} args>"
    frames = traceback.extract_tb(exc.__traceback__, limit=50) if exc.__traceback__ else []
    text = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in frames)
    return ErrorInfo(type(exc).__qualname__, message, text)


def install() -> None:
    """Replace ``BaseDatabaseWrapper.on_commit`` (called when the first tracer starts)."""
    from sigscope.tracing import active_tracers, current_call

    _hooks["tracers"], _hooks["parent"] = active_tracers, current_call
    original = _originals["on_commit"] = vars(BaseDatabaseWrapper)["on_commit"]

    def on_commit(self: Any, func: Any, robust: bool = False) -> Any:
        parent = _hooks["parent"]()
        if parent is None or not callable(func):
            return original(self, func, robust)
        stores: list[Any] = [getattr(t, "_extras", None) for t in _hooks["tracers"]()]
        stores = [s for s in stores if s is not None]
        if not stores:
            return original(self, func, robust)
        registration = Registration(func, self.alias, parent)
        wrapper = _Callback(func, registration)
        registration.watch(wrapper, self)
        for store in stores:
            store.add_commit(registration)
        return original(self, wrapper, robust)

    on_commit.__name__ = on_commit.__qualname__ = "on_commit"
    on_commit.__doc__ = original.__doc__
    on_commit._sigscope_original = original  # type: ignore[attr-defined]
    _originals["installed"] = on_commit
    BaseDatabaseWrapper.on_commit = on_commit  # type: ignore[method-assign]


def uninstall() -> None:
    """Put Django's ``on_commit`` back, the identical object (the last tracer stopped)."""
    if not _originals:
        return
    if vars(BaseDatabaseWrapper).get("on_commit") is _originals["installed"]:
        BaseDatabaseWrapper.on_commit = _originals["on_commit"]  # type: ignore[method-assign]
    else:
        warnings.warn(
            "sigscope: BaseDatabaseWrapper.on_commit was replaced by someone else while "
            "tracing; leaving their version in place.",
            RuntimeWarning,
            stacklevel=4,
        )
    _originals.clear()


# --------------------------------------------------------------------------- rendering


def on_commit_line(record: OnCommitCallback) -> str:
    """``⏲ on_commit shop.signals.send_mail.<locals>.cb — discarded (rolled back)``."""
    if record.ran is None:
        outcome = "pending (transaction still open)"
    elif not record.ran:
        outcome = "discarded (rolled back)"
    elif record.error is not None:
        outcome = f"ran ✗ {record.error.type}: {record.error.message}"
    else:
        outcome = "ran"
    using = "" if record.using == "default" else f" [{record.using}]"
    return f"⏲ on_commit {record.callback}{using} — {outcome}"


def on_commit_lines(records: Iterable[OnCommitCallback]) -> list[str]:
    """One tree line per record."""
    return [on_commit_line(r) for r in records]


def on_commit_html(record: OnCommitCallback) -> str:
    """One record as an escaped HTML line."""
    css = "sigscope-error" if record.ran is False or record.error else "sigscope-dim"
    return (
        f'<div class="sigscope-call sigscope-on-commit {css}">'
        f"{html.escape(on_commit_line(record))}</div>"
    )
