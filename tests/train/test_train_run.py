"""`agentflan train` end to end on the tiny model: a shortened tiny-cpu run, LoRA, resume, bad configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.files import sha256_file
from agentflan.schema import CAPABILITIES
from agentflan.train.config import load_train_config
from agentflan.train.metrics import read_metrics

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "train"
runner = CliRunner()

# The tiny-cpu recipe made smaller still, so each run takes seconds.
SMALL = ["model.tiny.vocab_size=512", "model.tiny.hidden_size=48", "model.tiny.intermediate_size=96",
         "model.tiny.tokenizer_samples=120", "labels.max_length=512", "per_device_batch_size=4", "logging_steps=4"]


def run(*args: str) -> object:
    return runner.invoke(app, ["train", *args])


def sets(items: list[str]) -> list[str]:
    return [a for item in items for a in ("--set", item)]


@pytest.mark.slow
def test_tiny_cpu_recipe_shortened(build_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([f"data={build_dir}", f"output_dir={out}", "max_steps=32", *SMALL,
                        "per_device_batch_size=2"]))
    assert result.exit_code == 0, result.output
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "train_runtime" not in r]
    assert [r["step"] for r in rows] == list(range(4, 33, 4))
    summary = json.loads((out / "train_summary.json").read_text())
    present = set(summary["labels"]["supervised_tokens"])
    assert present == set(CAPABILITIES)  # the synthetic corpus exercises every capability
    for cap in present:  # a finite loss for every capability in the data (a window may miss a rare one)
        values = [row[f"loss/{cap}"] for row in rows if f"loss/{cap}" in row]
        assert values and all(math.isfinite(v) for v in values), cap
        assert all(row[f"tokens/{cap}"] > 0 for row in rows if f"loss/{cap}" in row)
    assert all(any(k.startswith("loss/source/") for k in row) for row in rows)
    assert rows[-1]["loss"] < rows[0]["loss"] * 0.8  # it learns
    assert (out / "capability_loss.png").stat().st_size > 10_000
    assert (out / "model" / "config.json").exists() and (out / "model" / "tokenizer_config.json").exists()
    assert summary["labels"]["used"] == 120 and summary["result"]["global_step"] == 32
    # The data step reads through the run layer: the summary names each file read, with its sha256.
    assert summary["command"] == "train" and "agentflan_version" in summary
    canonical = build_dir / "canonical.jsonl"
    assert [(i["path"], i["sha256"]) for i in summary["inputs"]] == [(str(canonical), sha256_file(canonical))]
    assert summary["side_files"] == [] and summary["inputs"][0]["read"] == summary["inputs"][0]["accepted"] + \
        summary["inputs"][0]["rejected"]


@pytest.mark.slow
def test_lora_trains_only_adapters(build_dir: Path, tmp_path: Path):
    out = tmp_path / "lora"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([f"data={build_dir}", f"output_dir={out}", "max_steps=4", *SMALL,
                        "lora.r=4", "lora.alpha=8", "lora.target_modules=[q_proj,v_proj]"]))
    assert result.exit_code == 0, result.output
    adapter = json.loads((out / "model" / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and set(adapter["target_modules"]) == {"q_proj", "v_proj"}
    assert (out / "model" / "adapter_model.safetensors").exists()
    assert not (out / "model" / "model.safetensors").exists()  # only the adapters are saved
    assert all(math.isfinite(r["loss"]) for r in read_metrics(out / "metrics.jsonl") if "loss" in r)


@pytest.mark.slow
def test_resume_from_checkpoint_continues_the_run(build_dir: Path, tmp_path: Path):
    out = tmp_path / "resume"
    common = [f"data={build_dir}", f"output_dir={out}", *SMALL, "save_steps=4", "logging_steps=2"]
    first = run(str(RECIPES / "tiny-cpu.yaml"), "-q", *sets([*common, "max_steps=4"]))
    assert first.exit_code == 0, first.output
    assert (out / "checkpoint-4").is_dir()
    tokenizer_before = (out / "tokenizer" / "tokenizer.json").read_bytes()
    second = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([*common, "max_steps=8", "resume_from_checkpoint=true"]))
    assert second.exit_code == 0, second.output
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if "train_runtime" not in r]
    assert steps == [2, 4, 6, 8]  # the first run's steps kept once, the resumed run's appended
    state = json.loads((out / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8
    assert json.loads((out / "train_summary.json").read_text())["resumed_from"].endswith("checkpoint-4")
    assert (out / "tokenizer" / "tokenizer.json").read_bytes() == tokenizer_before


def test_unknown_key_fails_before_loading_a_model(tmp_path: Path, monkeypatch):
    import agentflan.train.trainer as trainer

    monkeypatch.setattr(trainer, "train", lambda *a, **k: pytest.fail("a model run was started"))
    result = run(str(RECIPES / "tiny-cpu.yaml"), "--set", "lerning_rate=1e-4")
    assert result.exit_code == 1
    assert "lerning_rate" in result.output and "unknown key" in result.output
    result = run(str(RECIPES / "tiny-cpu.yaml"), "--set", "model.tiny.num_layers=zero")
    assert result.exit_code == 1 and "model.tiny.num_layers" in result.output


def test_overrides_reach_the_config(tmp_path: Path):
    cfg = load_train_config(RECIPES / "tiny-cpu.yaml", ["max_steps=30", f"output_dir={tmp_path}", "lora.r=8"])
    assert cfg.max_steps == 30 and cfg.output_dir == str(tmp_path) and cfg.lora is not None and cfg.lora.r == 8


def test_data_errors_are_reported(tmp_path: Path):
    empty = tmp_path / "empty_build"
    empty.mkdir()
    result = run(str(RECIPES / "tiny-cpu.yaml"), "--set", f"data={empty}", "--set", f"output_dir={tmp_path}/o")
    assert result.exit_code == 1 and "canonical.jsonl" in result.output


def test_every_recipe_validates():
    for path in sorted(RECIPES.glob("*.yaml")):
        cfg = load_train_config(path)
        assert cfg.output_dir
    paper = load_train_config(RECIPES / "agent-flan-llama2-7b.yaml")
    assert (paper.epochs, paper.lr, paper.scheduler, paper.labels.max_length) == (1, 2e-5, "cosine", 4096)
    assert paper.per_device_batch_size * paper.gradient_accumulation_steps * 16 == 32


def test_help_has_an_example_and_bad_usage_exits_2():
    result = run("--help")
    assert result.exit_code == 0 and "agentflan train recipes/train/tiny-cpu.yaml" in result.output
    assert run("a.yaml", "--bogus").exit_code == 2


def test_recipe_yaml_is_plain_mapping():
    for path in RECIPES.glob("*.yaml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict)


def test_accelerate_configs_load():
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {p.stem: load_config_from_file(str(p)) for p in (RECIPES / "accelerate").glob("*.yaml")}
    assert kinds["zero2"].deepspeed_config["zero_stage"] == 2
    assert kinds["zero3"].deepspeed_config["zero_stage"] == 3
    assert str(kinds["fsdp"].distributed_type) == "DistributedType.FSDP"


def test_unreadable_data_fails_with_rejects_written(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"foo": 1}\nnot json\n', encoding="utf-8")
    out = tmp_path / "out"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q", "--set", f"data={bad}", "--set", f"output_dir={out}")
    assert result.exit_code == 1 and "no usable sample" in result.output
    rows = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2] and all(r["source"] == str(bad) for r in rows)


@pytest.mark.slow
def test_unpacked_with_gradient_checkpointing(build_dir: Path, tmp_path: Path):
    out = tmp_path / "gc"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([f"data={build_dir}", f"output_dir={out}", "max_steps=4", *SMALL, "packing=false",
                        "gradient_checkpointing=true"]))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["rows"] == summary["labels"]["used"] == 120  # one sample per row without packing
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == [4] and math.isfinite(rows[0]["loss"])


@pytest.mark.slow
def test_tensorboard_gets_the_per_capability_losses(build_dir: Path, tmp_path: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([f"data={build_dir}", f"output_dir={out}", "max_steps=8", *SMALL,
                        "report_to=[tensorboard]"]))
    assert result.exit_code == 0, result.output
    events = sorted(out.rglob("events.out.tfevents.*"))
    assert events, f"no TensorBoard event file under {out}"
    scalars: set[str] = set()
    for path in events:
        acc = EventAccumulator(str(path.parent))
        acc.Reload()
        scalars |= set(acc.Tags()["scalars"])
    logged = {k for row in read_metrics(out / "metrics.jsonl") for k in row if k.startswith("loss/")}
    assert logged and {f"train/{k}" for k in logged} <= scalars, sorted(scalars)


@pytest.mark.slow
def test_held_out_samples_get_their_own_per_capability_loss(build_dir: Path, tmp_path: Path):
    out = tmp_path / "eval"
    result = run(str(RECIPES / "tiny-cpu.yaml"), "-q",
                 *sets([f"data={build_dir}", f"output_dir={out}", "max_steps=8", *SMALL,
                        "eval_fraction=0.2", "eval_steps=4"]))
    assert result.exit_code == 0, result.output
    rows = read_metrics(out / "metrics.jsonl")
    train_rows = [r for r in rows if "loss" in r]
    eval_rows = [r for r in rows if "eval_loss" in r]
    assert [r["step"] for r in eval_rows] == [4, 8]
    assert not any(k.startswith("eval_") for r in train_rows for k in r)  # the two never mix
    caps = {k for r in eval_rows for k in r if k.startswith("eval_loss/") and "/source/" not in k}
    assert caps and all(math.isfinite(r[k]) for r in eval_rows for k in caps)
    # The same held-out samples every time: the same token counts at each evaluation.
    tokens = [{k: v for k, v in r.items() if k.startswith("eval_tokens/")} for r in eval_rows]
    assert tokens[0] == tokens[1] and tokens[0]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["held_out_samples"] == 24  # round(0.2 × 120)
    assert (out / "capability_loss.png").stat().st_size > 10_000


def test_held_out_split_is_exact_disjoint_and_order_free(tiny_tokenizer):
    import numpy as np

    from agentflan.train.labels import Example
    from agentflan.train.trainer import split_held_out

    exs = [Example(f"s{i}", "src", np.arange(3), np.zeros(3, dtype=np.int8), None) for i in range(50)]
    train, held = split_held_out(exs, 0.1, seed=0)
    assert len(held) == 5 and len(train) == 45 and not {e.id for e in held} & {e.id for e in train}
    _, held_reversed = split_held_out(exs[::-1], 0.1, seed=0)
    assert {e.id for e in held_reversed} == {e.id for e in held}
    assert {e.id for e in split_held_out(exs, 0.1, seed=1)[1]} != {e.id for e in held}
    assert split_held_out(exs, 0.0, seed=0) == (exs, [])
