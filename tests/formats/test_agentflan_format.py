"""The Agent-FLAN release format: reading release-shaped rows, and writing whole turns that XTuner loads as written."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.formats import detect_reader, reader, writer
from agentflan.formats.base import RecordContext
from agentflan.pipeline.read import read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory
from strategies import texts, trajectories

FIXTURES = Path(__file__).parent / "fixtures" / "fc"
CTX = RecordContext(path="rows.jsonl", index=0, format="agentflan")


def _xtuner_conversation(row: dict) -> list[dict]:
    """XTuner's openai_map_fn rule, restated for the test: system/user/assistant only, consecutive user turns
    concatenated, one output per assistant turn, supervised unless loss is false."""
    out, system, user = [], "", ""
    for msg in row["messages"]:
        assert msg["role"] in ("system", "user", "assistant")
        if msg["role"] == "system":
            system = msg["content"]
        elif msg["role"] == "user":
            user += msg["content"]
        else:
            out.append({"system": system, "input": user, "output": msg["content"],
                        "output_with_loss": str(msg.get("loss", True)).lower() == "true"})
            system = user = ""
    return out


def test_release_rows_read_with_defects_rejected() -> None:
    out = list(read_file(FIXTURES / "agentflan_rows.jsonl"))
    good = [t for t in out if isinstance(t, Trajectory)]
    assert [t.id for t in good] == ["af_0", "af_1"]
    assert [m.loss for m in good[0].messages] == [False, False, True, False, True, False, True]
    assert good[1].messages[1].loss is None and good[1].messages[1].supervised  # omitted → assistant default
    assert good[1].messages[1].metadata == {"type": "chat"}
    assert [(r.line, r.reason, r.field) for r in out if isinstance(r, Reject)] == [
        (3, "invalid_role", "conversation.1.role"), (4, "wrong_type", "conversation.0.loss"),
        (5, "missing_field", "conversation.0.content")]
    assert good[0].provenance is not None and good[0].provenance.format == "agentflan"


def _aligned() -> Trajectory:
    return Trajectory(
        id="t1",
        tools=[Tool(name="weather", description="Current weather.",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})],
        messages=[
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", parts=[Part(text="I need the weather.\n\n", capability="reasoning"),
                                             Part(text="I will use `weather`.", capability="retrieval", loss=False)],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}, arguments_loss=True)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="It is 21 °C.", capability="answer"),
        ],
    )


def test_writer_writes_whole_replies_and_describes_tools() -> None:
    row = writer("agentflan").write(_aligned())
    conv = row["messages"]
    assert row["id"] == "t1" and set(row) == {"id", "messages"}
    assert [(t["role"], t["loss"]) for t in conv] == [
        ("system", False), ("user", False), ("assistant", True), ("user", False), ("assistant", True)]
    assert "`weather`" in conv[0]["content"] and "Current weather." in conv[0]["content"]
    thought, elicit, args = conv[2]["content"].split("\n\n")
    assert (thought, elicit) == ("I need the weather.", "I will use `weather`.")
    assert json.loads(args.removeprefix("```json\n").removesuffix("\n```")) == {"city": "Paris"}
    assert conv[3]["content"] == '{"temp": 21}'
    xt = _xtuner_conversation(row)
    assert [x["output_with_loss"] for x in xt] == [True, True]
    assert xt[0]["input"] == "Weather in Paris?" and "`weather`" in xt[0]["system"]
    assert all(x["input"] for x in xt)  # no round with an empty user turn


def test_unaligned_calls_are_written_as_name_and_arguments_json() -> None:
    t = Trajectory(id="t2", messages=[
        Message(role="system", content="Be brief."),
        Message(role="user", content="2+2?"),
        Message(role="assistant", content="", tool_calls=[ToolCall(name="calc", arguments={"e": "2+2"}),
                                                          ToolCall(name="calc", arguments={"e": "1"}, name_loss=False,
                                                                   arguments_loss=False)]),
        Message(role="tool", content="4"), Message(role="tool", content="1"),
    ])
    conv = writer("agentflan").write(t)["messages"]
    assert conv[0] == {"role": "system", "content": "Be brief.", "loss": False}  # no tools: nothing added
    calls = [json.loads(c.removeprefix("```json\n").removesuffix("\n```"))
             for c in conv[2]["content"].split("\n\n")]
    assert calls == [{"name": "calc", "arguments": {"e": "2+2"}}, {"name": "calc", "arguments": {"e": "1"}}]
    assert conv[2]["loss"] is True  # supervised when any call is
    # Two results in a row are one user turn, joined with a blank line (openai_map_fn would glue them).
    assert conv[3:] == [{"role": "user", "content": "4\n\n1", "loss": False}]


def test_react_reply_is_one_turn() -> None:
    parts = [Part(text="Thought: ", capability="instruction_following"), Part(text="look", capability="reasoning"),
             Part(text="\nAction: ", capability="instruction_following"),
             Part(text="search", capability="retrieval", loss=False), Part(text="[", capability="instruction_following"),
             Part(text="Nile", capability="understanding"), Part(text="]", capability="instruction_following")]
    t = Trajectory(id="r", metadata={"rendering": "react"}, messages=[
        Message(role="user", content="Q"), Message(role="assistant", parts=parts),
        Message(role="user", content="Observation: x"), Message(role="user", content="Try again.")])
    row = writer("agentflan").write(t)
    assert detect_reader(row, "agentflan.jsonl").name == "agentflan"  # not react, whose text it holds
    conv = row["messages"]
    assert conv == [{"role": "user", "content": "Q", "loss": False},
                    {"role": "assistant", "content": "Thought: look\nAction: search[Nile]", "loss": True},
                    {"role": "user", "content": "Observation: x\n\nTry again.", "loss": False}]


@settings(max_examples=40, deadline=None)
@given(trajectories())
def test_writer_output_is_always_xtuner_ready(t: Trajectory) -> None:
    row = json.loads(json.dumps(writer("agentflan").write(t)))
    assert set(row) == {"id", "messages"}
    for turn in row["messages"]:
        assert set(turn) == {"role", "content", "loss"}
        assert turn["role"] in ("system", "user", "assistant") and isinstance(turn["loss"], bool)
    roles = [turn["role"] for turn in row["messages"]]
    assert not any(a == b != "system" for a, b in itertools.pairwise(roles))
    assert reader("agentflan").detect(row, "x.jsonl")
    _xtuner_conversation(row)


_turns = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]),
                                         "content": texts(), "loss": st.booleans()}), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.builds(lambda i, c: {"id": i, "conversation": c}, texts(min_size=1, max_size=10), _turns))
def test_release_rows_survive_read_then_write(row: dict) -> None:
    # Rows in the release's own shape (loss on every turn) come back with the same turns under `messages`,
    # once two user or two assistant turns in a row are one.
    (t,) = reader("agentflan").read(row, CTX)
    out = writer("agentflan").write(t)
    assert out["id"] == row["id"]
    roles = [turn["role"] for turn in row["conversation"]]
    if not any(a == b != "system" for a, b in itertools.pairwise(roles)):
        assert out["messages"] == row["conversation"]
    (again,) = reader("agentflan").read(out, CTX)
    assert writer("agentflan").write(again) == out
