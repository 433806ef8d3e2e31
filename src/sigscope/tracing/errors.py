"""Exceptions as records: type, args and frames now; text only when read.

During a send nothing of the exception's own code runs: no ``str(exc)`` (a
user ``__str__`` may raise ``SystemExit`` or query), no traceback formatting
(a recursion error would format a traceback per level).  What is kept is the
type's name, the ``args`` described safely, and the traceback as
``(file, line, function)`` triples read from ``tb_frame.f_code`` and
``tb_lineno``.  :func:`error_info` turns that into an ``ErrorInfo`` with the
usual traceback text (source lines from ``linecache``) when events are read.
"""

from __future__ import annotations

import linecache
from typing import Any

from sigscope.records import ErrorInfo
from sigscope.tracing.values import describe, type_label

__all__ = ["Captured", "capture", "error_info"]

#: Frames kept per exception (the innermost ones: where it was raised).
MAX_FRAMES = 40
_args_of = BaseException.__dict__["args"].__get__
_traceback_of = BaseException.__dict__["__traceback__"].__get__

Frame = tuple[str, int, str]


class Captured:
    """What is kept of one exception: no reference to it or its frames."""

    __slots__ = ("frames", "message", "skipped", "type")

    def __init__(self, type_: str, message: str, frames: tuple[Frame, ...], skipped: int) -> None:
        self.type, self.message, self.frames, self.skipped = type_, message, frames, skipped


def _message(args: Any) -> str:
    """What ``BaseException.__str__`` shows, computed from ``args`` without running code."""
    if type(args) is not tuple or not args:
        return ""
    if len(args) == 1:
        only = args[0]
        return only[:500] if type(only) is str else describe(only, 500)
    return describe(args, 500)


def capture(exc: BaseException) -> Captured:
    """Record ``exc`` cheaply (a user subclass's ``__str__`` is not used)."""
    try:
        message = _message(_args_of(exc))
    except Exception:
        message = ""
    frames: list[Frame] = []
    seen = 0
    tb = _traceback_of(exc)
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        seen += 1
        if len(frames) > 2 * MAX_FRAMES:
            del frames[:MAX_FRAMES]
        tb = tb.tb_next
    kept = tuple(frames[-MAX_FRAMES:])
    return Captured(_qualname(type(exc)), message, kept, seen - len(kept))


def _qualname(cls: type) -> str:
    try:
        name = type.__getattribute__(cls, "__qualname__")
    except Exception:
        return type_label(cls)
    return name if type(name) is str else "?"


def error_info(captured: Captured) -> ErrorInfo:
    """The record, with the traceback formatted now (at read time)."""
    lines = ["Traceback (most recent call last):\n"]
    if captured.skipped:
        lines.append(f"  [{captured.skipped} earlier frames not kept]\n")
    for filename, lineno, function in captured.frames:
        lines.append(f'  File "{filename}", line {lineno}, in {function}\n')
        source = linecache.getline(filename, lineno).strip()
        if source:
            lines.append(f"    {source}\n")
    name = captured.type
    lines.append(f"{name}: {captured.message}" if captured.message else name)
    return ErrorInfo(
        type=captured.type,
        message=captured.message,
        traceback="".join(lines),
        frames=captured.frames,
    )
