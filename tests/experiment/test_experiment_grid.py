"""The shortened grid end to end (`agentflan experiment` in a subprocess), its reruns, and the kill test: an
experiment killed mid-way and run again ends with the same files as an uninterrupted run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from grid_fixtures import command, run, units_of, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CELLS = [("react", 0), ("react", 1), ("full", 0), ("full", 1)]
# What legitimately differs between two runs: wall-clock figures, the trainer's pickled arguments (they hold
# the output path) and its last checkpoint (optimizer state, not a result).
TIMING_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second"}


def _comparable(path: Path, root: Path) -> Any:
    if path.name in ("timings.jsonl", ".lock") or path.suffix in (".bin", ".pt", ".pth") or \
            any(p.startswith("checkpoint-") for p in path.relative_to(root).parts):
        return None
    data = path.read_bytes()
    if path.suffix not in (".json", ".jsonl"):
        return data
    text = data.decode("utf-8").replace(str(root), "$DIR")

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    if path.suffix == ".jsonl":
        return [strip(json.loads(line)) for line in text.splitlines() if line.strip()]
    return strip(json.loads(text))


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def test_shortened_grid_trains_evaluates_and_reports(small_grid: tuple[Path, Path]) -> None:
    _, out = small_grid
    report = (out / "report.md").read_text(encoding="utf-8")
    for title in ("Hallucination (Agent-H)", "Tool calls", "Loss per capability", "Budget"):
        assert f"## {title}" in report
    assert "| react |" in report and "| full |" in report and "| starting model |" in report
    assert "89.1" in report and "83.9" in report  # the paper's HScores beside ours
    for figure in ("format-content", "capabilities", "hallucination"):
        assert (out / "figures" / f"{figure}.png").read_bytes().startswith(b"\x89PNG")
        assert f"figures/{figure}.png" in report
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    named = {f for t in data["tables"] for row in t["rows"] for c in row for f in c.get("files", [])}
    named |= {f for fig in data["figures"].values() for f in fig["from"]}
    assert named and all((out / f).is_file() for f in named)  # every number names files that exist
    hallucination = data["tables"][0]
    hscore = next(c for c in hallucination["rows"][2] if c.get("metric") == "HScore")
    assert set(hscore["seeds"]) == {"0", "1"} and hscore["files"] == [
        "cells/full/seed0/eval/metrics.json", "cells/full/seed1/eval/metrics.json"]


def test_every_cell_sees_the_same_tokens_and_never_the_held_out_split(small_grid: tuple[Path, Path]) -> None:
    _, out = small_grid
    budget = 1500
    for variant, seed in CELLS:
        summary = json.loads((out / "cells" / variant / f"seed{seed}" / "train" / "train_summary.json").read_text())
        assert budget <= summary["budget"]["tokens_seen"] < budget + 256
        assert summary["config"]["model"]["name_or_path"].endswith("pretrain/train/model")
    held = [json.loads(line) for line in (out / "builds" / "full" / "held_out.jsonl").read_text().splitlines()]
    assert held
    queries = {m["content"] for t in held for m in t["messages"] if m["role"] == "user"}
    trained = "".join((out / "builds" / v / "canonical.jsonl").read_text() for v in ("react", "full"))
    trained += (out / "pretrain" / "corpus.jsonl").read_text()
    assert not any(json.dumps(q)[1:-1] in trained for q in queries)
    agent_h = json.loads((out / "benchmarks" / "agent_h" / "manifest.json").read_text())
    excluded_from = sorted(Path(f["path"]).relative_to(out).as_posix() for f in agent_h["excluded"]["training"])
    assert excluded_from == ["builds/full/canonical.jsonl", "builds/react/canonical.jsonl",
                             "pretrain/corpus.jsonl"]
    calls = [json.loads(line) for line in (out / "benchmarks" / "held_out" / "calls.jsonl").read_text().splitlines()]
    assert calls and all(c["id"].removeprefix("held-out/") in {t["id"] for t in held} for c in calls)


def test_rerun_skips_every_unit_and_leaves_the_report_as_it_was(small_grid: tuple[Path, Path]) -> None:
    experiment, out = small_grid
    before = {name: p.read_bytes() for name, p in _files(out).items() if name.startswith("report")}
    timings = (out / "timings.jsonl").read_text()
    done = run(experiment, out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "timings.jsonl").read_text() == timings  # nothing ran
    assert {name: p.read_bytes() for name, p in _files(out).items() if name.startswith("report")} == before


def test_a_changed_setting_redoes_only_what_depends_on_it(small_grid: tuple[Path, Path], tmp_path: Path) -> None:
    experiment, out = small_grid
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)  # keys name DIR's own files relative to it: a moved folder resumes too
    done = run(experiment, moved, "--set", "benchmarks.max_new_tokens=6")
    assert done.returncode == 0, done.stderr[-2000:]
    redone = [json.loads(line)["unit"] for line in (moved / "timings.jsonl").read_text().splitlines()]
    redone = redone[len((out / "timings.jsonl").read_text().splitlines()):]
    assert sorted(redone) == sorted(["eval/base", *(f"eval/{v}/seed{s}" for v, s in CELLS), "report"])


def test_killed_experiment_resumes_to_the_same_files(small_grid: tuple[Path, Path], tmp_path: Path) -> None:
    experiment, reference = small_grid
    out = tmp_path / "killed"
    proc = subprocess.Popen(command(experiment, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    mid_cell = out / "cells" / "full" / "seed0" / "train" / "metrics.jsonl"  # a later cell, mid-training
    deadline = time.monotonic() + 300
    while not mid_cell.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the experiment finished before it could be killed"
    finished_before = set(units_of(out))
    assert "train.react.seed1" in finished_before and "train.full.seed0" not in finished_before
    assert not (out / "report.md").exists()

    done = run(experiment, out)
    assert done.returncode == 0, done.stderr[-2000:]
    ran = [json.loads(line)["unit"].replace("/", ".") for line in (out / "timings.jsonl").read_text().splitlines()]
    assert len(ran) == len(set(ran))  # no finished unit was done twice
    assert set(units_of(out)) == set(units_of(reference))

    ours, theirs = _files(out), _files(reference)
    assert set(ours) == set(theirs)
    # Every differing file is named at once, so that a failure shows where it began (a cell's metrics.jsonl
    # or weights before the report that is made from them).
    different = [name for name in ours
                 if _comparable(ours[name], out) != _comparable(theirs[name], reference)]
    assert different == []
    for name in ("report.md", "report.html", "report.json", "figures/hallucination.png"):
        assert ours[name].read_bytes() == theirs[name].read_bytes(), name


def test_lora_cells_are_evaluated_from_their_adapters(tmp_path: Path, real_data: Path) -> None:
    """As in the GPU preset: LoRA cells (pretraining still trains every weight), evaluated through their
    adapter folders."""
    experiment = write_experiment(
        tmp_path / "spec", only=["full"], seeds=[0],
        train={"config": "train.yaml", "set": ["lora.r=4", "lora.alpha=8", "lora.target_modules=[q_proj,v_proj]"]})
    out = tmp_path / "out"
    done = run(experiment, out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "pretrain" / "train" / "model" / "model.safetensors").exists()
    model = out / "cells" / "full" / "seed0" / "train" / "model"
    assert (model / "adapter_config.json").exists() and not (model / "model.safetensors").exists()
    metrics = json.loads((out / "cells" / "full" / "seed0" / "eval" / "metrics.json").read_text())
    assert metrics["agent_h"]["n"] > 0 and metrics["errors"] == 0
    assert metrics["held_out_loss"]["general"]["loss"] is not None
