"""`recipes/agent-flan.yaml` on the real corpora (AGENTFLAN_DATA): the issue's acceptance checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from construct_fixtures import assert_balanced

from agentflan.config import load_config
from agentflan.construct.build import build
from agentflan.construct.recipe import NEGATIVE_KINDS, Recipe

RECIPE = Path("recipes/agent-flan.yaml")


def _run(out: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    return build(load_config(RECIPE, Recipe, overrides or []), out, show_progress=False)


@pytest.mark.integration
def test_agent_flan_recipe_on_the_real_data(real_data: Path, tmp_path: Path) -> None:
    m = _run(tmp_path / "a")
    recipe = load_config(RECIPE, Recipe)
    assert all(m["negatives"][k] > 0 for k in NEGATIVE_KINDS), m["negatives"]
    assert m["by_kind"]["instruct"] > 0 and set(m["instruct_formats"]) == {"json", "react", "template"}
    assert abs(m["react_fraction"]["actual"] - recipe.alignment.react_fraction) <= 0.02
    cap = m["capability_tokens"]
    assert cap["weights"] == recipe.balance.weights
    assert_balanced(cap)
    assert m["records"] == sum(m["by_kind"].values()) == sum(m["by_source"].values())
    for entry in m["inputs"]:
        assert entry["read"] == entry["used"] + entry["rejected"], entry
    agentinstruct = [e for e in m["inputs"] if e["name"] == "agentinstruct"]
    assert len(agentinstruct) == 6 and all(e["used"] == e["read"] for e in agentinstruct)
    assert any(e["licence"] for e in m["inputs"])

    again = _run(tmp_path / "b")
    assert [o["sha256"] for o in again["outputs"]] == [o["sha256"] for o in m["outputs"]]
    other = _run(tmp_path / "c", ["seed=1"])
    canonical = {o["path"]: o["sha256"] for o in other["outputs"]}["canonical.jsonl"]
    assert canonical != {o["path"]: o["sha256"] for o in m["outputs"]}["canonical.jsonl"]
