"""Charts for the HTML report, drawn with matplotlib's SVG backend and embedded inline (no network to view)."""

from __future__ import annotations

import io
import itertools
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from agentflan.audit.balance import PAPER_WEIGHTS
from agentflan.schema import CAPABILITIES

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

COLOURS = {
    "reasoning": "#4C72B0", "retrieval": "#DD8452", "understanding": "#55A868", "instruction_following": "#C44E52",
    "answer": "#8172B3", "abstain": "#937860", "general": "#8C8C8C",
}
_RC: dict[RcKeyType, Any] = {"svg.fonttype": "none", "svg.hashsalt": "agentflan-audit", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False,
       # Labels are file names and tool names, never formulas: "a$x$b.jsonl" must not go through mathtext.
       "text.parse_math": False}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG is inlined into HTML


def _short(label: str, width: int = 42) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]


def format_share_chart(by_source: dict[str, dict[str, Any]]) -> str:
    with matplotlib.rc_context(_RC):
        labels = list(by_source)
        fig = Figure(figsize=(7.5, 0.45 * len(labels) + 1.0))
        ax = fig.subplots()
        shares = [by_source[s]["format_share"] for s in labels]
        ys = range(len(labels))
        ax.barh(ys, shares, color=COLOURS["instruction_following"], label="format (keywords, fences, JSON)")
        ax.barh(ys, [1 - s for s in shares], left=shares, color="#DDDDDD", label="content")
        for y, s in zip(ys, shares, strict=True):
            ax.text(min(s, 0.9) + 0.01, y, f"{s:.1%}", va="center", fontsize=8)
        ax.set_yticks(list(ys), [_short(s) for s in labels])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of supervised tokens")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
        return _svg(fig)


def capability_chart(by_source: dict[str, dict[str, Any]]) -> str:
    with matplotlib.rc_context(_RC):
        total = sum(PAPER_WEIGHTS.values())
        rows = [("paper weights (r:ret:u = 1:0.25:0.75)", {c: w / total for c, w in PAPER_WEIGHTS.items()})]
        rows += [(_short(s), info["shares"]) for s, info in by_source.items()]
        fig = Figure(figsize=(7.5, 0.45 * len(rows) + 1.2))
        ax = fig.subplots()
        for y, (_, shares) in enumerate(rows):
            left = 0.0
            for cap in CAPABILITIES:
                width = shares.get(cap, 0.0)
                if width:
                    ax.barh(y, width, left=left, color=COLOURS[cap], label=cap if y == 0 or cap not in
                            PAPER_WEIGHTS else None)
                    left += width
        handles = [Rectangle((0, 0), 1, 1, color=COLOURS[c]) for c in CAPABILITIES]
        ax.legend(handles, CAPABILITIES, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of supervised tokens")
        return _svg(fig)


def validity_chart(counts: dict[str, int]) -> str:
    with matplotlib.rc_context(_RC):
        labels = list(counts)
        fig = Figure(figsize=(7.5, 0.32 * len(labels) + 0.8))
        ax = fig.subplots()
        values = [counts[k] for k in labels]
        ax.barh(range(len(labels)), values, color=["#C44E52" if v else "#BBBBBB" for v in values])
        for y, v in enumerate(values):
            ax.text(v, y, f" {v}", va="center", fontsize=8)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel("occurrences")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max([*values, 1]) * 1.15)
        return _svg(fig)


def shape_chart(stats: dict[str, dict[str, Any]]) -> str:
    keys = ["turns", "tokens", "tools", "calls"]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(10, 2.3))
        axes = fig.subplots(1, 4)
        for ax, key in zip(axes, keys, strict=True):
            hist = stats[key]["histogram"]
            edges, counts = hist["edges"], hist["counts"]
            ax.bar(edges[:-1], counts, width=[b - a for a, b in itertools.pairwise(edges)],
                   align="edge", color="#4C72B0", edgecolor="white", linewidth=0.5)
            ax.set_title(stats[key]["description"], fontsize=9)
            if key == "turns":
                ax.set_ylabel("samples")
        fig.tight_layout()
        return _svg(fig)
