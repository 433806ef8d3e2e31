"""``instrument()``/``uninstrument()``: a span tree for every send, live.

Design
------
A :class:`sigscope.tracing.Tracer` records the sends (its guarantees hold: Django
runs unchanged, nothing of the application runs while recording, kwargs are
redacted, nothing is kept alive); its ``listener`` hands each finished
``SendEvent`` over in the sending thread, inner sends before the send that
contains them.  So:

* a send made inside a receiver (``parent = (send id, receiver index)``) waits in
  ``_waiting[parent send id]`` until its parent arrives;
* a top-level send (``parent is None``) is emitted with everything that waited
  for it, as one tree with explicit times and explicit parent contexts, its root
  a child of the span current in the sending thread (a request span, a task
  span).  Spans are started under a lock and ended outside it, so no exporter
  runs while the lock is held;
* a send whose parent was emitted already (a thread started in a receiver that
  outlives it) is emitted at once under the receiver's span (the contexts of the
  last ``_REMEMBER`` sends are kept);
* a send whose parent is never recorded (filtered out by ``signals=`` or
  ``exclude=``) is emitted as a root when the next top-level send of the same
  thread ends (it cannot be inside a send still running there), at
  ``uninstrument()``, or when more than ``_MAX_WAITING`` groups wait.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sigscope.otel.replay import otel_tracer
from sigscope.otel.spans import Opened, SpanShape, end_spans, start_spans
from sigscope.records import SendEvent

__all__ = ["DEFAULT_EXCLUDE", "instrument", "uninstrument"]

#: Signals sent for every model instance created or loaded: too many spans by default.
DEFAULT_EXCLUDE = ("pre_init", "post_init")
_REMEMBER = 512
_MAX_WAITING = 1000

_lock = threading.Lock()
_state: _Live | None = None


class _Live:
    """One ``instrument()``: the tracer, the OpenTelemetry tracer and the waiting sends."""

    def __init__(self, otel: Any, shape: SpanShape) -> None:
        self.otel = otel
        self.shape = shape
        self.tracer: Any = None
        self.lock = threading.Lock()
        self.waiting: dict[int, list[SendEvent]] = {}
        self.contexts: OrderedDict[int, Any] = OrderedDict()

    def __call__(self, event: SendEvent) -> None:
        opened: Opened = []
        with self.lock:
            if event.parent is None:
                self._start(event, None, opened)
                if self.waiting:
                    self._flush(lambda e: e.thread_id == event.thread_id and e.task is None, opened)
            elif event.parent[0] in self.contexts:
                send_context, receivers = self.contexts[event.parent[0]]
                self._start(event, receivers.get(event.parent[1], send_context), opened)
            else:
                self.waiting.setdefault(event.parent[0], []).append(event)
                if len(self.waiting) > _MAX_WAITING:
                    self._flush(lambda e: True, opened, limit=len(self.waiting) - _MAX_WAITING)
        end_spans(opened)

    def _start(self, root: SendEvent, context: Any, opened: Opened) -> None:
        """Start the spans of ``root`` and of every send that waited for it (lock held)."""
        kids: dict[int, list[SendEvent]] = {}
        stack = [root]
        while stack:
            group = self.waiting.pop(stack.pop().id, None)
            if group:
                kids[group[0].parent[0]] = group  # type: ignore[index]
                stack.extend(group)
        contexts: dict[int, Any] = {}
        start_spans(
            self.otel,
            root,
            kids,
            context=context,
            shape=self.shape,
            opened=opened,
            contexts=contexts,
        )
        self.contexts.update(contexts)
        while len(self.contexts) > _REMEMBER:
            self.contexts.popitem(last=False)

    def _flush(self, orphan: Any, opened: Opened, *, limit: int | None = None) -> None:
        """Emit, as roots, waiting sends whose parent will never be recorded (lock held)."""
        waiting_ids = {e.id for group in self.waiting.values() for e in group}
        lost = [k for k in self.waiting if k not in waiting_ids]
        for key in lost[:limit]:
            group = self.waiting[key]
            if all(orphan(e) for e in group):
                del self.waiting[key]
                for event in group:
                    self._start(event, None, opened)


def instrument(
    tracer_provider: Any = None,
    *,
    signals: Iterable[Any] | None = None,
    exclude: Iterable[Any] = DEFAULT_EXCLUDE,
    senders: Iterable[Any] = (),
    apps: Iterable[str] = (),
    receiver_spans: bool = True,
    kwargs: bool = True,
    redact: Iterable[str] | None = None,
) -> Any:
    """Emit spans for every send that runs a receiver, until :func:`uninstrument`.

    Parameters
    ----------
    tracer_provider
        Where the spans go; the global tracer provider when ``None``.
    signals, exclude, senders, apps
        Which sends, as for :class:`sigscope.tracing.Tracer` (all signals but
        ``pre_init``/``post_init`` by default).
    receiver_spans
        A ``receive <signal>`` span per receiver call (``False``: send spans only).
    kwargs
        The (redacted) keyword arguments as ``django.signal.kwargs.<name>`` attributes.
    redact
        Keyword-argument names to redact (the tracer's default list when ``None``).

    Returns
    -------
    sigscope.tracing.Tracer
        The running tracer (its ``listener_errors`` counts spans that failed).

    Examples
    --------
    >>> import sigscope.otel
    >>> sigscope.otel.instrument()  # doctest: +SKIP
    >>> ...                         # each send is a span under the current span
    >>> sigscope.otel.uninstrument()  # doctest: +SKIP
    """
    global _state
    from sigscope.tracing import DEFAULT_REDACT, Tracer

    with _lock:
        if _state is not None:
            raise RuntimeError("sigscope.otel is already instrumented: uninstrument() first")
        live = _Live(
            otel_tracer(tracer_provider), SpanShape(receiver_spans=receiver_spans, kwargs=kwargs)
        )
        live.tracer = Tracer(
            signals=signals or (),
            exclude=exclude,
            senders=senders,
            apps=apps,
            max_events=16,
            redact=DEFAULT_REDACT if redact is None else redact,
            listener=live,
        )
        live.tracer.start()
        _state = live
    return live.tracer


def uninstrument() -> None:
    """Stop the spans; ``Signal``'s class attributes are the original objects again
    (when no other tracer runs).  Sends still waiting for a parent are emitted."""
    global _state
    with _lock:
        live, _state = _state, None
    if live is None:
        return
    live.tracer.stop()
    opened: Opened = []
    with live.lock:
        live._flush(lambda e: True, opened)
        for key in list(live.waiting):  # parents recorded but never finished (cannot happen)
            for event in live.waiting.pop(key, ()):
                live._start(event, None, opened)
    end_spans(opened)
