"""Format-following samples: the target is exactly the requested shape of a real call."""

from __future__ import annotations

import json
import re

from construct_fixtures import agent_traj

from agentflan.callsyntax import parse_react
from agentflan.construct import instruct
from agentflan.schema import Message, Trajectory


def _sources(n: int) -> list[instruct.CallSource]:
    return [s for i in range(n) if (s := instruct.first_call(f"k{i}", agent_traj(i))) is not None]


def test_first_call_needs_a_declared_tool_and_a_query() -> None:
    src = instruct.first_call("k", agent_traj(1))
    assert src is not None and src.call.name == "get_weather" and src.query.startswith("What is the weather")
    undeclared = agent_traj(1).model_copy(update={"tools": []})
    assert instruct.first_call("k", undeclared) is None
    env = agent_traj(1).model_copy(update={"metadata": {"tools_synthesized": True}})
    assert instruct.first_call("k", env) is None


def test_json_sample_uses_the_key_names_it_asks_for() -> None:
    for src in _sources(12):
        sample = instruct.make_sample(src, "json", seed=0)
        ask = sample.messages[1].content
        nk, ak = re.findall(r'"(\w+)" for', ask)
        target = json.loads(sample.messages[2].content)
        assert target == {nk: src.call.name, ak: src.call.arguments}
        assert sample.messages[2].parts[0].capability == "instruction_following"
        assert sample.metadata["kind"] == "instruct" and sample.tools[0].name == src.call.name


def test_key_names_vary() -> None:
    keys = {tuple(json.loads(instruct.make_sample(s, "json", seed=0).messages[2].content)) for s in _sources(20)}
    assert len(keys) >= 4


def test_react_sample_parses_back_to_the_call() -> None:
    src = _sources(1)[0]
    step = parse_react(instruct.make_sample(src, "react", seed=0).messages[2].content)
    assert step.action == src.call.name and json.loads(step.action_input) == src.call.arguments
    assert step.thought == src.thought


def test_react_sample_without_a_thought_does_not_ask_for_one() -> None:
    traj = Trajectory.model_validate({**agent_traj(2).to_dict()})
    msgs = list(traj.messages)
    msgs[1] = Message(role="assistant", tool_calls=msgs[1].tool_calls)
    src = instruct.first_call("k", traj.model_copy(update={"messages": msgs}))
    sample = instruct.make_sample(src, "react", seed=0)
    assert "Thought" not in sample.messages[1].content and sample.messages[2].content.startswith("Action: ")


def test_template_sample_fills_the_described_template() -> None:
    for src in _sources(10):
        sample = instruct.make_sample(src, "template", seed=3)
        shown = re.search(r"form `([^`]+)`", sample.messages[1].content).group(1)
        expected = shown.replace("NAME", src.call.name).replace("ARGS", json.dumps(src.call.arguments))
        assert sample.messages[2].content == expected


def test_make_samples_count_formats_and_determinism() -> None:
    sources = _sources(9)
    made = instruct.make_samples(sources, 6, ["json", "react", "template"], seed=0)
    assert len(made) == 6 and len({m.id for m in made}) == 6
    assert sorted(m.metadata["instruct_format"] for m in made) == ["json"] * 2 + ["react"] * 2 + ["template"] * 2
    assert made == instruct.make_samples(list(reversed(sources)), 6, ["json", "react", "template"], seed=0)
    assert len(instruct.make_samples(sources, 50, ["json"], seed=0)) == len(sources)


def test_sequences_sharing_a_first_call_give_one_sample() -> None:
    from agentflan.construct.instruct import CallSource, make_samples
    from agentflan.schema import Message, Tool, ToolCall, Trajectory

    tool = Tool(name="f", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})
    call = ToolCall(name="f", arguments={"a": 1})
    traj = Trajectory(id="t", tools=[tool], messages=[Message(role="user", content="q"),
                                                      Message(role="assistant", tool_calls=[call])])
    sources = [CallSource(f"k{i}", "q", call, "", traj) for i in range(4)]
    other = CallSource("k9", "q", ToolCall(name="f", arguments={"a": 2}), "", traj)
    samples = make_samples([*sources, other], count=5, formats=["json"], seed=0)
    assert len(samples) == 2
    assert len({s.messages[-1].content for s in samples}) == 2
