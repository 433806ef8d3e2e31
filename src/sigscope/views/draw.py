"""Pictures with matplotlib: the registry graph and a trace's timeline, as PNG bytes.

Object-oriented matplotlib only (``Figure`` + Agg canvas): no pyplot state, no
backend switch, safe in a kernel.  Backgrounds are transparent and every label
sits on its own light box, so the pictures read on light and dark themes.

The graph is read left to right, senders → signals → receivers, in a fixed
order (no random layout): the same registry always gives the same picture.
Each registration is its own line, so a receiver connected twice shows two.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure

    from sigscope.records import SendEvent
    from sigscope.snapshot import Snapshot

__all__ = ["AGGREGATE_ABOVE", "draw_graph", "draw_timeline", "figure_png", "snapshot_png"]

#: Above this many receivers the picture shows one box per app instead of a hairball.
AGGREGATE_ABOVE = 300

INK = "#1f2328"
MUTED = "#768390"  # mid-grey: readable on light and dark backgrounds
BOX = "#f6f8fa"
EDGE = "#8c959f"
WARN = "#d9480f"
ERROR = "#cf222e"
DEAD = "#8c959f"
HIGHLIGHT = "#0969da"
SIGNAL_BOX = "#ddf4ff"
SENDER_BOX = "#fff8c5"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def snapshot_png(snap: Snapshot, *, dpi: int = 100) -> bytes | None:
    """The picture of a snapshot without Django's own receivers (``None`` when empty):
    what a displayed snapshot and ``sigscope inspect --format html`` show."""
    from sigscope.views.select import Filters, rows, select_graph

    shown = rows(snap, Filters())
    return figure_png(draw_graph(select_graph(snap, shown)), dpi=dpi) if shown else None


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """PNG bytes of a figure, transparent background."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, transparent=True, bbox_inches="tight")
    return buffer.getvalue()


def _sender_text(sender: str) -> str:
    kind, _, label = sender.partition(":")
    if kind == "pending":
        return _clip(f"'{label}' (pending)", 28)
    return "any sender" if label == "*" else _clip(label, 28)


def _signal_text(graph: nx.MultiDiGraph, node: str) -> str:
    return _clip(str(graph.nodes[node]["label"]), 26)


def _half_width(text: str) -> float:
    """About half a centred 8-point label's box, in the graph's x units (13-inch figure)."""
    return 0.0088 * len(text) + 0.035


class _Rows:
    """The three columns of the picture, in a fixed order."""

    def __init__(self, graph: nx.MultiDiGraph, aggregate: bool) -> None:
        self.graph = graph
        self.aggregate = aggregate
        calls = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("relation") == "calls"]
        self.calls = calls
        signals = sorted({u for u, _, _ in calls}, key=lambda n: graph.nodes[n]["label"])
        self.signals = signals
        order = {s: i for i, s in enumerate(signals)}
        receivers: dict[str, tuple[int, str]] = {}
        for u, v, _ in calls:
            key = self.receiver_key(v)
            rank = (order[u], graph.nodes[v]["label"] if not aggregate else key)
            receivers[key] = min(receivers.get(key, rank), rank)
        self.receivers = sorted(receivers, key=lambda k: receivers[k])
        # Each sender sits at the mean height of the signals it sends: fewer crossings.
        heights: dict[str, list[int]] = defaultdict(list)
        for u, _, d in calls:
            heights[self.sender_key(d)].append(order[u])
        self.senders = sorted(heights, key=lambda s: (sum(heights[s]) / len(heights[s]), s))

    def receiver_key(self, node: str) -> str:
        if not self.aggregate:
            return node
        return f"app:{self.graph.nodes[node].get('app') or '?'}"

    @staticmethod
    def sender_key(data: dict[str, Any]) -> str:
        if data.get("pending"):
            return f"pending:{data['sender']}"
        return "sender:*" if data["sender"] == "*" else f"sender:{data['sender']}"


