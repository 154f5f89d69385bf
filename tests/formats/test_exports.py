"""The framework exports: tools described once, whole turns, per-message masks for ms-swift, plain conversational
rows for TRL, and the account of the masks each export cannot hold."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings

from agentflan.construct.align import render_chat
from agentflan.formats import writer
from agentflan.formats.exports import MASKS, masks_not_held, merge_turns, tools_described_once
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory
from strategies import trajectories

WEATHER = Tool(name="weather", description="Current weather.",
               parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def _chat() -> Trajectory:
    t = Trajectory(id="t", tools=[WEATHER], messages=[
        Message(role="system", content="Be brief."), Message(role="user", content="Weather in Paris?"),
        Message(role="assistant", content="I need the weather.",
                tool_calls=[ToolCall(name="weather", arguments={"city": "Paris"})]),
        Message(role="tool", content='{"temp": 21}'), Message(role="user", content="And now?"),
        Message(role="assistant", content="21 °C.")])
    return render_chat(t, 0)


def _masked(t: Trajectory) -> Trajectory:
    """The tool choice masked, as balancing does: the elicit part and the call's name."""
    messages = []
    for m in t.messages:
        if m.tool_calls:
            parts = [p.model_copy(update={"loss": False}) if p.capability == "retrieval" else p for p in m.parts or []]
            m = m.model_copy(update={"parts": parts, "tool_calls": [c.model_copy(update={"name_loss": False})
                                                                    for c in m.tool_calls]})
        messages.append(m)
    return t.model_copy(update={"messages": messages})


def test_the_chat_rendering_marks_its_tool_description_and_exports_cut_it() -> None:
    chat = _chat()
    assert "`weather`" in chat.messages[0].content and chat.messages[0].content.endswith("Be brief.")
    once = tools_described_once(chat)
    assert once.messages[0].content == "Be brief." and once.tools == chat.tools
    alone = chat.model_copy(update={"messages": [chat.messages[0].model_copy(update={
        "content": chat.messages[0].content.removesuffix("\n\nBe brief.")}), *chat.messages[1:]]})
    assert tools_described_once(alone).messages[0].role == "user"  # nothing left of the system turn
    react = chat.model_copy(update={"metadata": {**chat.metadata, "rendering": "react"}})
    assert tools_described_once(react).tools == []  # its prompt names the tools: the template must not
    unnamed = Trajectory(id="u", tools=[WEATHER], metadata={"rendering": "react"},
                         messages=[Message(role="user", content="q"), Message(role="assistant", content="a")])
    assert tools_described_once(unnamed).tools == [WEATHER]


def test_merge_turns_joins_with_a_separator_and_keeps_any_loss() -> None:
    turns = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
             {"role": "assistant", "content": "x", "loss": False}, {"role": "assistant", "content": "y", "loss": True}]
    assert merge_turns(turns, lambda a, b: a["role"] == b["role"]) == [
        {"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "x\n\ny", "loss": True}]


def test_swift_rows_keep_each_parts_mask() -> None:
    row = writer("swift").write(_masked(_chat()))
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["system", "user", "assistant", "assistant", "tool_call", "tool_response", "assistant"]
    assert row["messages"][0]["content"] == "Be brief."  # tools in `tools`, rendered by the agent template
    thought, elicit, call = row["messages"][2:5]
    assert (thought["loss"], elicit["loss"], call["loss"]) == (True, False, True)
    assert thought["content"].startswith("I need the weather.") and "`weather`" in elicit["content"]
    assert json.loads(call["content"]) == {"name": "weather", "arguments": {"city": "Paris"}}
    # The user turn after the result cannot be paired by ms-swift: it joins the result, with a blank line.
    assert row["messages"][5]["content"] == '{"temp": 21}\n\nAnd now?'
    assert json.loads(row["tools"])[0]["function"]["name"] == "weather"


def test_trl_rows_are_plain_chat_with_tools_once() -> None:
    row = writer("trl").write(_masked(_chat()))
    assert set(row) == {"id", "messages", "tools"} and row["messages"][0]["content"] == "Be brief."
    assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id", "name"} for m in row["messages"])
    call = row["messages"][2]["tool_calls"][0]
    assert call == {"type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}


def test_masks_not_held_per_granularity() -> None:
    t = _masked(_chat())
    masked = sum(1 for i, m in enumerate(t.messages) if m.role == "assistant"
                 for p in m.segments() if p.text.strip() and not p.loss) + 1  # + the call name
    assert masks_not_held(t, "parts")["masked"] == masked and masks_not_held(t, "parts")["trained"] == 0
    assert masks_not_held(t, "none")["trained"] == masked
    assert masks_not_held(t, "turns")["trained"] == masked  # the turn also holds the supervised thought
    assert masks_not_held(t, "calls")["trained"] == 1  # the name, under the arguments' flag
    assert set(MASKS) >= {"agentflan", "sharegpt", "swift", "trl", "openai", "hermes"}


@settings(max_examples=60, deadline=None)
@given(trajectories())
def test_framework_rows_have_one_type_per_field_and_no_glued_turns(t: Trajectory) -> None:
    swift = json.loads(json.dumps(writer("swift").write(t)))
    assert swift["tools"] is None or isinstance(swift["tools"], str)
    for m in swift["messages"]:
        assert isinstance(m["content"], str) and m["role"] in ("system", "user", "assistant", "tool_call",
                                                                "tool_response")
        assert ("loss" in m) == (m["role"] in ("assistant", "tool_call"))
    assert not any(a["role"] == "user" and b["role"] == "user"
                   for a, b in itertools.pairwise(swift["messages"]))
    trl = json.loads(json.dumps(writer("trl").write(t)))
    assert isinstance(trl["tools"], list) and all(isinstance(m["content"], str) for m in trl["messages"])
    for granularity in ("parts", "calls", "turns", "none"):
        counts = masks_not_held(t, granularity)
        assert 0 <= counts["trained"] <= counts["masked"]
    assert masks_not_held(t, "parts")["trained"] == 0
    assert masks_not_held(t, "none")["trained"] == masks_not_held(t, "none")["masked"]


def test_swift_reply_pieces_concatenate_to_the_reply() -> None:
    parts = [Part(text="Thought one.\n\n", capability="reasoning"),
             Part(text="I'll use `weather`.", capability="retrieval", loss=False)]
    t = Trajectory(id="p", messages=[Message(role="user", content="q"), Message(role="assistant", parts=parts)])
    row = writer("swift").write(t)
    assert "".join(m["content"] for m in row["messages"][1:]) == t.messages[1].content
