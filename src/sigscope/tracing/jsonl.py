"""Read JSON Lines traces back, and merge the files of several processes into one ``Trace``.

A Django deployment is many processes (web workers, task workers, commands);
``sigscope trace --jsonl 'trace-{pid}.jsonl'`` writes one file each, and
``--append`` adds runs to one file.  Each run starts with a header line (its
``pid`` and ``host``); send ids are unique only within a run, so merging gives
every send a new id (in global start order), maps each ``parent`` to the new
id of the same run's send (``None`` if that send is not in the file: dropped by
the ring buffer), and keeps which run it came from in ``SendEvent.process``
(``host:pid``).  Nothing here touches Django.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from sigscope.records import (
    BypassEvent,
    CallableInfo,
    ErrorInfo,
    OnCommitCallback,
    ReceiverCall,
    SendEvent,
    UnheardSends,
    to_plain,
)

__all__ = [
    "JSONL_SCHEMA",
    "Recorded",
    "event_dict",
    "iter_jsonl",
    "read_runs",
    "send_event",
    "traced_files",
]

#: The version written in every JSON Lines header (keys are only ever added).
JSONL_SCHEMA = 1

PathLike = str | os.PathLike[str]


class Recorded:
    """What a ``Trace`` reads from a tracer, fixed: the merged records of finished runs."""

    running = False

    def __init__(
        self,
        events: Iterable[SendEvent],
        *,
        dropped: int = 0,
        max_events: int = 0,
        headers: Iterable[dict[str, Any]] = (),
        unheard: Iterable[UnheardSends] = (),
        bypassed: Iterable[BypassEvent] = (),
        on_commit: Iterable[OnCommitCallback] = (),
    ) -> None:
        self.events = tuple(events)
        self.dropped = dropped
        self.max_events = max_events
        self.headers = tuple(headers)
        self.unheard = tuple(unheard)
        self.bypassed = tuple(bypassed)
        self.on_commit = tuple(on_commit)


def _error(data: Any) -> ErrorInfo | None:
    if not data:
        return None
    return ErrorInfo(data["type"], data["message"], data.get("traceback", ""))


def _call(data: dict[str, Any]) -> ReceiverCall:
    info = CallableInfo(
        kind=data.get("kind") or "function",
        module=None,
        qualname=data["receiver"],
        file=data.get("file"),
        line=data.get("line"),
        is_async=bool(data.get("is_async")),
    )
    return ReceiverCall(
        index=data["index"],
        receiver=info,
        is_async=bool(data.get("is_async")),
        duration_ns=data["duration_ns"],
        result=data.get("result"),
        error=_error(data.get("error")),
        offset_ns=data.get("offset_ns", 0),
    )


def send_event(data: dict[str, Any], **changes: Any) -> SendEvent:
    """A ``SendEvent`` from one ``{"type": "send", ...}`` line (``changes`` override fields)."""
    parent = data.get("parent")
    fields: dict[str, Any] = {
        "id": data["id"],
        "parent": tuple(parent) if parent else None,
        "signal": data["signal"],
        "method": data["method"],
        "sender": data.get("sender"),
        "kwargs": tuple((k, str(v)) for k, v in (data.get("kwargs") or {}).items()),
        "thread": data.get("thread", ""),
        "thread_id": data.get("thread_id", 0),
        "task": data.get("task"),
        "started_at": data["started_at"],
        "duration_ns": data["duration_ns"],
        "calls": tuple(_call(c) for c in data.get("calls", ())),
        "error": _error(data.get("error")),
    }
    names = {f.name for f in dataclasses.fields(SendEvent)}
    fields.update((k, v) for k, v in data.items() if k in names and k not in fields)
    fields.update(changes)
    return SendEvent(**fields)


def _record(cls: type, data: dict[str, Any], **changes: Any) -> Any:
    """A record of ``cls`` from its ``to_plain`` dict (lists back to tuples, unknown keys out)."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            continue
        value = data[field.name]
        if isinstance(value, list):
            value = tuple(value)
        elif field.name == "error":
            value = _error(value)
        values[field.name] = value
    values.update(changes)
    return cls(**values)


