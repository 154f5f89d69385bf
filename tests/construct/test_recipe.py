"""Recipe validation: field-named errors before any work; overrides; input resolution."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml
from construct_fixtures import recipe_dict
from hypothesis import given
from hypothesis import strategies as st

from agentflan import bfcldata
from agentflan.config import load_config, validate
from agentflan.construct import inputs
from agentflan.construct.build import build, prepare
from agentflan.construct.recipe import NEGATIVE_KINDS, NegativesSpec, Recipe
from agentflan.errors import ConfigError, UsageError


def _error(data: dict) -> str:
    with pytest.raises(ConfigError) as err:
        validate(Recipe, data, "r.yaml")
    return str(err.value)


def test_shipped_recipes_validate() -> None:
    for name in ("agent-flan", "demo", "react-baseline"):
        recipe = load_config(Path("recipes") / f"{name}.yaml", Recipe)
        assert recipe.name == name


def test_unknown_keys_are_named() -> None:
    assert "agent.inputs.0.cpa: unknown key" in _error(recipe_dict(agent={"inputs": [{"path": "x", "cpa": 3}]}))
    assert "negatives.count: unknown key" in _error(recipe_dict(negatives={"count": {}}))


@pytest.mark.parametrize("override,field", [
    ({"alignment": {"react_fraction": 1.5}}, "alignment.react_fraction"),
    ({"balance": {"weights": {"retrieval": -1}}}, "balance.weights"),
    ({"balance": {"weights": {"reasoning": 0, "retrieval": 0}}}, "balance.weights"),
    ({"balance": {"weights": {"luck": 0.5}}}, "balance.weights"),
    ({"balance": {"target": "kept_fraction", "weights": {"retrieval": 2.0}}}, "balance"),
    ({"general": {"inputs": [{"path": "g"}], "ratio": 1, "eta": 0.2}}, "general"),
    ({"general": {"inputs": [{"path": "g"}]}}, "<root>"),
    ({"general": {"inputs": [{"path": "g"}], "eta": 0}}, "general.eta"),
    ({"negatives": {"counts": {"hallucinate": 3}}}, "negatives.counts"),
    ({"negatives": {"counts": {"missing_argument": -1}}}, "negatives.counts"),
    ({"exports": ["canonical"]}, "<root>"),
    ({"negatives": {"share": 0.02, "counts": {"missing_argument": 1}, "kinds": {"missing_argument": 1}}},
     "negatives"),
    ({"negatives": {"share": 0.02}}, "negatives"),
    ({"negatives": {"kinds": {"missing_argument": 1}}}, "negatives"),
    ({"negatives": {"share": 1.0, "kinds": {"missing_argument": 1}}}, "negatives.share"),
    ({"negatives": {"share": 0.1, "kinds": {"hallucinate": 1}}}, "negatives.kinds"),
])
def test_settings_that_make_no_sense_are_errors_naming_the_field(override: dict, field: str) -> None:
    assert f"  {field}" in _error(recipe_dict(**override))


def test_set_overrides_apply_before_validation(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe_dict()))
    recipe = load_config(path, Recipe, ["seed=7", "alignment.react_fraction=0.5", "balance.mode=weight"])
    assert (recipe.seed, recipe.alignment.react_fraction, recipe.balance.mode) == (7, 0.5, "weight")
    with pytest.raises(ConfigError, match=r"balance\.mode"):
        load_config(path, Recipe, ["balance.mode=sometimes"])


def test_missing_input_fails_before_any_output(data_dir: Path, tmp_path: Path) -> None:
    recipe = validate(Recipe, recipe_dict(general={"inputs": [{"path": "general/nope.jsonl"}], "ratio": 1}), "r")
    with pytest.raises(ConfigError, match=r"general.inputs.0.path: .*nope.jsonl"):
        build(recipe, tmp_path / "out", show_progress=False)
    assert not (tmp_path / "out").exists()


def test_unknown_export_and_duplicate_input_fail_in_prepare(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="exports: unknown format"):
        prepare(validate(Recipe, recipe_dict(exports=["nosuch"]), "r"))
    with pytest.raises(ConfigError, match=r"agent\.inputs\.0\.format: unknown format 'nosuch'"):
        prepare(validate(Recipe, recipe_dict(agent={"inputs": [{"path": "agent/agent.jsonl", "format": "nosuch"}]}),
                         "r"))
    dup = recipe_dict(general={"inputs": [{"path": "agent/agent.jsonl"}], "ratio": 1})
    with pytest.raises(ConfigError, match="already an input"):
        prepare(validate(Recipe, dup, "r"))


def test_glob_and_bundled_inputs_resolve(data_dir: Path) -> None:
    assert [p.name for p in inputs.resolve("general/*.jsonl", data_dir)] == ["general.jsonl", "questions.jsonl"]
    assert inputs.resolve("bundled:demo_agent.jsonl")[0].is_file()
    with pytest.raises(ConfigError, match="matches no file"):
        inputs.resolve("general/*.parquet", data_dir)


def test_bfcl_prefers_the_data_root(tmp_path: Path) -> None:
    local = tmp_path / "root" / "gorilla" / "bfcl_v4" / "BFCL_v4_irrelevance.json"
    local.parent.mkdir(parents=True)
    local.write_text("{}\n")
    assert bfcldata.bfcl_file("BFCL_v4_irrelevance.json", tmp_path / "root", tmp_path / "cache") == local


def test_bfcl_reads_a_cached_wheel(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "bfcl-eval" / bfcldata.BFCL_WHEEL.replace("==", "-")
    (target / "wheel").mkdir(parents=True)
    with zipfile.ZipFile(target / "wheel" / "bfcl_eval-2026.3.23-py3-none-any.whl", "w") as zf:
        zf.writestr("bfcl_eval/data/BFCL_v4_irrelevance.json", '{"id": "irrelevance_0"}\n')
        zf.writestr("bfcl_eval/data/possible_answer/BFCL_v4_simple_python.json", "{}\n")
    path = bfcldata.bfcl_file("BFCL_v4_irrelevance.json", tmp_path / "no-root", tmp_path / "cache")
    assert path.read_text() == '{"id": "irrelevance_0"}\n'
    assert (target / "possible_answer" / "BFCL_v4_simple_python.json").exists()  # layout kept for readers
    with pytest.raises(ConfigError, match="no such file"):
        bfcldata.bfcl_file("BFCL_v4_nothing.json", tmp_path / "no-root", tmp_path / "cache")


def test_bfcl_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def offline(*args: object, **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(args, 1, "", "ERROR: Could not find a version (network unreachable)")

    monkeypatch.setattr(bfcldata.subprocess, "run", offline)
    with pytest.raises(ConfigError, match=r"offline.*AGENTFLAN_DATA"):
        bfcldata.bfcl_file("BFCL_v4_irrelevance.json", tmp_path / "no-root", tmp_path / "cache")


def test_set_reaches_into_lists_of_inputs(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe_dict()))
    recipe = load_config(path, Recipe, ["agent.inputs.0.cap=5", "general.inputs.1.name=mt"])
    assert recipe.agent.inputs[0].cap == 5 and recipe.general.inputs[1].name == "mt"
    with pytest.raises(UsageError, match=r"'3' is not an index of a list of 2"):
        load_config(path, Recipe, ["general.inputs.3.cap=1"])


def test_the_paper_recipe_reads_the_weights_as_kept_fractions_and_sizes_negatives_by_share() -> None:
    recipe = load_config(Path("recipes/agent-flan.yaml"), Recipe)
    assert recipe.balance.target == "kept_fraction" and recipe.agent.finished_only
    assert recipe.negatives.share == 0.022 and not recipe.negatives.counts
    # 761 negatives in the release's 34,442 rows (0.0221, written 0.022): about as many on the same agent side
    wanted = recipe.negatives.wanted(34_442 - 761)
    assert abs(sum(wanted.values()) - 761) <= 0.01 * 761
    assert Recipe.model_fields["balance"].default_factory().target == "kept_fraction"  # the default, too


@given(st.floats(0.0, 0.5), st.integers(0, 5000),
       st.dictionaries(st.sampled_from(NEGATIVE_KINDS), st.floats(0.01, 5.0), min_size=1))
def test_negative_counts_by_share_add_up_and_follow_the_proportions(share: float, agent_side: int,
                                                                   kinds: dict[str, float]) -> None:
    spec = NegativesSpec(share=share, kinds=kinds)
    wanted = spec.wanted(agent_side)
    total = round(share / (1 - share) * agent_side)
    assert sum(wanted.values()) == total and set(wanted) == set(NEGATIVE_KINDS)
    weight = sum(kinds.values())
    for kind in NEGATIVE_KINDS:
        assert abs(wanted[kind] - total * kinds.get(kind, 0) / weight) < 1  # largest remainders: off by < 1
    assert NegativesSpec(counts={"missing_argument": 3}).wanted(agent_side)["missing_argument"] == 3
