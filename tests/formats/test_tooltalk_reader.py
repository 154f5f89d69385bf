"""ToolTalk conversations on hand-written fixtures (one conversation object per file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.pipeline.read import read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

ROOT = Path(__file__).parent / "fixtures" / "fc" / "tooltalk"


def test_apis_become_sequential_calls_before_the_reply() -> None:
    (t,) = read_file(ROOT / "tooltalk" / "FeedCat-0.json")
    assert isinstance(t, Trajectory)
    assert [m.role for m in t.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant", "user"]
    assert t.messages[1].tool_calls[0].arguments == {"grams": 40}
    assert json.loads(t.messages[4].content) == {"response": None, "exception": "bowl full"}
    assert t.messages[5].content == "Fed twice."
    assert t.metadata["tooltalk"]["conversation_id"] == "7"
    assert t.metadata["tooltalk"]["metadata"]["location"] == "Oslo"
    assert t.metadata["tooltalk"]["split"] == "tooltalk"


def test_tools_are_synthesized_from_calls_across_the_corpus_folder() -> None:
    (t,) = read_file(ROOT / "tooltalk" / "FeedCat-0.json")
    tools = {tool.name: tool.parameters for tool in t.tools}
    assert list(tools) == ["FeedCat", "WalkDog"]  # apis_used, in order
    assert tools["FeedCat"] == {"type": "object", "properties": {"grams": {"type": "integer"},
                                                                 "treat": {"type": "string"}}}
    # WalkDog is never called here; its schema comes from the other conversation in the corpus.
    assert tools["WalkDog"] == {"type": "object", "properties": {"minutes": {"type": "string"}}}
    assert t.metadata["tools_synthesized"] == ["FeedCat", "WalkDog"]
    assert t.flags == []


@pytest.mark.parametrize(("name", "reason", "field"), [
    ("BadRole-0.json", "invalid_role", "conversation.1.role"),
    ("NoApiName-0.json", "missing_field", "conversation.1.apis.0.request.api_name"),
    ("BadParams-0.json", "args_not_json", "conversation.1.apis.0.request.parameters"),
    ("WrongType-0.json", "wrong_type", "conversation.0.text"),
    ("Truncated-0.json", "truncated_json", None),
])
def test_defects(name: str, reason: str, field: str | None) -> None:
    (rej,) = read_file(ROOT / "easy" / name, "tooltalk")
    assert isinstance(rej, Reject)
    assert (rej.reason, rej.field) == (reason, field)