def read_runs(path: PathLike) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each run in a file written by ``Trace.to_jsonl`` (one per header line): header, lines."""
    import json

    header: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
            if record.get("type") == "header":
                if record.get("schema") != JSONL_SCHEMA:
                    raise ValueError(f"{path}:{number}: unknown schema {record.get('schema')!r}")
                if header is not None:
                    yield header, lines
                header, lines = record, []
            elif header is None:
                raise ValueError(f"{path}: not a sigscope trace (no header line first)")
            else:
                lines.append(record)
    if header is None:
        raise ValueError(f"{path}: not a sigscope trace (empty)")
    yield header, lines


def traced_files(paths: PathLike | Iterable[PathLike]) -> Recorded:
    """The runs in ``paths`` merged: new send ids in start order, parents remapped per run."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    runs = [(str(p), header, lines) for p in paths for header, lines in read_runs(p)]
    sends = [
        (run, line)
        for run, (_, _, lines) in enumerate(runs)
        for line in lines
        if line.get("type") == "send"
    ]
    sends.sort(key=lambda item: item[1]["started_at"])
    new_id = {(run, line["id"]): i for i, (run, line) in enumerate(sends, 1)}

    def remap(run: int, parent: Any) -> tuple[int, int] | None:
        if not parent or (run, parent[0]) not in new_id:
            return None
        return (new_id[(run, parent[0])], parent[1])

    labels = [_process(path, header) for path, header, _ in runs]
    events = [
        send_event(
            line,
            id=new_id[(run, line["id"])],
            parent=remap(run, line.get("parent")),
            process=line.get("process") or labels[run],
        )
        for run, line in sends
    ]
    return Recorded(
        events,
        dropped=sum(h.get("dropped", 0) for _, h, _ in runs),
        max_events=max((h.get("max_events", 0) for _, h, _ in runs), default=0),
        headers=[{**h, "path": p} for p, h, _ in runs],
        **_others(runs, remap),
    )


def _process(path: str, header: dict[str, Any]) -> str:
    if "pid" in header:
        return f"{header.get('host') or '?'}:{header['pid']}"
    return os.path.basename(path)


def _others(runs: list[Any], remap: Any) -> dict[str, Any]:
    """The ``unheard``, ``bypass`` and ``on_commit`` lines of every run (counts summed)."""
    unheard: dict[tuple[str, Any], int] = {}
    bypassed, on_commit = [], []
    for run, (_, _, lines) in enumerate(runs):
        for line in lines:
            kind = line.get("type")
            if kind == "unheard":
                key = (line["signal"], line.get("sender"))
                unheard[key] = unheard.get(key, 0) + line.get("count", 0)
            elif kind == "bypass":
                bypassed.append(_record(BypassEvent, line, parent=remap(run, line.get("parent"))))
            elif kind == "on_commit":
                by = remap(run, line.get("registered_by"))
                on_commit.append(_record(OnCommitCallback, line, registered_by=by))
    return {
        "unheard": [UnheardSends(s, who, n) for (s, who), n in unheard.items()],
        "bypassed": bypassed,
        "on_commit": on_commit,
    }


def event_dict(e: SendEvent) -> dict[str, Any]:
    data = to_plain(e)
    del data["signal_id"]  # an address: meaningless outside this process
    data["kwargs"] = dict(e.kwargs)
    data["parent"] = list(e.parent) if e.parent else None
    for call in data["calls"]:
        info = call["receiver"]
        call["receiver"] = (
            f"{info['module']}.{info['qualname']}" if info["module"] else info["qualname"]
        )
        call["file"], call["line"], call["kind"] = info["file"], info["line"], info["kind"]
    return {"type": "send", **data}


def iter_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Read back what :meth:`Trace.to_jsonl` wrote (checks the schema version)."""
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        record = json.loads(line)
        if number == 0:
            if record.get("type") != "header" or record.get("schema") != JSONL_SCHEMA:
                raise ValueError(f"not a sigscope trace (schema {JSONL_SCHEMA}): {line[:80]!r}")
            continue
        yield record
