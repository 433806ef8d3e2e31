"""What the graph widget's details panel shows for a clicked node or registration.

Structured data (title, ``(label, value)`` rows, a source excerpt, findings), not
HTML: the front end writes every string as text.  Source lines come from
``linecache`` (reading the file, never importing it).
"""

from __future__ import annotations

import linecache
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sigscope.records import Finding, ReceiverInfo, SendSite, SignalInfo
from sigscope.safe import short_location, short_path

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot
    from sigscope.views.select import Row

__all__ = ["details_data", "selected_record", "source_excerpt"]


def source_excerpt(file: str | None, line: int | None, context: int = 8) -> str:
    """Numbered source lines from ``line`` on (empty when there is no source)."""
    if not file or not line:
        return ""
    lines = linecache.getlines(file)
    start = max(line - 1, 0)
    chunk = lines[start : start + context]
    return "".join(f"{start + i + 1:>5}  {text}" for i, text in enumerate(chunk))


def _findings(findings: Sequence[Finding]) -> list[list[str]]:
    seen: list[list[str]] = []
    for f in findings:
        entry = [f.severity, f.kind, f.message, f.fix]
        if entry not in seen:
            seen.append(entry)
    return seen


def _registration_rows(row: Row) -> list[list[str]]:
    reg = row.registration
    rows = [["signal", row.signal], ["sender", row.sender]]
    if reg is None:
        return rows
    info = reg.receiver
    rows += [
        ["kind", info.kind],
        ["where", short_location(info.location) if info.file else "(no source)"],
        ["dispatch_uid", "—" if reg.dispatch_uid is None else reg.dispatch_uid],
        ["weak", "yes" if reg.weak else "no (strong reference)"],
        ["async", "yes" if reg.is_async else "no"],
        ["order", f"{reg.index + 1} in Signal.receivers"],
    ]
    if info.bound_to:
        rows.append(["bound to", info.bound_to])
    if info.wrapped_by:
        rows.append(["wrapped by", ", ".join(info.wrapped_by)])
    flags = [x for x, on in (("dead", reg.dead), ("stale", reg.stale)) if on]
    if reg.debug_kept_alive:
        flags.append("alive only because DEBUG=True")
    if flags:
        rows.append(["state", ", ".join(flags)])
    return rows


def _receiver(matching: list[Row]) -> dict[str, Any]:
    first = matching[0]
    rows = _registration_rows(first)
    for other in matching[1:]:
        uid = other.registration.dispatch_uid if other.registration else None
        rows.append(["also", f"{other.signal} ← {other.sender}" + (f" (uid {uid})" if uid else "")])
    info = first.registration.receiver if first.registration else None
    source = source_excerpt(info.file, info.line) if info else ""
    findings = [f for r in matching for f in r.findings]
    return {"title": first.receiver_name, "kind": "receiver", "rows": rows, "source": source,
            "findings": _findings(findings)}  # fmt: skip


def details_data(snap: Snapshot, rows: Sequence[Row], selected: str) -> dict[str, Any]:
    """The panel for ``selected``: a registration key, a receiver/signal/sender node id."""
    if not selected:
        return {}
    by_key = [r for r in rows if r.key == selected]
    by_node = [r for r in rows if r.node == selected]
    if by_key or by_node:
        return _receiver(by_key or by_node)
    if selected.startswith("signal:"):
        name = selected.partition(":")[2]
        info = next((s for s in snap.signals if s.name == name), None)
        listed = [r for r in rows if r.signal == name]
        table = [["name", name], ["registrations shown", str(len(listed))]]
        if info is not None:
            table += [["class", info.class_name], ["caching", "yes" if info.use_caching else "no"]]
            table += [["alias", a] for a in info.aliases]
        findings = [f for f in snap.findings if f.signal == name]
        return {"title": name, "kind": "signal", "rows": table, "findings": _findings(findings)}
    found = _send_site(snap, selected)
    if found is not None:
        signal, site = found
        table = [
            ["sends", signal],
            ["method", site.method],
            ["sender=", site.sender or "(none)"],
            ["in", site.function or "(module level)"],
            ["where", f"{short_path(site.file)}:{site.line}"],
        ]
        source = source_excerpt(site.file, site.line, context=4)
        return {"title": f"send site of {signal.rpartition('.')[2]}", "kind": "site",
                "rows": table, "source": source, "findings": []}  # fmt: skip
    kind, _, label = selected.partition(":")
    listed = [r for r in rows if r.sender == (label if label != "*" else "any sender")]
    return {"title": "any sender" if label == "*" else label, "kind": kind,
            "rows": [["registrations shown", str(len(listed))]] + [
                ["receiver", f"{r.signal.rpartition('.')[2]} → {r.receiver_name}"]
                for r in listed[:20]]}  # fmt: skip


def selected_record(
    snap: Snapshot, rows: Sequence[Row], selected: str
) -> ReceiverInfo | SignalInfo | SendSite | None:
    """The record behind a selection: a registration, a signal, or ``None``."""
    for row in rows:
        if selected in (row.key, row.node) and row.registration is not None:
            return row.registration
    if selected.startswith("signal:"):
        name = selected.partition(":")[2]
        return next((s for s in snap.signals if s.name == name), None)
    found = _send_site(snap, selected)
    return found[1] if found is not None else None


def _send_site(snap: Snapshot, node: str) -> tuple[str, SendSite] | None:
    """``(signal name, SendSite)`` of a ``site:<path>:<line>`` node."""
    if not node.startswith("site:"):
        return None
    path, _, line = node[len("site:") :].rpartition(":")
    for signal in snap.signals:
        for site in signal.sent_from:
            if site.file == path and str(site.line) == line:
                return signal.name, site
    return None
