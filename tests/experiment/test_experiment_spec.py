"""The experiment file: presets, overrides, paths, and the errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentflan.errors import ConfigError, UsageError
from agentflan.experiment.spec import load, merge

SHIPPED = Path(__file__).resolve().parents[2] / "recipes" / "experiments" / "agent-flan-ablation.yaml"
MAIN = ["react", "chat", "chat+balance", "chat+balance+neg"]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


BASE = {"variants": {"a": {"recipe": "r.yaml"}, "b": {"recipe": "sub/r.yaml", "set": ["seed=1"]}},
        "train": {"config": "t.yaml"}, "budget": {"tokens": 1000},
        "presets": {"small": {"only": ["b"], "seeds": [3, 4], "benchmarks": {"agent_h": {"limit": 5}}}}}


def test_shipped_presets_select_the_rows_the_issue_names() -> None:
    everything = load(SHIPPED)
    assert [v.name for v in everything.selected()] == [*MAIN, "halve-reasoning", "halve-retrieval",
                                                       "halve-understanding", "halve-instruction-following"]
    cpu = load(SHIPPED, "cpu")
    assert [v.name for v in cpu.selected()] == MAIN and len(cpu.seeds) >= 2
    assert cpu.pretrain is not None and cpu.model.name_or_path is None
    assert Path(cpu.train.config).name == "tiny-cpu.yaml" and Path(cpu.train.config).is_file()
    full = load(SHIPPED, "cpu-full")
    assert [v.name for v in full.selected()] == [v.name for v in everything.selected()]
    assert full.budget == cpu.budget and full.pretrain == cpu.pretrain  # the same settings, more rows
    gpu = load(SHIPPED, "gpu", ["model.name_or_path=Qwen/Qwen2.5-7B-Instruct"])
    assert gpu.model.name_or_path == "Qwen/Qwen2.5-7B-Instruct" and gpu.pretrain is None
    assert len(gpu.selected()) == 8
    for spec in (everything, cpu, gpu):
        for v in spec.selected():
            assert Path(v.recipe).is_file(), v.recipe
    assert {v.paper for v in everything.selected()} >= {"agenttuning", "chat-aligned", "agent-flan-wo-ns",
                                                          "agent-flan"}


def test_preset_merges_over_the_file_and_overrides_come_last(tmp_path: Path) -> None:
    spec = load(_write(tmp_path, BASE), "small", ["seeds=[7]", "variants.b.set=[seed=2]"])
    assert [v.name for v in spec.selected()] == ["b"]
    assert spec.seeds == [7] and spec.preset == "small"
    assert spec.benchmarks.agent_h is not None and spec.benchmarks.agent_h.limit == 5
    assert spec.benchmarks.bfcl is not None  # untouched defaults stay
    assert spec.variants["b"].set == ["seed=2"]
    # Paths are relative to the experiment file.
    assert spec.variants["b"].recipe == str((tmp_path / "sub" / "r.yaml").resolve())
    assert spec.train.config == str((tmp_path / "t.yaml").resolve())


def test_merge_keeps_mappings_and_replaces_lists() -> None:
    assert merge({"a": {"x": 1}, "l": [1, 2]}, {"a": {"y": 2}, "l": [3]}) == {"a": {"x": 1, "y": 2}, "l": [3]}


@pytest.mark.parametrize(("change", "field"), [
    ({"only": ["zzz"]}, "only"),
    ({"seeds": [1, 1]}, "seeds"),
    ({"budget": {"tokens": 0}}, "budget.tokens"),
    ({"variants": {"a": {"recipe": "r.yaml", "paper": "nope"}}}, "variants.a.paper"),
    ({"benchmarks": {"bfcl": {"categories": ["multi_turn_base"]}}}, "benchmarks.bfcl.categories"),
    ({"model": {"name_or_path": "x"}, "pretrain": {"corpus": {"recipe": "r.yaml"}, "tokens": 10}}, "pretrain"),
    ({"typo": 1}, "typo"),
    ({"variants": {"a/b": {"recipe": "r.yaml"}}}, "variants"),
])
def test_bad_settings_name_the_field(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, merge(BASE, change)))
    message = str(err.value)
    assert "exp.yaml" in message
    assert field.split(".")[0] in message or field.split(".")[-1] in message


def test_unknown_preset_is_a_usage_error_naming_the_presets(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="has: small"):
        load(_write(tmp_path, BASE), "gpu")
