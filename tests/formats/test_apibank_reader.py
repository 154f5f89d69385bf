"""API-Bank dialogues (one file = one dialogue), on hand-written fixtures in the corpus's folder layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

ROOT = Path(__file__).parent / "fixtures" / "fc" / "apibank"


def _one(relative: str) -> Trajectory | Reject:
    out = list(read_file(ROOT / relative))
    assert len(out) == 1  # a file is one record, whatever happens
    return out[0]


def test_toolsearcher_dialogue_uses_retrieved_descriptions() -> None:
    t = _one("level-2-toolsearcher/OrderPizza-level-3-1.jsonl")
    assert isinstance(t, Trajectory)
    assert t.id == "OrderPizza-level-3-1:0"
    assert t.provenance is not None and t.provenance.format == "apibank"
    assert [m.role for m in t.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert t.messages[1].content == "Let me find a tool."  # the AI's words carry the call after them
    assert [c.name for c in t.messages[1].tool_calls] == ["ToolSearcher"]
    pizza = {tool.name: tool for tool in t.tools}["OrderPizza"]
    assert pizza.description == "Order a pizza."
    assert pizza.parameters["properties"]["count"]["type"] == "integer"
    assert t.metadata["tools_synthesized"] == ["ToolSearcher"]
    assert t.metadata["apibank"] == {"split": "level-2-toolsearcher"}
    assert json.loads(t.messages[2].content)["name"] == "OrderPizza"
    # param_dict keeps what the model wrote ("2"), so the schema check flags it rather than hiding it.
    assert t.messages[3].tool_calls[0].arguments == {"size": "large", "count": "2"}
    assert [f.code for f in t.flags] == ["args_schema"]


def test_level1_takes_descriptions_from_sibling_folder_and_synthesizes_the_rest() -> None:
    t = _one("level-1-given-desc/OrderPizza-Weather-level-1-1.jsonl")
    assert isinstance(t, Trajectory)
    tools = {tool.name: tool for tool in t.tools}
    assert tools["OrderPizza"].description == "Order a pizza."
    assert tools["Weather"].parameters == {"type": "object", "properties": {"city": {"type": "string"}}}
    assert t.metadata["tools_synthesized"] == ["Weather"]
    assert t.messages[1].role == "assistant" and t.messages[1].content == ""  # call straight after the user
    assert t.messages[3].tool_calls[0].arguments == {"city": "Oslo"}  # JSON-string param_dict decoded
    assert json.loads(t.messages[4].content) == {"output": None, "exception": "service down"}
    assert t.flags == []


@pytest.mark.parametrize(("name", "reason"), [
    ("BadLine-level-1-1.jsonl", "truncated_json"),
    ("BadRole-level-1-1.jsonl", "invalid_role"),
    ("NoName-level-1-1.jsonl", "missing_field"),
    ("BadArgs-level-1-1.jsonl", "args_not_json"),
    ("Latin1-level-1-1.jsonl", "invalid_utf8"),
])
def test_defective_dialogues_are_one_reject_each(name: str, reason: str) -> None:
    stats = InputStats(name, "-")
    out = list(read_file(ROOT / "level-1-given-desc" / name, "auto", stats))
    assert [r.reason for r in out if isinstance(r, Reject)] == [reason]
    assert (stats.read, stats.rejected) == (1, 1)


def test_empty_dialogue_file_is_one_reject(tmp_path: Path) -> None:
    # Made here, not committed: an empty fixture has the same bytes as the empty upstream API-Bank file.
    empty = tmp_path / "Empty-level-1-1.jsonl"
    empty.write_bytes(b"")
    stats = InputStats(str(empty), "-")
    out = list(read_file(empty, "auto", stats))
    assert [r.reason for r in out if isinstance(r, Reject)] == ["empty_file"]
    assert (stats.read, stats.rejected) == (1, 1)


def test_defect_names_the_turn() -> None:
    rej = _one("level-1-given-desc/NoName-level-1-1.jsonl")
    assert isinstance(rej, Reject) and rej.field == "turns.1.api_name"
