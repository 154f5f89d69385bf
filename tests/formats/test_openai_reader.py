"""The openai reader on its own fixtures: every defect rejected with a reason, the rest read."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflan.errors import RecordError
from agentflan.formats import reader
from agentflan.formats.base import RecordContext
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

FIXTURES = Path(__file__).parent / "fixtures" / "fc"
CTX = RecordContext(path="x.jsonl", index=3, format="openai", line=4)


def _read(value: dict) -> Trajectory:
    (t,) = reader("openai").read(value, CTX)
    return t


def test_mixed_file_counts_and_reasons() -> None:
    stats = InputStats(str(FIXTURES / "openai_mixed.jsonl"), "-")
    out = list(read_file(FIXTURES / "openai_mixed.jsonl", "auto", stats))
    assert stats.format == "openai"
    good = [t for t in out if isinstance(t, Trajectory)]
    rejects = [r for r in out if isinstance(r, Reject)]
    assert [t.id for t in good] == ["w1", "openai_mixed:1", "u1"]
    assert [(r.line, r.reason) for r in rejects] == [
        (4, "truncated_json"), (5, "args_not_json"), (6, "invalid_role"), (7, "wrong_type"), (8, "missing_field"),
        (9, "unsupported_content"), (10, "invalid_utf8")]
    assert stats.read == len(out) == stats.accepted + stats.rejected
    args_reject = rejects[1]
    assert args_reject.field == "messages.1.tool_calls.0.function.arguments"
    # A call to a tool that is not in the list is kept and flagged.
    assert [f.code for f in good[2].flags] == ["unknown_tool"]
    assert good[0].flags == []


def test_string_arguments_legacy_function_call_and_bare_tools() -> None:
    w1, legacy = [t for t in read_file(FIXTURES / "openai_mixed.jsonl") if isinstance(t, Trajectory)][:2]
    assert w1.messages[2].tool_calls[0].arguments == {"city": "Paris"}
    assert w1.messages[2].content == ""
    assert w1.provenance is not None and w1.provenance.line == 1
    # Legacy: functions (BFCL-style "dict"/"str" normalised), function_call and the function role.
    assert legacy.tools[0].parameters["type"] == "object"
    assert legacy.tools[0].parameters["properties"]["q"]["type"] == "string"
    assert legacy.messages[0].content == "Find agentflan"
    assert legacy.messages[1].tool_calls[0].name == "search"
    assert legacy.messages[1].tool_calls[0].id is None
    assert (legacy.messages[2].role, legacy.messages[2].name) == ("tool", "search")


def test_tools_as_json_string_and_unknown_message_keys_kept() -> None:
    t = _read({"tools": '[{"name": "f", "parameters": {"type": "object", "properties": {}}}]',
               "messages": [{"role": "assistant", "content": "hi", "reasoning_content": "hmm"}]})
    assert t.tools[0].name == "f"
    assert t.messages[0].metadata == {"openai_fields": {"reasoning_content": "hmm"}}
    assert t.id == "x:3"


@pytest.mark.parametrize(("record", "reason", "field"), [
    ({"messages": []}, "empty_conversation", "messages"),
    ({"messages": "hi"}, "wrong_type", "messages"),
    ({"tools": "[not json", "messages": [{"role": "user"}]}, "invalid_json", "tools"),
    ({"tools": [{"description": "no name"}], "messages": [{"role": "user"}]}, "missing_field", "tools.0.name"),
    ({"tools": [{"type": "code_interpreter", "function": {}}], "messages": [{"role": "user"}]},
     "unsupported_tool", "tools.0.type"),
    ({"messages": [{"role": "user", "tool_calls": [{"name": "f"}]}]}, "invalid_field", "messages.0.tool_calls"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1, 2]"}}]}]},
     "args_not_json", "messages.0.tool_calls.0.function.arguments"),
    ({"messages": [{"role": "assistant", "content": "x", "capability": "dancing"}]}, "invalid_field",
     "messages.0.capability"),
    ({"messages": [{"role": "assistant", "content": "x", "parts": [{"text": "y"}]}]}, "invalid_field",
     "messages.0"),
])
def test_defects_name_the_field(record: dict, reason: str, field: str) -> None:
    with pytest.raises(RecordError) as exc:
        _read(record)
    assert (exc.value.reason, exc.value.field) == (reason, field)


def test_empty_file_is_one_reject(tmp_path: Path) -> None:
    # Made here, not committed: an empty fixture has the same bytes as any empty file of the real corpora.
    (tmp_path / "empty.jsonl").write_bytes(b"")
    out = list(read_file(tmp_path / "empty.jsonl", "openai"))
    assert [(type(r), r.reason) for r in out] == [(Reject, "empty_file")]
