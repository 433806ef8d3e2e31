"""What is recorded while a send runs, and how each receiver is timed.

A send in progress is a ``Send`` (mutable, internal), the innermost one in
the current context held by a context variable (so nested sends, threads run
by ``sync_to_async`` and child asyncio tasks find their parent).  Receivers are
timed in one of two ways, chosen when the signal's outermost
``_live_receivers`` returns (see :mod:`sigscope.tracing.patch`):

* **Django's own loop** (``Signal.send``/``send_robust``, also under a
  subclass that only changes ``_live_receivers``): the sync receivers come
  back through a generator that notes the clock each time Django fetches the
  next receiver (and once at the end).  Django
  calls the original receiver objects itself: no wrapper, no extra frame, the
  same return values, exceptions, ``__qualname__`` log lines and ``warnings``
  stack levels.  While receiver *i* runs, ``len(marks) == i + 1``: that is how
  a nested send finds its parent.
* **A subclass's own loop** (pretix's ``PluginSignal.send``/``send_chained``
  iterate the receivers and call only some): the receivers come back as
  ``_Proxy`` objects that time their own call, forward every attribute
  (``__module__``, ``__name__``, ``__qualname__``, …) and equality to the
  receiver, and are replaced by the receiver again in the ``(receiver,
  response)`` pairs the method returns.  Only the receivers actually called
  are recorded, in the order they ran.  The proxy is one extra frame between
  the subclass's loop and its receivers.

Async receivers are always wrapped (``_AsyncReceiver``): a coroutine's run
cannot be timed from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import threading
import time
from collections.abc import Iterable
from typing import Any

from sigscope.tracing import accel
from sigscope.tracing.errors import Captured, capture
from sigscope.tracing.frames import hide_frames

__all__ = ["current_call"]

clock = time.perf_counter_ns
WALL0, CLOCK0 = time.time(), clock()
next_id = itertools.count(1).__next__
current: contextvars.ContextVar[Any] = contextvars.ContextVar("sigscope_current", default=None)
#: asyncio task -> the async receiver call it is running (Django 6.1 shares one context).
task_calls: dict[Any, AsyncCall] = {}
#: Shared and never appended to: a proxied send gets its own list when wired.
NO_CALLS: list[list[Any]] = []
_get_running_loop = asyncio._get_running_loop
_current_task = asyncio.current_task
_Task = asyncio.Task  # its get_name() runs no Python code: the C path calls it directly


class PureSend:
    """A send in progress; frozen into a ``SendEvent`` when events are read.

    Not slotted: the fields most sends never change are class attributes, so
    creating one sets seven.  With the C accelerator, :data:`Send` is
    :class:`CSend` instead: the same fields, as a C struct.
    """

    # set by some sends only (sigscope.tracing.patch / capture)
    proxied = False
    wired = False
    receivers: Any = None
    calls: list[list[Any]] = NO_CALLS
    running = -1
    n = 0
    async_calls: Any = ()
    error: Captured | None = None
    task: str | None = None
    task_key = 0
    # set when the send ends (sigscope.tracing.record)
    signal: Any
    sender: str | None
    thread_id: int
    thread_name: str
    infos: tuple[Any, ...]
    kw_names: tuple[str, ...]  # the C path's: its kwargs, described (the entry is the send)
    kw_values: tuple[Any, ...]
    results: Any
    end: int

    def __init__(self, signal_id: int, method: str, tracers: tuple[Any, ...], found: Any):
        self.id = next_id()
        if found is None and not task_calls and not threads_marked:
            self.parent: tuple[int, int] | None = None
        else:
            self.parent = current_call()
        self.signal_id = signal_id
        self.method = method
        self.tracers = tracers
        self.marks: list[int] = []
        if _get_running_loop() is not None:
            task = _current_task()
            if task is not None:
                self.task, self.task_key = _task_name(task), id(task)
        self.start = clock()


#: The type of the sends made now: ``PureSend``, or ``CSend`` while the C accelerator
#: is in use (bound by :func:`sigscope.tracing.patch.install`; ``type(x) is Send``).
Send: Any = PureSend


def _c_send() -> Any:
    if accel.compiled is None:
        return None
    base: Any = accel.compiled.Send

    class CSend(base):
        """:class:`PureSend`'s fields as C struct members (read and written by the C hot path)."""

        __slots__ = ()
        __init__ = PureSend.__init__

    CSend.__qualname__ = "CSend"
    return CSend


#: ``_speedups.Send`` with the Python ``__init__`` (``None`` when not built).
CSend: Any = _c_send()


class AsyncCall:
    """One async receiver's run (its wrapper records it)."""

    __slots__ = ("duration", "error", "id", "index", "info", "receiver", "result", "send", "start")

    def __init__(self, send: PureSend, index: int, receiver: Any) -> None:
        self.id = next_id()
        self.send, self.index, self.receiver = send, index, receiver
        self.info: Any = None
        self.duration = self.start = 0
        self.result: Any = None
        self.error: Captured | None = None


def _task_name(task: Any) -> str | None:
    if task is None:
        return None
    try:
        name = task.get_name()
    except Exception:
        return "<task>"
    return name if type(name) is str else "<task>"


