"""The optional C accelerator of the hot path (``sigscope.tracing._speedups``).

``setup.py`` compiles it when sigscope is installed (``pip install``, also
``-e``) and a C compiler is there; it is optional (``optional=True``), so an
install without a compiler works and runs the pure-Python code, which stays
the reference: the C functions are transcriptions of
:func:`sigscope.tracing.patch._django_sync`'s ``method``,
:func:`sigscope.tracing.capture.timed` and :func:`sigscope.tracing.record._kwargs`,
and the tests run the tracing suite on both paths.

``SIGSCOPE_PURE=1`` in the environment (read at import) forces the pure path
of recording (``built`` is still used to keep class version tags, see
:mod:`sigscope.tracing.versions`).
The choice is made when the first tracer starts (:func:`sigscope.tracing.patch.install`):
``enabled`` is read then.

Examples
--------
>>> from sigscope.tracing import accel
>>> accel.enabled == (accel.compiled is not None)
True
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["built", "compiled", "enabled"]


def _load() -> ModuleType | None:
    try:
        from sigscope.tracing import _speedups  # type: ignore[attr-defined]
    except ImportError:  # not built (no compiler at install time)
        return None
    return _speedups


#: The compiled module when it was built, whatever ``SIGSCOPE_PURE`` says.
built: ModuleType | None = _load()
_PURE = os.environ.get("SIGSCOPE_PURE", "") not in ("", "0")
#: The compiled module for recording, or ``None`` (not built, or ``SIGSCOPE_PURE=1``).
compiled: ModuleType | None = None if _PURE else built
#: Use it for the tracers started from now on (tests switch this).
enabled: bool = compiled is not None
