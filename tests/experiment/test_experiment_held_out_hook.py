"""The build hook the experiment relies on: a recipe's ``held_out`` share is kept out of every output and written
to ``held_out.jsonl``, the same records whatever else the recipe says."""

from __future__ import annotations

import json
from pathlib import Path

from agentflan.construct.build import build
from agentflan.construct.recipe import Recipe

AGENT = [{"id": f"a{i}", "tools": [{"name": "lookup", "description": "Look a word up.",
                                   "parameters": {"type": "object", "properties": {"word": {"type": "string"}},
                                                  "required": ["word"]}}],
          "messages": [{"role": "user", "content": f"What does word{i % 12} mean?"},
                       {"role": "assistant", "content": "I should look it up.",
                        "tool_calls": [{"id": "c0", "name": "lookup", "arguments": {"word": f"word{i % 12}"}}]},
                       {"role": "tool", "content": "a meaning", "tool_call_id": "c0", "name": "lookup"},
                       {"role": "assistant", "content": "It means a meaning."}]}
         for i in range(24)]
GENERAL = [{"instruction": f"Say hello number {i}.", "output": f"Hello {i}!"} for i in range(20)]


def _recipe(tmp_path: Path, **extra: object) -> Recipe:
    agent, general = tmp_path / "agent.jsonl", tmp_path / "general.jsonl"
    agent.write_text("".join(json.dumps(r) + "\n" for r in AGENT), encoding="utf-8")
    general.write_text("".join(json.dumps(r) + "\n" for r in GENERAL), encoding="utf-8")
    return Recipe.model_validate({
        "agent": {"inputs": [{"path": str(agent), "format": "canonical", "name": "agent"}]},
        "general": {"inputs": [{"path": str(general), "name": "general"}], "ratio": 1.0},
        "held_out": {"fraction": 0.3, "seed": 5}, **extra})


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_held_out_records_are_written_apart_and_never_trained(tmp_path: Path) -> None:
    manifest = build(_recipe(tmp_path), tmp_path / "out", show_progress=False)
    held = _ids(tmp_path / "out" / "held_out.jsonl")
    assert held and manifest["held_out"]["records"] == len(held)
    trained = (tmp_path / "out" / "canonical.jsonl").read_text(encoding="utf-8")
    held_queries = {json.loads(line)["messages"][0]["content"]
                    for line in (tmp_path / "out" / "held_out.jsonl").read_text(encoding="utf-8").splitlines()}
    assert not any(q in trained for q in held_queries)
    kinds = {json.loads(line)["id"].split("/")[0]: json.loads(line)["metadata"]["kind"]
             for line in (tmp_path / "out" / "held_out.jsonl").read_text(encoding="utf-8").splitlines()}
    assert kinds == {"agent": "agent", "general": "general"}  # the role says how a record is scored
    # Records that ask the same thing fall on the same side of the split.
    agent_held = [h for h in held if h.startswith("agent/")]
    words = {int(h.removeprefix("agent/a")) % 12 for h in agent_held}
    assert len(agent_held) == 2 * len(words)
    # Every record read is used or rejected; the held-out ones are rejects with their own reason.
    for entry in manifest["inputs"]:
        assert entry["read"] == entry["used"] + entry["rejected"]
    assert manifest["rejects_by_reason"]["held_out"] == len(held)


def test_the_split_depends_on_the_queries_and_its_own_seed_only(tmp_path: Path) -> None:
    base = build(_recipe(tmp_path), tmp_path / "a", show_progress=False)
    other = build(_recipe(tmp_path, seed=9, alignment={"react_fraction": 1.0}, balance={"mode": "none"}),
                  tmp_path / "b", show_progress=False)
    assert base["held_out"]["records"] == other["held_out"]["records"]
    assert _ids(tmp_path / "a" / "held_out.jsonl") == _ids(tmp_path / "b" / "held_out.jsonl")
    reseeded = build(_recipe(tmp_path, held_out={"fraction": 0.3, "seed": 6}), tmp_path / "c", show_progress=False)
    assert _ids(tmp_path / "c" / "held_out.jsonl") != _ids(tmp_path / "a" / "held_out.jsonl")
    assert reseeded["held_out"]["seed"] == 6


def test_no_held_out_file_without_a_share(tmp_path: Path) -> None:
    manifest = build(_recipe(tmp_path, held_out={"fraction": 0.0}), tmp_path / "out", show_progress=False)
    assert not (tmp_path / "out" / "held_out.jsonl").exists()
    assert manifest["held_out"]["records"] == 0 and "held_out" not in manifest["rejects_by_reason"]
