"""LLaMA-Factory ShareGPT: reading, writing with the alternation LLaMA-Factory checks, dataset_info.json."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings

from agentflan.errors import RecordError
from agentflan.formats import reader, writer
from agentflan.formats.base import RecordContext
from agentflan.pipeline.convert import convert
from agentflan.pipeline.read import read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from strategies import chat_trajectories

FIXTURES = Path(__file__).parent / "fixtures" / "fc"
CTX = RecordContext(path="rows.jsonl", index=0, format="sharegpt")


def test_rows_read_and_defects_rejected() -> None:
    out = list(read_file(FIXTURES / "sharegpt_rows.jsonl"))
    good = [t for t in out if isinstance(t, Trajectory)]
    assert [t.id for t in good] == ["sharegpt_rows:0", "plain", "unknown"]
    par = good[0]
    assert par.messages[0] == Message(role="system", content="Be brief.")
    assert [c.arguments for c in par.messages[2].tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert [(m.role, m.content, m.name) for m in par.messages[3:5]] == [("tool", "21", "get_weather"),
                                                                         ("tool", "25", "get_weather")]
    assert par.tools[0].parameters["type"] == "object"  # "dict" normalised
    assert [f.code for f in good[2].flags] == ["unknown_tool"]
    assert [(r.line, r.reason) for r in out if isinstance(r, Reject)] == [
        (3, "invalid_call"), (4, "args_not_json"), (5, "invalid_role"), (6, "wrong_type")]


def _representable(t: Trajectory) -> Trajectory:
    """What ShareGPT carries as it is: text before calls without edge whitespace, no empty system prompt (ids are
    absent already), and no two turns the writer joins (a user turn after a user turn or a result, two texts)."""
    messages = [m.model_copy(update={"content": m.content.strip()}) if m.tool_calls else m for m in t.messages
                if not (m.role == "system" and not m.content)]
    assume(messages)
    pairs = list(itertools.pairwise(messages))
    assume(not any(b.role == "user" and a.role in ("user", "tool") for a, b in pairs))
    assume(not any(a.role == b.role == "assistant" and not a.tool_calls for a, b in pairs))
    assume(not any("<tool_call>" in m.content or "</tool_call>" in m.content for m in messages if m.tool_calls))
    return t.model_copy(update={"messages": messages})


@settings(max_examples=80, deadline=None)
@given(chat_trajectories(with_ids=False).map(_representable))
def test_round_trip_on_what_sharegpt_can_carry(t: Trajectory) -> None:
    try:
        row = writer("sharegpt").write(t)
    except RecordError as err:
        assert err.reason in ("not_alternating", "not_representable")
        assume(False)
    assert reader("sharegpt").detect(row, "x.jsonl")
    (back,) = reader("sharegpt").read(json.loads(json.dumps(row)), CTX)
    kept = list(t.messages)
    while kept[-1].role == "user":
        kept.pop()  # closing user turns are dropped (nothing to supervise)
    assert back.model_copy(update={"provenance": None}) == t.model_copy(update={"messages": kept})


def test_turns_that_break_the_alternation_are_joined() -> None:
    t = Trajectory(id="a", messages=[Message(role="user", content="q"), Message(role="user", content="q2"),
                                     Message(role="assistant", content="a")])
    assert writer("sharegpt").write(t)["conversations"] == [{"from": "human", "value": "q\n\nq2"},
                                                            {"from": "gpt", "value": "a"}]
    # A ToolBench restart prompt: a user turn right after a tool result joins that observation.
    restart = Trajectory(id="r", messages=[
        Message(role="user", content="q"),
        Message(role="assistant", content="I give up.", tool_calls=[ToolCall(name="Finish", arguments={})]),
        Message(role="tool", content="restarting"), Message(role="user", content="Try another way."),
        Message(role="assistant", content="ok")])
    turns = writer("sharegpt").write(restart)["conversations"]
    assert [turn["from"] for turn in turns] == ["human", "function_call", "observation", "gpt"]
    assert turns[2]["value"] == "restarting\n\nTry another way."
    assert turns[1]["value"] == 'I give up.\n<tool_call>{"name": "Finish", "arguments": {}}</tool_call>'
    (back,) = reader("sharegpt").read(writer("sharegpt").write(restart), CTX)
    assert back.messages[1].content == "I give up." and back.messages[1].tool_calls[0].name == "Finish"
    tagged = restart.model_copy(update={"messages": [restart.messages[0], restart.messages[1].model_copy(
        update={"content": "see <tool_call>"}), *restart.messages[2:]]})
    with pytest.raises(RecordError, match="not_representable"):
        writer("sharegpt").write(tagged)


def test_tools_are_described_once() -> None:
    from agentflan.construct.align import render_chat

    t = Trajectory(id="t", tools=[Tool(name="weather", description="Weather.")], messages=[
        Message(role="system", content="Be brief."), Message(role="user", content="Paris?"),
        Message(role="assistant", content="", tool_calls=[ToolCall(name="weather", arguments={"city": "Paris"})]),
        Message(role="tool", content="21"), Message(role="assistant", content="21 °C.")])
    chat = render_chat(t, 0)
    assert "`weather`" in chat.messages[0].content
    row = writer("sharegpt").write(chat)
    assert row["system"] == "Be brief."  # the template renders `tools`
    assert json.loads(row["tools"])[0]["name"] == "weather"
    hermes = writer("hermes").write(chat)["conversations"][0]["value"]
    assert hermes.startswith("Be brief.\n\n") and "`weather`" not in hermes and "<tools>" in hermes


def test_closing_user_turn_dropped_and_broken_alternation_rejected() -> None:
    closing = Trajectory(id="c", messages=[Message(role="user", content="q"), Message(role="assistant", content="a"),
                                           Message(role="user", content="thanks")])
    assert [turn["from"] for turn in writer("sharegpt").write(closing)["conversations"]] == ["human", "gpt"]
    t2 = Trajectory(id="b", messages=[Message(role="user", content="q"), Message(role="system", content="s"),
                                      Message(role="assistant", content="a")])
    with pytest.raises(RecordError, match="not_representable"):
        writer("sharegpt").write(t2)


def test_convert_writes_dataset_info_entry_and_keeps_others(tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text(json.dumps({"other": {"file_name": "o.json"}}))
    result = convert([FIXTURES / "sharegpt_rows.jsonl"], "auto", "sharegpt", tmp_path / "train.jsonl",
                     show_progress=False)
    assert result.manifest["written"] == 3 and result.manifest["rejected"] == 4
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["other"] == {"file_name": "o.json"}
    assert info["train"]["file_name"] == "train.jsonl"
    assert info["train"]["formatting"] == "sharegpt"
    assert info["train"]["columns"] == {"messages": "conversations", "system": "system", "tools": "tools"}
    assert info["train"]["tags"]["function_tag"] == "function_call"
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert json.loads(rows[0]["conversations"][1]["value"])[1] == {"name": "get_weather", "arguments": {"city": "Rome"}}
    assert json.loads(rows[0]["tools"])[0]["name"] == "get_weather"


def test_bad_existing_dataset_info_fails_clearly(tmp_path: Path) -> None:
    from agentflan.errors import AgentflanError
    from agentflan.formats.sharegpt import companion

    (tmp_path / "dataset_info.json").write_text("{broken")
    with pytest.raises(AgentflanError, match=r"dataset_info\.json"):
        companion(tmp_path / "x.jsonl")