def draw_graph(
    graph: nx.MultiDiGraph,
    *,
    highlight: Iterable[str] = (),
    title: str | None = None,
    aggregate_above: int = AGGREGATE_ABOVE,
    counts: dict[str, int] | None = None,
) -> Figure:
    """Senders → signals → receivers, one line per registration, problems marked.

    ``highlight`` names receiver nodes (``receiver:…``) to draw in the accent colour;
    ``counts`` (receiver node → number) is written after their names (e.g. calls in a trace).
    Above ``aggregate_above`` receivers, receivers are grouped into one box per app.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    receiver_count = sum(1 for _, d in graph.nodes(data=True) if d.get("type") == "receiver")
    aggregate = receiver_count > aggregate_above
    rows = _Rows(graph, aggregate)
    height = max(len(rows.senders), len(rows.signals), len(rows.receivers), 1)
    fig = Figure(figsize=(13, 1.6 + 0.3 * height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    xs = {"sender": 0.0, "signal": 1.0, "receiver": 2.05}

    def ys(items: list[str]) -> dict[str, float]:
        n = len(items)
        return {item: height - (i + 0.5) * height / max(n, 1) for i, item in enumerate(items)}

    y_sender, y_signal, y_receiver = ys(rows.senders), ys(rows.signals), ys(rows.receivers)
    wanted = set(highlight)
    segments: dict[str, list[Any]] = defaultdict(list)
    sends = {(rows.sender_key(d), u) for u, _, d in rows.calls}
    for sender, signal in sends:
        style = "dead" if sender.startswith("pending:") else "normal"
        start = (xs["sender"] + _half_width(_sender_text(sender)), y_sender[sender])
        end = (xs["signal"] - _half_width(_signal_text(graph, signal)), y_signal[signal])
        segments[style].append([start, end])
    per_pair: dict[tuple[str, str], int] = defaultdict(int)
    marks: dict[str, set[str]] = defaultdict(set)
    registrations: dict[str, int] = defaultdict(int)
    for u, v, d in rows.calls:
        key = rows.receiver_key(v)
        registrations[key] += 1
        pair = (u, key)
        offset = per_pair[pair] * 0.09
        per_pair[pair] += 1
        if d.get("dead") or d.get("pending"):
            style = "dead"
            marks[key].add("dead" if d.get("dead") else "pending")
        elif d.get("finding"):
            style = "warn"
            marks[key].add("warn")
        else:
            style = "normal"
        if v in wanted:
            style = "highlight"
        if d.get("is_async"):
            marks[key].add("async")
        start = (xs["signal"] + _half_width(_signal_text(graph, u)), y_signal[u])
        end = (xs["receiver"] - 0.02, y_receiver[key] - offset)
        segments[style].append([start, end])
    looks = {
        "normal": {"colors": EDGE, "linewidths": 0.9, "linestyles": "solid"},
        "warn": {"colors": WARN, "linewidths": 1.8, "linestyles": "solid"},
        "dead": {"colors": DEAD, "linewidths": 1.0, "linestyles": "dashed"},
        "highlight": {"colors": HIGHLIGHT, "linewidths": 2.4, "linestyles": "solid"},
    }
    for style, lines in segments.items():
        ax.add_collection(LineCollection(lines, zorder=1, **looks[style]))

    def box(x: float, y: float, text: str, face: str, edge: str, align: str = "center") -> None:
        ax.text(
            x,
            y,
            text,
            ha=align,
            va="center",
            fontsize=8,
            color=INK,
            zorder=3,
            bbox={"boxstyle": "round,pad=0.25", "fc": face, "ec": edge, "lw": 0.8},
        )

    for sender, y in y_sender.items():
        edge = DEAD if sender.startswith("pending:") else EDGE
        box(xs["sender"], y, _sender_text(sender), SENDER_BOX, edge)
    for signal, y in y_signal.items():
        box(xs["signal"], y, _signal_text(graph, signal), SIGNAL_BOX, EDGE)
    for key, y in y_receiver.items():
        if aggregate:
            text = f"{key.partition(':')[2]} ({registrations[key]} registrations)"
        else:
            text = _clip(graph.nodes[key]["label"], 60)
        flags = marks[key]
        if "warn" in flags:
            text = "⚠ " + text
        if counts and key in counts:
            text += f"  ×{counts[key]}"
        for flag in ("async", "dead", "pending"):
            if flag in flags:
                text += f" [{flag}]"
        edge = HIGHLIGHT if key in wanted else (WARN if "warn" in flags else EDGE)
        box(xs["receiver"], y, text, BOX, edge, align="left")
    ax.set_xlim(-0.55, 3.6)
    ax.set_ylim(-0.4, height + 1.6)
    for x, head in ((0.0, "senders"), (1.0, "signals"), (2.05, "receivers")):
        ax.text(
            x,
            height + 0.45,
            head,
            ha="center" if x < 2 else "left",
            fontsize=9,
            color=MUTED,
            fontweight="bold",
        )
    legend = [
        Line2D([], [], color=EDGE, lw=0.9, label="registration"),
        Line2D([], [], color=WARN, lw=1.8, label="⚠ has a finding (e.g. duplicate)"),
        Line2D([], [], color=DEAD, lw=1.0, ls="--", label="dead or pending"),
    ]
    if wanted:
        label = "ran (×calls)" if counts else "selected"
        legend.append(Line2D([], [], color=HIGHLIGHT, lw=2.4, label=label))
    ax.legend(
        handles=legend,
        loc="upper right",
        ncol=len(legend),
        fontsize=8,
        frameon=True,
        facecolor=BOX,
        edgecolor=EDGE,
        labelcolor=INK,
    )
    if title:
        ax.text(-0.5, height + 0.45, title, fontsize=10, color=MUTED, ha="left")
    if aggregate:
        ax.text(
            -0.5,
            -0.25,
            f"{receiver_count} receivers: grouped by app (filter to see each one)",
            fontsize=8,
            color=MUTED,
        )
    return fig


def draw_timeline(events: Iterable[SendEvent], *, limit: int = 60) -> Figure:
    """A waterfall: one bar per receiver run on a shared time axis, nested sends indented.

    Errors are red with the exception type written on the bar.
    """
    from matplotlib.figure import Figure

    from sigscope.tracing.lines import format_duration, nest

    events = list(events)
    roots, kids = nest(events)
    origin = min((e.started_at for e in events), default=0.0)
    bars: list[tuple[str, float, float, int, str | None, bool]] = []

    def walk(e: SendEvent, depth: int) -> None:
        start = (e.started_at - origin) * 1e3
        head = f"{e.signal.rpartition('.')[2]}({_clip(e.sender or '-', 24)})"
        if depth:
            head = "↳ " + head  # sent from inside the receiver above
        error = e.error.type if e.error else None
        bars.append((head, start, e.duration_ns / 1e6, depth, error, True))
        for c in e.calls:
            bars.append(
                (
                    c.receiver.qualname,
                    start + c.offset_ns / 1e6,
                    c.duration_ns / 1e6,
                    depth + 1,
                    c.error.type if c.error else None,
                    False,
                )
            )
            for child in kids.get((e.id, c.index), ()):
                walk(child, depth + 2)

    for root in roots:
        walk(root, 0)
    shown = bars[:limit]
    fig = Figure(figsize=(11, 1.2 + 0.26 * max(len(shown), 1)))
    ax = fig.add_axes((0.3, 0.12 if len(shown) < 8 else 0.05, 0.66, 0.8))
    total = max((b[1] + b[2] for b in shown), default=1.0) or 1.0
    for row, (label, start, width, _depth, error, is_send) in enumerate(shown):
        y = len(shown) - row
        color = ERROR if error else (SIGNAL_BOX if is_send else HIGHLIGHT)
        ax.barh(
            y,
            max(width, total / 400),
            left=start,
            height=0.7,
            color=color,
            edgecolor=EDGE if is_send else color,
            linewidth=0.6,
        )
        ax.text(
            -total * 0.01,
            y,
            _clip(label, 44),
            ha="right",
            va="center",
            fontsize=8,
            color=INK,
            fontweight="bold" if is_send else "normal",
            bbox={"boxstyle": "round,pad=0.15", "fc": BOX, "ec": "none"},
        )
        note = format_duration(int(width * 1e6)) + (f"  ✗ {error}" if error else "")
        ax.text(
            start + max(width, total / 400) + total * 0.01,
            y,
            note,
            va="center",
            fontsize=7,
            color=ERROR if error else INK,
            bbox={"boxstyle": "round,pad=0.1", "fc": BOX, "ec": "none"},
        )
    ax.set_yticks([])
    ax.set_xlim(0, total * 1.25)
    ax.set_ylim(0.3, len(shown) + 0.7)
    ax.set_xlabel("ms since the first send", fontsize=8, color=MUTED)
    ax.tick_params(colors=MUTED, labelsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(EDGE)
    if len(bars) > limit:
        ax.set_title(f"first {limit} of {len(bars)} rows", fontsize=8, color=MUTED)
    return fig