def current_call() -> tuple[int, int] | None:
    """``(send id, receiver index)`` of the receiver running here (thread, task, context).

    ``None`` outside any traced receiver.  A send made now records this as its
    ``parent``.

    Examples
    --------
    >>> current_call() is None
    True
    """
    found = current.get()
    task = None
    if task_calls and _get_running_loop() is not None:
        task = _current_task()
        call = task_calls.get(task)
        if call is not None and not (
            type(found) is Send and found.task_key == id(task) and found.id > call.id
        ):
            return (call.send.id, call.index)
    if type(found) is Send:
        if found.proxied:
            return (found.id, found.running) if found.running >= 0 else None
        index = len(found.marks) - 1
        return (found.id, index) if 0 <= index < found.n else None
    if found is not None:
        return (found.send.id, found.index)
    if not threads_marked:
        return None
    return thread_parent()


def thread_parent() -> tuple[int, int] | None:
    """The receiver call that started this thread, or ``None``.

    Set before the thread runs (``Thread.start`` is patched while tracing) and
    never changed, so the C path keeps it per thread after its first send.
    """
    parent = getattr(threading.current_thread(), "_sigscope_parent", None)
    return parent if type(parent) is tuple else None


#: A thread was started inside a traced receiver: from then on a send outside
#: any receiver looks up its thread's parent (:func:`thread_parent`).
threads_marked = False


def timed(receivers: Iterable[Any], marks: list[int]) -> Any:
    """The receivers, noting the clock before each is handed out (and at the end).

    A generator is cheaper than any C-only chain (``map``/``zip`` over
    ``iter(perf_counter_ns, None)``) measured here; its frame is suspended,
    not on the stack, while Django calls the receiver.
    """
    append = marks.append
    for receiver in receivers:
        append(clock())
        yield receiver
    append(clock())


class TimedList(list[Any]):
    """The receivers as a real list (``asend`` tests its truth) whose iteration is timed."""

    __slots__ = ("_sigscope_marks",)
    _sigscope_marks: list[int]

    def __iter__(self) -> Any:
        return timed(list.__iter__(self), self._sigscope_marks)


class Proxy:
    """A receiver handed to a subclass's own send loop: times its call, forwards the rest."""

    __slots__ = ("_sigscope_receiver", "_sigscope_send")

    def __init__(self, receiver: Any, send: PureSend) -> None:
        self._sigscope_receiver = receiver
        self._sigscope_send = send

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sigscope_receiver, name)

    def __eq__(self, other: object) -> bool:
        return bool(unwrap(other) == self._sigscope_receiver)

    def __hash__(self) -> int:
        return hash(self._sigscope_receiver)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        send = self._sigscope_send
        entry: list[Any] = [self._sigscope_receiver, clock(), 0, None, None]
        previous = send.running
        send.running = len(send.calls)
        send.calls.append(entry)
        try:
            result = self._sigscope_receiver(*args, **kwargs)
        except BaseException as exc:
            entry[2] = clock()
            entry[4] = safe_capture(exc)
            raise
        finally:
            send.running = previous
        entry[2] = clock()
        entry[3] = result
        return result


hide_frames(__file__, Proxy.__call__)


# ``__module__`` and ``__doc__`` live in a class's own dict: forward them too
# (pretix's ``get_defining_app`` and sorting read ``receiver.__module__``).
def _forwarded(name: str) -> property:
    return property(lambda self: getattr(self._sigscope_receiver, name))


for _name in ("__module__", "__doc__"):
    setattr(Proxy, _name, _forwarded(_name))


def safe_capture(exc: BaseException) -> Captured | None:
    try:
        return capture(exc)
    except Exception:  # never let recording replace the application's exception
        return None


class AsyncReceiver:
    """Wraps one async receiver for one send: times it, forwards every attribute."""

    __slots__ = ("_sigscope_index", "_sigscope_receiver", "_sigscope_send")

    def __init__(self, receiver: Any, send: PureSend, index: int) -> None:
        self._sigscope_receiver = receiver
        self._sigscope_send = send
        self._sigscope_index = index

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sigscope_receiver, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(args, kwargs)

    async def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        send = self._sigscope_send
        call = AsyncCall(send, self._sigscope_index, self._sigscope_receiver)
        if not send.async_calls:
            send.async_calls = []
        send.async_calls.append(call)
        task = _current_task() if _get_running_loop() is not None else None
        previous = task_calls.get(task) if task is not None else None
        if task is not None:
            task_calls[task] = call
        token = current.set(call)
        start = call.start = clock()
        try:
            result = await self._sigscope_receiver(*args, **kwargs)
        except BaseException as exc:
            call.duration = clock() - start
            call.error = safe_capture(exc)
            raise
        finally:
            restore(token)
            if task is not None:
                if previous is None:
                    task_calls.pop(task, None)
                else:
                    task_calls[task] = previous
        call.duration = clock() - start
        call.result = result
        return result


for _name in ("__module__", "__doc__"):
    setattr(AsyncReceiver, _name, _forwarded(_name))


def unwrap(receiver: Any) -> Any:
    cls = type(receiver)
    if cls is Proxy or cls is AsyncReceiver:
        return receiver._sigscope_receiver
    return receiver


def unwrap_pairs(responses: Any) -> Any:
    """``(receiver, response)`` pairs with the original receivers (in place, same list)."""
    if type(responses) is list:
        for index, pair in enumerate(responses):
            if type(pair) is tuple and len(pair) == 2 and unwrap(pair[0]) is not pair[0]:
                responses[index] = (unwrap(pair[0]), pair[1])
    return responses


def restore(token: contextvars.Token[Any]) -> None:
    # A reset from another context (Django 6.1 shares one between async receivers) fails:
    # the task map then tells whose call it is, so this is best effort.
    with contextlib.suppress(ValueError):
        current.reset(token)
