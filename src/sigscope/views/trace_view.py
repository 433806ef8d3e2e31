"""The Trace view: ``trace.show()``, an anywidget with a waterfall and a cascade graph.

The front end is ``waterfall.js`` (+ ``waterfall.css``) shipped in this package: no build
step, nothing loaded from the network.  Python syncs one compact plain-JSON value, ``data``,
built from the trace's records (:mod:`sigscope.views.trace_data`), and reads back
``selection``, the id of the bar or row the user clicked, which :attr:`TraceView.selected`
turns back into its record.  The trace's own ``text/html`` stays the static fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from sigscope.records import BypassEvent, OnCommitCallback, ReceiverCall, SendEvent
from sigscope.views.trace_data import cascade, waterfall_data

if TYPE_CHECKING:
    from sigscope.tracing.result import Trace

__all__ = ["TraceView"]

_HERE = Path(__file__).parent

Selected = SendEvent | ReceiverCall | BypassEvent | OnCommitCallback


class TraceView(anywidget.AnyWidget):
    """``trace.show()``: an interactive waterfall of the sends and a cascade graph.

    Hover a bar for its kwargs, result or exception; click it for details (and
    :attr:`selected`); zoom the time axis with the wheel or by dragging, ``Reset`` or a
    double click to zoom out.  The ``cascade`` tab aggregates every send by path.

    Examples
    --------
    >>> import sigscope
    >>> from django.dispatch import Signal
    >>> placed = Signal()
    >>> placed.connect(lambda sender, **kw: "ok", weak=False)
    >>> with sigscope.trace(signals=[placed]) as t:
    ...     _ = placed.send(sender=None, order=1)
    >>> view = TraceView(t)
    >>> [[c["r"] for c in s["calls"]] for s in view.data["sends"]]
    [["'ok'"]]
    >>> view.selection = f"call:{t.events[0].id}:0"
    >>> view.selected.result
    "'ok'"
    """

    _esm = _HERE / "waterfall.js"
    _css = _HERE / "waterfall.css"
    data = traitlets.Dict().tag(sync=True)
    #: ``send:<id>``, ``call:<id>:<index>``, ``bypass:<id>``, ``on_commit:<id>`` or ``""``.
    selection = traitlets.Unicode("").tag(sync=True)

    def __init__(self, trace: Trace) -> None:
        from sigscope.tracing.lines import summary_line

        self.trace = trace
        events = trace.events
        bypassed = tuple(getattr(trace, "bypassed", ()))
        on_commit = tuple(getattr(trace, "on_commit", ()))
        unheard = tuple(getattr(trace, "unheard", ()))
        data = waterfall_data(events, bypassed=bypassed, on_commit=on_commit, unheard=unheard)
        data["cascade"] = cascade(events, bypassed=bypassed, on_commit=on_commit)
        data["summary"] = summary_line(events)
        data["dropped"] = trace.dropped
        self._records: dict[str, Any] = {f"send:{e.id}": e for e in events}
        for e in events:
            self._records.update({f"call:{e.id}:{c.index}": c for c in e.calls})
        self._records.update({f"bypass:{b.id}": b for b in bypassed})
        self._records.update({f"on_commit:{o.id}": o for o in on_commit})
        super().__init__(data=data)

    def __repr__(self) -> str:  # what a notebook shows where widgets cannot render
        return (
            f"<sigscope Trace view: {len(self.trace.events)} sends; display the trace itself "
            "for a static view>"
        )

    @property
    def selected(self) -> Selected | None:
        """The record the user clicked: a ``ReceiverCall`` (a bar), a ``SendEvent`` (a send's
        row), a ``BypassEvent`` or an ``OnCommitCallback``; ``None`` before any click."""
        record: Selected | None = self._records.get(self.selection)
        return record

    def send_of(self, call: ReceiverCall) -> SendEvent | None:
        """The send a receiver call belongs to (for a selected bar)."""
        for key, record in self._records.items():
            if record is call:
                return self._records.get("send:" + key.split(":")[1])
        return None
