"""The numbers of a finished grid: each cell's metrics read back from its run files, and each variant's mean and
spread over seeds. Every value keeps the files it came from.

Spread is half the range over seeds (max − min) / 2, so every seed's value lies within mean ± spread.

>>> mean_spread([10.0, 14.0])
(12.0, 2.0)
>>> fmt(12.0, 2.0, 1), fmt(0.51234, None, 3), fmt(None, None, 1)
('12.0 ± 2.0', '0.512', '–')
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTENT = ("reasoning", "retrieval", "understanding", "answer")  # paper Fig. 2's content tokens
FORMAT = "instruction_following"  # Fig. 2's format tokens: keywords, fences, JSON and template scaffolding
FOUR = ("reasoning", "retrieval", "understanding", "instruction_following")  # paper §3's capabilities
FINAL_WINDOW = 3  # logged steps averaged for a "final" training loss


@dataclass
class Run:
    """One evaluated model: a cell (variant × seed) or the starting model (variant ``base``, seed None)."""

    variant: str
    seed: int | None
    eval_file: Path | None = None
    train_folder: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    source: str  # "eval" (metrics.json), "curve" (metrics.jsonl), "summary" (train_summary.json)
    path: str  # where in that file, for the reader
    get: Callable[[Run], float | None]
    digits: int = 1


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def load_run(variant: str, seed: int | None, eval_dir: Path | None, train_dir: Path | None) -> Run:
    run = Run(variant, seed)
    if eval_dir is not None and (eval_dir / "metrics.json").exists():
        run.eval_file = eval_dir / "metrics.json"
        run.metrics = json.loads(run.eval_file.read_text(encoding="utf-8"))
    if train_dir is not None and (train_dir / "metrics.jsonl").exists():
        run.train_folder = train_dir
        rows = [json.loads(line) for line in (train_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        run.curve = [r for r in rows if "loss" in r and "train_runtime" not in r]
        summary = train_dir / "train_summary.json"
        if summary.exists():
            run.summary = json.loads(summary.read_text(encoding="utf-8"))
    return run


def pooled(row: dict[str, Any], capabilities: tuple[str, ...]) -> float | None:
    """The token-weighted mean loss of ``capabilities`` in one logged step."""
    pairs = [(row[f"loss/{c}"], row.get(f"tokens/{c}", 0)) for c in capabilities
             if row.get(f"loss/{c}") is not None]
    tokens = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / tokens if tokens else None


def final_loss(run: Run, capabilities: tuple[str, ...]) -> float | None:
    """Training loss of ``capabilities`` over the last `FINAL_WINDOW` logged steps, token-weighted."""
    rows = [r for r in run.curve if pooled(r, capabilities) is not None][-FINAL_WINDOW:]
    pairs = [(pooled(r, capabilities), sum(r.get(f"tokens/{c}", 0) for c in capabilities if r.get(f"loss/{c}")
                                           is not None)) for r in rows]
    tokens = sum(n for _, n in pairs)
    return sum((v or 0.0) * n for v, n in pairs) / tokens if tokens else None


def _heldout_loss(cap: str) -> Callable[[Run], float | None]:
    return lambda r: _num(_dig(r.metrics, "held_out_loss", "agent", "by_capability", cap, "loss"))


def _final(caps: tuple[str, ...]) -> Callable[[Run], float | None]:
    return lambda r: final_loss(r, caps)


HALLUCINATION = [
    Metric("H_ReAct", "H_ReAct ↓", "eval", "agent_h.H_ReAct", lambda r: _num(_dig(r.metrics, "agent_h", "H_ReAct"))),
    Metric("H_General", "H_General ↓", "eval", "agent_h.H_General",
           lambda r: _num(_dig(r.metrics, "agent_h", "H_General"))),
    Metric("HScore", "HScore ↑", "eval", "agent_h.HScore", lambda r: _num(_dig(r.metrics, "agent_h", "HScore"))),
]
CALLS = [
    Metric("held_out_call", "held-out calls: call ↑", "eval", "held_out_calls.call_accuracy",
           lambda r: _num(_dig(r.metrics, "held_out_calls", "call_accuracy"))),
    Metric("held_out_tool", "held-out calls: tool ↑", "eval", "held_out_calls.tool_accuracy",
           lambda r: _num(_dig(r.metrics, "held_out_calls", "tool_accuracy"))),
    Metric("agent_h_a", "Agent-H (a) call ↑", "eval", "agent_h.call_accuracy",
           lambda r: _num(_dig(r.metrics, "agent_h", "call_accuracy"))),
    Metric("bfcl_accuracy", "BFCL accuracy ↑", "eval", "bfcl.summary.mean_accuracy",
           lambda r: _num(_dig(r.metrics, "bfcl", "summary", "mean_accuracy"))),
    Metric("bfcl_abstention", "BFCL abstention on irrelevance ↑", "eval", "bfcl.summary.mean_no_call_rate",
           lambda r: _num(_dig(r.metrics, "bfcl", "summary", "mean_no_call_rate"))),
]
LOSSES = [
    *(Metric(f"final_{c}", f"train {c.replace('instruction_following', 'format')}", "curve",
             f"loss/{c}, last {FINAL_WINDOW} logged steps", _final((c,)), 3) for c in FOUR),
    *(Metric(f"heldout_{c}", f"held-out {c.replace('instruction_following', 'format')}", "eval",
             f"held_out_loss.agent.by_capability.{c}.loss", _heldout_loss(c), 3) for c in FOUR),
    Metric("general_loss", "general answers", "eval", "held_out_loss.general.loss",
           lambda r: _num(_dig(r.metrics, "held_out_loss", "general", "loss")), 3),
]
BUDGET = [
    Metric("tokens_seen", "tokens seen", "summary", "budget.tokens_seen",
           lambda r: _num(_dig(r.summary, "budget", "tokens_seen")), 0),
    Metric("supervised_seen", "supervised tokens seen", "summary", "budget.supervised_tokens_seen",
           lambda r: _num(_dig(r.summary, "budget", "supervised_tokens_seen")), 0),
    Metric("steps", "steps", "curve", "last step", lambda r: _num(r.curve[-1]["step"]) if r.curve else None, 0),
]


def mean_spread(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    return mean, (max(values) - min(values)) / 2 if len(values) > 1 else None


def fmt(mean: float | None, spread: float | None, digits: int) -> str:
    if mean is None:
        return "–"
    text = f"{mean:,.{digits}f}"
    return f"{text} ± {spread:,.{digits}f}" if spread is not None else text


def source_file(run: Run, metric: Metric, root: Path) -> str | None:
    if metric.source == "eval":
        path = run.eval_file
    elif metric.source == "curve":
        path = run.train_folder / "metrics.jsonl" if run.train_folder else None
    else:
        path = run.train_folder / "train_summary.json" if run.train_folder else None
    return os.path.relpath(path, root) if path is not None else None


def value(runs: list[Run], metric: Metric, root: Path) -> dict[str, Any]:
    """Mean, spread, per-seed values and source files of one metric over one variant's runs."""
    got = [(r, metric.get(r)) for r in runs]
    values = [v for _, v in got if v is not None]
    mean, spread = mean_spread(values)
    return {"mean": None if mean is None else round(mean, 6), "spread": None if spread is None else round(spread, 6),
            "text": fmt(mean, spread, metric.digits),
            "seeds": {str(r.seed): v for r, v in got}, "files": sorted(f for r, v in got if v is not None
                                                                      and (f := source_file(r, metric, root)))}
