"""The training hook the experiment relies on: ``max_tokens`` trains on the same number of input tokens whatever
the size of the data, instead of the same number of steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agentflan.train.config import ModelConfig, TinyModel, TrainConfig
from agentflan.train.labels import Example
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.trainer import budget_rows, train


def _rows(lengths: list[int]) -> list[list[Example]]:
    return [[Example(f"r{i}", "s", np.zeros(n, np.int64), np.zeros(n, np.int8), None)]
            for i, n in enumerate(lengths)]


def test_budget_rows_cycles_seeded_epochs_and_stops_at_the_budget() -> None:
    rows = _rows([5, 7, 11, 13])
    out = budget_rows(rows, 100, seed=3)
    seen = [sum(len(ex) for ex in row) for row in out]
    assert sum(seen) >= 100 and sum(seen) - seen[-1] < 100
    # Every row once per epoch: the first two epochs are permutations of the rows.
    assert sorted(r[0].id for r in out[:4]) == sorted(r[0].id for r in out[4:8]) == ["r0", "r1", "r2", "r3"]
    assert [r[0].id for r in out] == [r[0].id for r in budget_rows(rows, 100, seed=3)]
    assert [r[0].id for r in out] != [r[0].id for r in budget_rows(rows, 100, seed=4)]
    assert len(budget_rows(rows, 1, seed=0)) == 1
    assert budget_rows([], 100, seed=0) == []


def _config(data: Path, out: Path, **extra: object) -> TrainConfig:
    return TrainConfig.model_validate({
        "data": str(data), "output_dir": str(out), "lr": 0.002, "per_device_batch_size": 2, "packing": True,
        "labels": {"max_length": 256}, "logging_steps": 2, "save_steps": 1000, "plot": False,
        "model": ModelConfig(tiny=TinyModel(vocab_size=400, hidden_size=32, intermediate_size=64,
                                            tokenizer_samples=60)).model_dump(), **extra})


@pytest.mark.slow
def test_two_data_sizes_see_the_same_tokens(tmp_path: Path) -> None:
    for n in (30, 120):
        data = tmp_path / f"d{n}.jsonl"
        data.write_text("".join(t.to_json() + "\n" for t in synthetic_corpus(n)), encoding="utf-8")
        summary = train(_config(data, tmp_path / f"run{n}", max_tokens=6000, max_steps=2), show_progress=False)
        budget = summary["budget"]
        assert 6000 <= budget["tokens_seen"] < 6000 + 256
        assert 0 < budget["supervised_tokens_seen"] < budget["tokens_seen"]
        assert summary["result"]["global_step"] == -(-budget["rows"] // 2)  # max_steps gives way to the budget
        metrics = [json.loads(line) for line in (tmp_path / f"run{n}" / "metrics.jsonl").read_text().splitlines()]
        assert metrics[-1]["step"] == summary["result"]["global_step"]
