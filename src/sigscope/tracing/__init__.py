"""Record every signal send without changing what Django does.

The package, in the order a send meets it:

* :mod:`~sigscope.tracing.patch` installs and restores the class-level patches
  (``Signal`` and its subclasses) and holds the patched methods;
* :mod:`~sigscope.tracing.capture` times receivers (Django's own loop through a
  C-only iterator, a subclass's own loop through proxies) and knows the
  receiver running now (:func:`current_call`);
* :mod:`~sigscope.tracing.record` turns a finished send into ids, clock
  readings and text; :mod:`~sigscope.tracing.values`,
  :mod:`~sigscope.tracing.errors`, :mod:`~sigscope.tracing.redact` and
  :mod:`~sigscope.tracing.names` describe values, exceptions, secrets and
  callables without running application code;
* :mod:`~sigscope.tracing.freeze` makes ``SendEvent`` records when they are read;
* :mod:`~sigscope.tracing.tracer` is :class:`Tracer`, and
  :mod:`~sigscope.tracing.result` the :class:`~sigscope.tracing.result.Trace`.
"""

from __future__ import annotations

from sigscope.tracing.capture import current_call
from sigscope.tracing.names import sender_label as _sender_label
from sigscope.tracing.names import signal_name as _signal_name
from sigscope.tracing.redact import DEFAULT_REDACT
from sigscope.tracing.tracer import Tracer, active_tracers, trace

__all__ = ["DEFAULT_REDACT", "Tracer", "active_tracers", "current_call", "trace"]
# ``_signal_name`` and ``_sender_label`` are for the Trace result's assertions.
_ = (_sender_label, _signal_name)
