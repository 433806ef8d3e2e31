"""Plain-text renderings for terminals: the inspection table and findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sigscope.records import Finding, ReceiverInfo, SendSite
from sigscope.safe import short_location, short_path

if TYPE_CHECKING:
    from sigscope.snapshot import Snapshot

__all__ = ["format_findings", "format_github", "format_inspect", "summary_line"]


def _where(r: ReceiverInfo) -> str:
    return short_location(r.receiver.location) if r.receiver.file else "(no source)"


def _flags(r: ReceiverInfo, marked: set[tuple[str, str]]) -> str:
    flags = ["weak" if r.weak else "strong"]
    if r.is_async:
        flags.append("async")
    if r.dispatch_uid is not None:
        flags.append(f"uid={r.dispatch_uid!r}")
    if r.receiver.kind == "partial":
        flags.append(f"partial({r.receiver.bound_to})")
    elif r.receiver.bound_to:
        flags.append(f"on {r.receiver.bound_to}")
    for flag in ("dead", "stale", "debug_kept_alive"):
        if getattr(r, flag):
            flags.append(flag.replace("_", "-").upper())
    if (r.signal, r.receiver.name) in marked:
        flags.append("⚠")
    return " ".join(flags)


def summary_line(snap: Snapshot, findings: Sequence[Finding] | None = None) -> str:
    findings = snap.findings if findings is None else findings
    counts = Counter(f.severity for f in findings)
    parts = ", ".join(
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in ("error", "warning", "note")
        if counts[s]
    )
    listened = sum(1 for s in snap.signals if s.receivers)
    line = (
        f"Django {snap.django_version} · {_plural(listened, 'signal')} with receivers "
        f"({len(snap.signals)} found) · {_plural(len(snap.receivers), 'registration')} · "
        f"{len(snap.pending)} pending · {_plural(len(findings), 'finding')}"
        + (f" ({parts})" if parts else "")
    )
    urlconf = getattr(snap, "urlconf", "")
    return f"{line} · {urlconf}" if urlconf else line


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def format_inspect(snap: Snapshot, *, show_empty: bool = False) -> str:
    """signal → sender → receivers, numbered in Django's order."""
    marked = {(f.signal or "", name) for f in snap.findings for name in f.receivers}
    lines = [summary_line(snap), ""]
    for signal in snap.signals:
        if not signal.receivers and not show_empty:
            continue
        kind = signal.class_name.rpartition(".")[2]
        count = len(signal.receivers)
        lines.append(f"{signal.name}  ({kind}, {count} receiver{'s' if count != 1 else ''})")
        lines += _sent_from(signal.sent_from)
        by_sender: dict[str, list[ReceiverInfo]] = {}
        for r in signal.receivers:
            by_sender.setdefault(str(r.sender), []).append(r)
        for sender, regs in by_sender.items():
            lines.append(f"  {sender}")
            width = max(len(r.receiver.name) for r in regs)
            for r in regs:
                lines.append(
                    f"    {r.index + 1:>2}. {r.receiver.name:<{width}}  {_where(r)}  "
                    f"{_flags(r, marked)}"
                )
        lines.append("")
    if snap.pending:
        lines.append("Pending lazy senders (waiting for a model to load)")
        for p in snap.pending:
            state = "never resolves" if p.unresolvable else "waiting"
            lines.append(f"  {p.signal} ← {p.model!r}: {p.receiver.name}  ({state})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _sent_from(sites: Sequence[SendSite], limit: int = 5) -> list[str]:
    """``  sent from shop/services.py:14 in place_order (send_robust, sender=Order)``."""
    lines = [
        f"  sent from {short_location(f'{s.file}:{s.line}')} in {s.function} "
        f"({s.method}, sender={s.sender})"
        for s in sites[:limit]
    ]
    if len(sites) > limit:
        lines.append(f"  sent from {len(sites) - limit} more places")
    return lines


def format_findings(findings: Iterable[Finding]) -> str:
    """One block per finding: severity, kind, what happens, the fix, where."""
    blocks = []
    for f in findings:
        head = f"{f.severity.upper():<7} {f.kind}"
        if f.signal:
            head += f"  [{f.signal}" + (f" ← {f.sender}" if f.sender else "") + "]"
        block = [head, f"  {f.message}", f"  fix: {f.fix}"]
        block += [
            f"  at {short_path(loc.rpartition(':')[0])}:{loc.rpartition(':')[2]}"
            for loc in f.locations
        ]
        blocks.append("\n".join(block))
    return "\n\n".join(blocks) + ("\n" if blocks else "No findings.\n")


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands (``::error file=…,line=…::message``)."""
    level = {"error": "error", "warning": "warning", "note": "notice"}
    lines = []
    for f in findings:
        where = ""
        if f.locations:
            path, _, line = f.locations[0].rpartition(":")
            where = f" file={short_path(path)},line={line}," if line.isdigit() else ""
        title = f"sigscope {f.kind}"
        message = _github_escape(f"{f.message} Fix: {f.fix}")
        lines.append(f"::{level[f.severity]}{where or ' '}title={title}::{message}")
    return "\n".join(lines) + ("\n" if lines else "")
