"""The report's figures, overlaid across variants (mean over seeds, the band from the lowest to the highest seed):

- `format_content`: the loss of format tokens against content tokens over steps (paper Fig. 2);
- `capabilities`: the loss of each of the paper's four capabilities over steps (Fig. 3);
- `hallucination`: the hallucination rate of each Agent-H circumstance and format level (Fig. 6, Table 3).

Each returns PNG bytes, the same bytes for the same numbers (no timestamps in the file).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from agentflan.experiment.aggregate import CONTENT, FORMAT, FOUR, Run, pooled

NO_CALL_CELLS = ("b/react", "b/general", "c/react", "c/general", "d/react", "d/general")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "agentflan"
    return plt


def _colour(n: int, name: str) -> Any:
    """The n-th variant's colour in every figure; the starting model grey."""
    return "0.55" if name == "starting model" else _pyplot().get_cmap("tab10")(n % 10)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    _pyplot().close(fig)
    return buf.getvalue()


def series(runs: list[Run], fn: Callable[[dict[str, Any]], float | None]
           ) -> tuple[list[int], list[float], list[float], list[float]]:
    """(steps, mean, low, high) of ``fn`` over the steps every run logged a value at."""
    per_run = [{r["step"]: v for r in run.curve if (v := fn(r)) is not None} for run in runs]
    if not per_run:
        return [], [], [], []
    steps = sorted(set.intersection(*(set(p) for p in per_run)))
    mean = [sum(p[s] for p in per_run) / len(per_run) for s in steps]
    return steps, mean, [min(p[s] for p in per_run) for s in steps], [max(p[s] for p in per_run) for s in steps]


def _line(ax: Any, runs: list[Run], fn: Callable[[dict[str, Any]], float | None], colour: Any, label: str,
          style: str = "-") -> None:
    steps, mean, low, high = series(runs, fn)
    if steps:
        ax.plot(steps, mean, style, color=colour, label=label, linewidth=1.6)
        if len(runs) > 1:
            ax.fill_between(steps, low, high, color=colour, alpha=0.15, linewidth=0)


def _logged(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda row: row.get(key)


def format_content(variants: dict[str, list[Run]]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for n, (name, runs) in enumerate(variants.items()):
        _line(ax, runs, lambda r: pooled(r, CONTENT), _colour(n, name), f"{name}: content")
        _line(ax, runs, lambda r: pooled(r, (FORMAT,)), _colour(n, name), f"{name}: format", "--")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mean cross-entropy)")
    ax.set_title("Format tokens (dashed) vs content tokens (solid)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="center right")
    fig.tight_layout()
    return _png(fig)


def capabilities(variants: dict[str, list[Run]]) -> bytes:
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, cap in zip(axes.flat, FOUR, strict=True):
        for n, (name, runs) in enumerate(variants.items()):
            _line(ax, runs, _logged(f"loss/{cap}"), _colour(n, name), name)
        ax.set_title(cap.replace("_", " "))
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _png(fig)


def hallucination(rates: dict[str, dict[str, tuple[float | None, float | None]]]) -> bytes:
    """``rates[row][cell] = (mean, spread)`` for the no-call cells of Agent-H (``b/react`` ...); a row named
    "starting model" first, then the variants in the order of the other figures."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10.5, 4.5))
    width = 0.8 / max(len(rates), 1)
    variant = 0
    for n, (name, cells) in enumerate(rates.items()):
        xs = [i + (n - (len(rates) - 1) / 2) * width for i in range(len(NO_CALL_CELLS))]
        means = [cells.get(c, (None, None))[0] or 0.0 for c in NO_CALL_CELLS]
        errs = [cells.get(c, (None, None))[1] or 0.0 for c in NO_CALL_CELLS]
        ax.bar(xs, means, width, yerr=errs, label=name, color=_colour(variant, name), capsize=2)
        variant += name != "starting model"
    ax.set_xticks(range(len(NO_CALL_CELLS)), [c.replace("/", "\n") for c in NO_CALL_CELLS])
    ax.set_ylabel("hallucination (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Agent-H: b = irrelevant tools, c = no tools + tool query, d = no tools + general query",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _png(fig)

