"""The generic ReAct reader, `render_react` on trajectories of any origin, and the writer/reader round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan import formats
from agentflan.callsyntax import react_sections
from agentflan.files import sha256_file
from agentflan.formats.base import RecordContext
from agentflan.formats.react import parse_turn, read, render_react, split_assistant, write
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory
from strategies import json_values, tool_names, trajectories

FIXTURES = Path(__file__).parent / "fixtures" / "react_family"
CTX = RecordContext(path="mem.jsonl", index=0, format="react")


def read_all(path: Path, fmt: str = "auto") -> tuple[list[Trajectory], list[Reject], InputStats]:
    stats = InputStats(str(path), sha256_file(path))
    items = list(read_file(path, fmt, stats))
    return ([t for t in items if isinstance(t, Trajectory)], [r for r in items if isinstance(r, Reject)], stats)


def test_fireact_bracket_actions() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "fireact.jsonl")
    assert stats.format == "react" and not rejects and len(trajs) == 2
    t = trajs[0]
    assert t.metadata == {"react_style": "bracket", "tools_synthesized": [tool.name for tool in t.tools],
                          "environment_actions": True}
    assert [(c.name, c.arguments) for _, c in t.calls()] == [("search", {"query": "Nile"}),
                                                            ("search", {"query": "Rhine"})]
    assert [tool.name for tool in t.tools] == ["search"]
    assert [m.role for m in t.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant", "user"]
    assert t.messages[2].content == "The Nile is about 6,650 km long." and t.messages[2].tool_call_id == "call_0"
    assert split_assistant(t.messages[5]) == ("The Nile is longer.", "the Nile")
    assert t.messages[6].metadata == {"observation": True}  # "Episode finished" after the answer: kept
    assert t.id == "fireact:0"
    # Rendering gives every turn back, including the space before a line break in the second thought.
    source = [json.loads(line) for line in (FIXTURES / "fireact.jsonl").read_text().splitlines()]
    for traj, record in zip(trajs, source, strict=True):
        rendered = [m for m in render_react(traj).messages if m.role != "system"]
        assert [m.content for m in rendered] == [m["content"] for m in record["messages"]]


def test_json_action_input_and_final_answer() -> None:
    trajs, rejects, _ = read_all(FIXTURES / "react_json.jsonl")
    assert not rejects
    t = trajs[0]
    assert t.id == "j1" and t.metadata["react_style"] == "json"
    assert [(c.name, c.arguments) for _, c in t.calls()] == [("weather", {"city": "Paris"})]
    assert split_assistant(t.messages[-1]) == ("I know it now.", "It is 21 °C in Paris.")
    assert t.tools[0].parameters == {"type": "object", "properties": {"city": {"type": "string"}},
                                     "required": ["city"]}


def test_text_before_the_thought_is_kept() -> None:
    turn = parse_turn("Let me see.\nThought: search first\nAction: search[x]")
    assert turn.thought == "Let me see.\nsearch first" and turn.call.arguments == {"query": "x"}


def test_repeated_thought_lines_are_one_thought() -> None:
    turn = parse_turn("Thought: It failed before.\n\nThought: try another API\nAction: f\nAction Input: {}")
    assert turn.thought == "It failed before.\n\nThought: try another API" and turn.call.name == "f"


@pytest.mark.parametrize("fixture", ["agentinstruct_domains.json", "toolbench_answer.json", "toolllama.json",
                                     "fireact.jsonl"])
def test_writer_output_of_other_readers_reads_back(fixture: str) -> None:
    trajs, _, _ = read_all(FIXTURES / fixture)
    for t in trajs:
        back = list(read(json.loads(json.dumps(write(t))), CTX))
        assert summary(back[0]) == summary(t)


def test_defects_are_rejected_with_reasons() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "react_defects.jsonl", "react")
    assert len(trajs) == 1 and stats.read == 7 == stats.accepted + stats.rejected
    assert [(r.line, r.reason) for r in rejects] == [
        (1, "unparseable_react"), (2, "args_not_json"), (3, "unparseable_react"), (4, "unparseable_react"),
        (5, "missing_field"), (6, "wrong_type")]
    assert rejects[1].field == "messages[1].content" and "not JSON" in rejects[1].detail
    assert "both an Action and a Final Answer" in rejects[2].detail
    assert "appears twice" in rejects[3].detail
    assert rejects[5].field == "messages[0].content"


def test_detection() -> None:
    fire = json.loads((FIXTURES / "fireact.jsonl").read_text().splitlines()[0])
    assert formats.detect_reader(fire, "f.jsonl").name == "react"
    openai = {"messages": [{"role": "user", "content": "hi"},
                           {"role": "assistant", "content": "Thought: x",
                            "tool_calls": [{"id": "1", "type": "function",
                                            "function": {"name": "f", "arguments": "{}"}}]}],
              "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert formats.reader("react").detect(openai, "o.jsonl") is False
    plain_chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    assert formats.reader("react").detect(plain_chat, "c.jsonl") is False


WEATHER = Tool(name="weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})


def test_render_labels_every_part() -> None:
    t = Trajectory(id="t", tools=[WEATHER], messages=[
        Message(role="user", content="Weather?"),
        Message(role="assistant", content="Need data.", tool_calls=[ToolCall(id="c", name="weather",
                                                                             arguments={"city": "Paris"})]),
        Message(role="tool", content="21", tool_call_id="c"),
        Message(role="assistant", content="21 °C."),
    ])
    r = render_react(t)
    assert r.messages[0].role == "system" and '- {"name": "weather"' in r.messages[0].content
    step = r.messages[2]
    assert [(p.capability, p.text) for p in step.parts] == [
        ("instruction_following", "Thought: "), ("reasoning", "Need data."),
        ("instruction_following", "\nAction: "), ("retrieval", "weather"),
        ("instruction_following", '\nAction Input: {"city": '), ("understanding", '"Paris"'),
        ("instruction_following", "}")]
    assert r.messages[3].role == "user" and r.messages[3].content == "Observation: 21"
    assert [(p.capability, p.text) for p in r.messages[4].parts] == [
        ("instruction_following", "Final Answer: "), ("answer", "21 °C.")]
    assert r.metadata["rendering"] == "react" and not any(m.tool_calls for m in r.messages)


def test_render_parallel_calls_pairs_each_with_its_result() -> None:
    t = Trajectory(id="p", tools=[WEATHER], messages=[
        Message(role="user", content="Paris and Rome?"),
        Message(role="assistant", tool_calls=[ToolCall(id="a", name="weather", arguments={"city": "Paris"}),
                                              ToolCall(id="b", name="weather", arguments={"city": "Rome"})]),
        Message(role="tool", content="R", tool_call_id="b"),
        Message(role="tool", content="P", tool_call_id="a"),
        Message(role="assistant", content="Both mild."),
    ])
    texts = [m.content for m in render_react(t).messages[1:]]
    assert texts == ["Paris and Rome?", 'Action: weather\nAction Input: {"city": "Paris"}', "Observation: P",
                     'Action: weather\nAction Input: {"city": "Rome"}', "Observation: R", "Final Answer: Both mild."]


def test_render_without_tools() -> None:
    t = Trajectory(id="n", messages=[Message(role="user", content="Hi"), Message(role="assistant", content="Hello")])
    r = render_react(t)
    assert "No tools are available" in r.messages[0].content
    assert r.messages[-1].content == "Final Answer: Hello"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trajectories())
def test_render_is_robust_for_any_trajectory(t: Trajectory) -> None:
    r = render_react(t)
    assert not any(m.tool_calls for m in r.messages) and not any(m.role == "tool" for m in r.messages)
    for m in r.messages:
        if m.role == "assistant":
            assert m.parts and all(p.capability for p in m.parts)
    # One rendered step per call, its name labelled as the tool choice (thoughts may hold any text, so the
    # labels are counted rather than the keywords).
    names = [p.text for m in r.messages if m.role == "assistant" for p in m.parts if p.capability == "retrieval"]
    assert names == [c.name for _, c in t.calls()]
    assert sum(1 for m in r.messages if m.metadata.get("observation")) == sum(m.role == "tool" for m in t.messages)


# --- round trip: read(write(t)) keeps thoughts, calls, observations and answers ------------------------------

_SAFE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.just("\n"), min_size=1,
                max_size=30)


def _clean(text: str) -> bool:
    # What ReAct text cannot carry: surrounding blanks, and a line that itself starts with a keyword.
    return text == text.strip() and text != "" and len(react_sections(text)) == 1


react_texts = _SAFE.filter(_clean)


@st.composite
def react_trajectories(draw: st.DrawFn) -> Trajectory:
    names = draw(st.lists(tool_names(), min_size=1, max_size=3, unique=True))
    tools = [Tool(name=n) for n in names]
    messages = [Message(role="user", content=draw(react_texts.filter(lambda s: not s.startswith("Observation:"))))]
    for k in range(draw(st.integers(0, 3))):
        n_calls = draw(st.integers(1, 2))
        thought = draw(st.none() | react_texts)
        call_list = [ToolCall(id=f"c{k}{j}", name=draw(st.sampled_from(names)),
                              arguments=draw(st.dictionaries(st.text(max_size=6), json_values(max_leaves=4),
                                                             max_size=3)))
                     for j in range(n_calls)]
        messages.append(Message(role="assistant", content=thought or "", tool_calls=call_list))
        messages.extend(Message(role="tool", content=draw(st.text(max_size=30)), tool_call_id=c.id)
                        for c in call_list)
    thought = draw(st.none() | react_texts)
    answer = draw(react_texts)
    if thought:
        messages.append(Message(role="assistant", parts=[Part(text=thought, capability="reasoning"),
                                                         Part(text="\n", capability="instruction_following"),
                                                         Part(text=answer, capability="answer")]))
    else:
        messages.append(Message(role="assistant", content=answer))
    return Trajectory(id=draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)), tools=tools, messages=messages)


def summary(t: Trajectory) -> dict[str, Any]:
    thoughts, answers = [], []
    for m in t.messages:
        if m.role == "assistant":
            thought, answer = split_assistant(m)
            thoughts += [thought] if thought else []
            answers += [answer] if answer is not None and not m.tool_calls else []
    return {
        "users": [m.content for m in t.messages if m.role == "user"],
        "thoughts": thoughts,
        "calls": [(c.name, c.arguments) for _, c in t.calls()],
        "observations": [m.content for m in t.messages if m.role == "tool"],
        "answers": answers,
    }


@settings(max_examples=150, deadline=None)
@given(react_trajectories())
def test_write_then_read_keeps_the_trajectory(t: Trajectory) -> None:
    record = write(t)
    assert set(record) == {"id", "messages"} and record["messages"][0]["role"] == "system"
    back = list(read(json.loads(json.dumps(record)), CTX))
    assert len(back) == 1
    assert back[0].id == t.id and [tool.name for tool in back[0].tools] == [tool.name for tool in t.tools]
    assert summary(back[0]) == summary(t)


def test_writer_is_registered() -> None:
    assert formats.writer("react").write is write


# --- real corpora ---------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("name,count", [("hotpotqa", 500), ("multitask", 1344)])
def test_real_fireact(real_file, name: str, count: int) -> None:
    path = real_file(f"FireAct/gpt_format/{name}.jsonl")
    trajs, rejects, stats = read_all(path)
    assert stats.format == "react" and stats.read == count
    assert not rejects, [(r.line, r.reason, r.detail) for r in rejects]
    total = same = 0
    for traj, line in zip(trajs, path.read_text().splitlines(), strict=True):
        source = json.loads(line)["messages"]
        rendered = [m for m in render_react(traj).messages if m.role != "system"]
        assert len(rendered) == len(source)
        for got, want in zip(rendered, source, strict=True):
            total += 1
            same += got.content == want["content"]
    assert same == total  # every assistant and observation turn reproduced
    # And the react writer's output reads back to the same calls and answers.
    for traj in trajs[:100]:
        back = next(iter(read(write(traj), CTX)))
        assert summary(back) == summary(traj)
