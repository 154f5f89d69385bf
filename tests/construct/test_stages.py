"""Each stage of `agentflan build` alone, on a state holding what the stages before it produce: what it adds,
what it leaves out, and its counts in ``state.stages``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from construct_fixtures import POOL_TOOLS, agent_traj, recipe_dict

from agentflan.config import load_config
from agentflan.construct import stages
from agentflan.construct.build import build, prepare
from agentflan.construct.recipe import Recipe
from agentflan.pipeline.inputs import Inputs
from agentflan.schema import Message, Trajectory
from agentflan.tokens import token_counter


def _recipe(tmp_path: Path, **overrides: object) -> Recipe:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe_dict(**overrides)))
    return load_config(path, Recipe)


def _state(recipe: Recipe, agent: int = 8, general: int = 6, pool: bool = True) -> stages.BuildState:
    """A state as `read` leaves it: accepted items by role, no input files."""
    count, _ = token_counter(None)
    state = stages.BuildState(recipe, Inputs(), [], count)
    state.items["agent"] = [stages.Item(f"agent/t{i}", agent_traj(i), "agent.jsonl") for i in range(agent)]
    state.items["general"] = [
        stages.Item(f"general/g{i}", Trajectory(id=f"g{i}", messages=[
            Message(role="user", content=f"Write a short poem about the number {i}."),
            Message(role="assistant", content=f"Number {i}, so round and true.")]), "general.jsonl")
        for i in range(general)]
    if pool:
        state.items["tool_pool"] = [stages.Item("pool/p", Trajectory(id="p", tools=POOL_TOOLS, messages=[
            Message(role="user", content="hi")]), "pool.jsonl")]
    return state


def test_read_keys_labels_and_leaves_out_what_the_recipe_drops(data_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, agent={"inputs": [{"path": "agent/agent.jsonl", "format": "canonical",
                                                  "name": "agent", "cap": 10}]})
    plan = prepare(recipe)
    state = stages.BuildState(recipe, plan.inputs, plan.specs, plan.count)
    stages.read(state)
    assert len(state.items["agent"]) == 10 and all(it.key.startswith("agent/") for it in state.items["agent"])
    assert all(it.traj.metadata["source"] == "agent" for it in state.items["agent"])
    counts = state.stages["read"]
    assert (counts["read"], counts["rejected"], counts["left_out"]) == (24 + 1 + 30 + 3, 0, {"over_cap": 14})
    assert sum(1 for row in state.ledger.left_out() if row[2] == "over_cap") == 14


def test_mask_is_off_unless_asked_and_masks_an_exact_share(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path))
    stages.mask(state)
    assert state.masked == {} and state.stages["mask"] == {"eligible": 0, "masked": 0}
    state = _state(_recipe(tmp_path, masking={"fraction": 0.5}))
    stages.mask(state)
    assert state.stages["mask"] == {"eligible": 8, "masked": 4} and len(state.masked) == 4
    masked = next(iter(state.masked.values())).traj
    assert all(t.name.startswith("fn_") for t in masked.tools)


def test_align_renders_every_agent_item_once(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path, alignment={"react_fraction": 0.25}))
    stages.align(state)
    assert state.stages["align"] == {"chat": 6, "react": 2, "left_out": 0}
    assert sorted(t.metadata["kind"] for t in state.records) == ["agent"] * 6 + ["react"] * 2
    assert stages.used_by_path(state)["agent.jsonl"] == 8 and state.ledger.used == 8


def test_instruct_makes_grounded_samples_from_first_calls(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path, instruct={"count": 3}))
    stages.instruct(state)
    assert state.stages["instruct"] == {"candidates": 8, "made": 3}
    assert [t.metadata["kind"] for t in state.records] == ["instruct"] * 3
    assert state.report["instruct"]["made"] == 3


def test_negatives_make_what_the_recipe_asks(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path))
    stages.align(state)
    stages.negatives(state)
    made = state.report["negatives"]
    assert made == {"tools_given_no_need": 3, "no_tools_needs_tool": 3, "irrelevant_tools_needs_tool": 3,
                    "missing_argument": 3, "distractor_tools": 2}
    assert state.stages["negatives"] == {"made": 14, "requested": 14}
    assert sum(t.metadata.get("kind") == "negative" for t in state.records) == 14


def test_general_mixes_at_the_ratio_of_the_agent_side(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path))
    stages.align(state)  # 8 agent-side records; ratio 0.5 → 4 general
    stages.general(state)
    assert state.agent_side == 8 and state.stages["general"] == {"wanted": 4, "made": 4}
    assert sum(t.metadata.get("kind") == "general" for t in state.records) == 4


def test_balance_masks_supervised_tokens_and_orders_by_seed(tmp_path: Path) -> None:
    state = _state(_recipe(tmp_path))
    stages.align(state)
    ids_before = [t.id for t in state.records]
    stages.balance(state)
    report = state.report["capability_balance"]
    assert report["after"]["retrieval"] < report["before"]["retrieval"]
    assert sorted(t.id for t in state.records) == sorted(ids_before)
    assert state.stages["balance"]["records"] == 8


def test_the_recipe_reports_every_stage(data_dir: Path, tmp_path: Path) -> None:
    manifest = build(_recipe(tmp_path), tmp_path / "out", show_progress=False)
    assert list(manifest["stages"]) == ["read", "mask", "align", "instruct", "negatives", "general", "balance",
                                        "export"]
    s = manifest["stages"]
    assert s["align"]["chat"] + s["align"]["react"] + s["instruct"]["made"] + s["negatives"]["made"] \
        + s["general"]["made"] == manifest["records"] == s["export"]["records"]


@pytest.mark.parametrize("stage", ["mask", "align", "instruct", "negatives", "general", "balance"])
def test_a_stage_on_an_empty_state_adds_nothing(tmp_path: Path, stage: str) -> None:
    state = _state(_recipe(tmp_path, negatives={"counts": {}}), agent=0, general=0, pool=False)
    getattr(stages, stage)(state)
    assert state.records == [] and stage in state.stages
