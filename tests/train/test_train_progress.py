"""Issue 12: a training run without a progress bar (a log, CI) prints progress from step 1."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.train.progress import StepLines

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "train"


def test_lines_from_step_1_then_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 40.0, 41.0, 42.0])
    monkeypatch.setattr("agentflan.train.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    lines = StepLines(every_s=30, first=3, stream=out)
    state = SimpleNamespace(global_step=0, max_steps=8, is_world_process_zero=True)
    lines.on_train_begin(None, state, None)
    for step in range(1, 9):
        state.global_step = step
        lines.on_step_end(None, state, None)
    printed = out.getvalue().splitlines()
    assert [line.split(" ·")[0] for line in printed] == ["step 1/8", "step 2/8", "step 3/8", "step 6/8", "step 8/8"]
    assert printed[0] == "step 1/8 · 2.00 s/step · about 14 s left"


@pytest.mark.slow
def test_a_run_without_a_terminal_shows_step_1(build_dir: Path, tmp_path: Path) -> None:
    small = ["model.tiny.vocab_size=512", "model.tiny.hidden_size=48", "model.tiny.intermediate_size=96",
             "model.tiny.tokenizer_samples=120", "labels.max_length=512", "per_device_batch_size=4",
             "logging_steps=20", "max_steps=2", f"data={build_dir}", f"output_dir={tmp_path / 'run'}"]
    result = CliRunner().invoke(app, ["train", str(RECIPES / "tiny-cpu.yaml"),
                                      *[a for s in small for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    assert "step 1/2 · " in result.output and "step 2/2 · " in result.output
