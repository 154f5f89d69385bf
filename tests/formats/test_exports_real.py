"""The framework exports of `recipes/agent-flan.yaml` on the real corpora: every record in every export, in each
framework's convention (the rules the frameworks apply, restated), tools described once, the masks accounted for.
The frameworks themselves are run by scripts/check_frameworks.sh (docs/ecosystem.md)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from agentflan.config import load_config
from agentflan.construct.build import build
from agentflan.construct.recipe import Recipe


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _listed_twice(system: str, names: list[str]) -> bool:
    return any(f"- `{n}`" in system for n in names)


@pytest.mark.integration
def test_every_export_holds_every_record_in_its_frameworks_convention(real_data: Path, tmp_path: Path) -> None:
    m = build(load_config(Path("recipes/agent-flan.yaml"), Recipe), tmp_path, show_progress=False)
    outputs = {o["path"]: o for o in m["outputs"]}
    assert m["export_rejected"] == {}
    for name in ("agentflan", "openai", "sharegpt", "hermes", "swift", "trl"):
        assert outputs[f"{name}.jsonl"]["records"] == m["records"], name
    canonical = {r["id"]: r for r in _rows(tmp_path / "canonical.jsonl")}

    # XTuner's openai_map_fn: no glued user turns, no assistant round without a user turn before it.
    for row in _rows(tmp_path / "agentflan.jsonl"):
        roles = [t["role"] for t in row["messages"]]
        assert not any(a == b != "system" for a, b in itertools.pairwise(roles)), row["id"]

    # LLaMA-Factory: human/observation on odd turns, gpt/function_call on even ones, even length.
    for row in _rows(tmp_path / "sharegpt.jsonl"):
        tags = [t["from"] for t in row["conversations"]]
        assert len(tags) % 2 == 0 and all(t in (("human", "observation"), ("gpt", "function_call"))[i % 2]
                                          for i, t in enumerate(tags)), row["id"]
        names = [t["name"] for t in json.loads(row["tools"])] if row["tools"] else []
        assert not _listed_twice(row["system"], names), row["id"]

    # ms-swift: a user turn never follows a result or a user turn; tools in `tools` only.
    for row in _rows(tmp_path / "swift.jsonl"):
        roles = [t["role"] for t in row["messages"]]
        assert not any(b == "user" and a in ("user", "tool_response") for a, b in itertools.pairwise(roles))
        names = [t["function"]["name"] for t in json.loads(row["tools"])] if row["tools"] else []
        assert not _listed_twice(row["messages"][0]["content"], names), row["id"]

    # TRL: the template renders `tools`; the system text no longer lists them.
    for row in _rows(tmp_path / "trl.jsonl"):
        names = [t["function"]["name"] for t in row["tools"]]
        system = row["messages"][0]["content"] if row["messages"][0]["role"] == "system" else ""
        assert not _listed_twice(system, names), row["id"]
        if canonical[row["id"]].get("metadata", {}).get("kind") == "agent" and names:
            assert canonical[row["id"]]["messages"][0]["content"] != system  # the description was cut

    # The manifest accounts for the masks: none lost where every part is held, all where none is.
    masks = {o["format"]: o["masks"] for o in m["outputs"] if "masks" in o}
    assert masks["sharegpt"]["masked_spans_trained"] == masks["sharegpt"]["masked_spans"] > 0
    assert 0 < masks["swift"]["masked_spans_trained"] < masks["agentflan"]["masked_spans_trained"]
