"""Keep sigscope's own frames out of ``warnings`` and ``logging`` stack levels."""

from __future__ import annotations

import linecache
from typing import Any

__all__ = ["hide_frames"]


def hide_frames(module_file: str, *functions: Any) -> None:
    """Keep ``functions``' frames out of ``warnings``/``logging`` stack levels.

    ``warnings.warn(stacklevel=n)`` and ``logging``'s ``stacklevel`` skip frames
    whose file name contains ``importlib`` and ``_bootstrap`` (CPython's
    ``_is_internal_frame``, in the C and the Python implementation).  The
    patched send methods and the proxies are compiled under such a name, so a
    receiver's ``warnings.warn(..., stacklevel=3)`` points where it points
    without tracing.  The real source is registered in ``linecache`` under that
    name, so tracebacks still show the lines.
    """
    hidden = f"{module_file} (hidden like importlib._bootstrap)"
    try:
        if hidden in linecache.cache:
            raise FileExistsError
        with open(module_file, encoding="utf-8") as handle:
            lines = handle.readlines()
        linecache.cache[hidden] = (sum(map(len, lines)), None, lines, hidden)
    except OSError:  # FileExistsError: registered already
        pass
    for function in functions:
        function.__code__ = function.__code__.replace(co_filename=hidden)
