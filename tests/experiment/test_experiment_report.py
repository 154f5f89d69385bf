"""The report's arithmetic and rendering, on hand-made runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflan.experiment import plots
from agentflan.experiment.aggregate import CALLS, HALLUCINATION, Run, final_loss, mean_spread, pooled, value
from agentflan.experiment.report import markdown, page, table


def _run(seed: int, hscore: float | None, curve: list[dict] | None = None) -> Run:
    metrics = {"agent_h": {"HScore": hscore, "H_ReAct": 10.0 + seed}} if hscore is not None else {}
    return Run("v", seed, eval_file=Path(f"/x/cells/v/seed{seed}/eval/metrics.json"), metrics=metrics,
               curve=curve or [])


def test_mean_and_spread_cover_every_seed() -> None:
    assert mean_spread([1.0, 3.0, 8.0]) == (4.0, 3.5)
    assert mean_spread([2.0]) == (2.0, None) and mean_spread([]) == (None, None)


def test_value_keeps_per_seed_numbers_and_their_files() -> None:
    hscore = next(m for m in HALLUCINATION if m.key == "HScore")
    v = value([_run(0, 80.0), _run(1, 90.0), _run(2, None)], hscore, Path("/x"))
    assert (v["mean"], v["spread"], v["text"]) == (85.0, 5.0, "85.0 ± 5.0")
    assert v["seeds"] == {"0": 80.0, "1": 90.0, "2": None}
    assert v["files"] == ["cells/v/seed0/eval/metrics.json", "cells/v/seed1/eval/metrics.json"]
    missing = value([_run(0, None)], next(m for m in CALLS if m.key == "held_out_call"), Path("/x"))
    assert missing["text"] == "–" and missing["files"] == []


def test_content_loss_is_token_weighted_and_final_loss_uses_the_last_steps() -> None:
    row = {"step": 1, "loss/reasoning": 2.0, "tokens/reasoning": 30, "loss/answer": 4.0, "tokens/answer": 10}
    assert pooled(row, ("reasoning", "answer", "retrieval")) == pytest.approx(2.5)
    assert pooled(row, ("retrieval",)) is None
    curve = [{"step": s, "loss/reasoning": float(s), "tokens/reasoning": 10} for s in range(1, 6)]
    assert final_loss(Run("v", 0, curve=curve), ("reasoning",)) == pytest.approx(4.0)  # steps 3, 4, 5


def test_series_keeps_the_steps_every_seed_logged() -> None:
    a = Run("v", 0, curve=[{"step": 1, "loss/x": 1.0}, {"step": 2, "loss/x": 3.0}])
    b = Run("v", 1, curve=[{"step": 1, "loss/x": 2.0}])
    assert plots.series([a, b], lambda r: r.get("loss/x")) == ([1], [1.5], [1.0], [2.0])


def test_rendering_escapes_names_and_is_the_same_every_time() -> None:
    t = table("T", HALLUCINATION, [("a|b <c>", [_run(0, 70.0)], "agent-flan")], Path("/x"), ("HScore",), "note")
    content = {"title": "t", "setup": ["line", "- **v**: `r.yaml`"], "tables": [t], "figures": {},
               "citation": "paper"}
    md = markdown(content)
    assert "| a\\|b <c> | 10.0 | – | 70.0 |" in md and "| 89.1 |" in md
    html = page(content)
    assert "a|b &lt;c&gt;" in html and "<b>v</b>" in html and "<code>r.yaml</code>" in html
    assert "title='agent_h.HScore in cells/v/seed0/eval/metrics.json (seed 0: 70)'" in html
    assert markdown(content) == md and page(content) == html
