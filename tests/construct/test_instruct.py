"""Format-following samples: the target is exactly the requested shape of a real call, the prompt is the context
the call was made in, and every argument value of the target is grounded in that prompt."""

from __future__ import annotations

import json
import re

from construct_fixtures import WEATHER, agent_traj

from agentflan.callsyntax import parse_react
from agentflan.construct import grounding, instruct
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory


def _sources(n: int) -> list[instruct.CallSource]:
    return [s for i in range(n) if (s := instruct.first_call(f"k{i}", agent_traj(i))) is not None]


def _conversation(call_args: dict, turns: list[tuple[str, str]]) -> Trajectory:
    """A conversation whose call comes after ``turns`` (role, text) of talk."""
    messages = [Message(role=role, content=text) for role, text in turns]
    messages += [Message(role="assistant", tool_calls=[ToolCall(id="c", name="get_weather", arguments=call_args)]),
                 Message(role="tool", content="{}", tool_call_id="c", name="get_weather"),
                 Message(role="assistant", content="Done.")]
    return Trajectory(id="conv", tools=[WEATHER], messages=messages)


def test_first_call_needs_a_declared_tool_and_a_query() -> None:
    src = instruct.first_call("k", agent_traj(1))
    assert src is not None and src.call.name == "get_weather" and src.query.startswith("What is the weather")
    undeclared = agent_traj(1).model_copy(update={"tools": []})
    assert instruct.first_call("k", undeclared) is None
    env = agent_traj(1).model_copy(update={"metadata": {"tools_synthesized": True}})
    assert instruct.first_call("k", env) is None


def test_the_prompt_is_the_whole_exchange_before_the_call() -> None:
    traj = _conversation({"city": "Oslo"}, [("user", "Can you check the weather for me?"),
                                            ("assistant", "Sure, which city?"), ("user", "Oslo, please.")])
    src = instruct.first_call("k", traj)
    assert src is not None and [m.role for m in src.history] == ["user", "assistant", "user"]
    sample = instruct.make_sample(src, "json", seed=0)
    roles = [m.role for m in sample.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert sample.messages[3].content.startswith("Oslo, please.")  # the format request follows the last turn
    assert sample.messages[2].loss is False  # earlier replies are context, not targets
    assert grounding.check(sample)[1] == []


def test_calls_with_invented_values_are_not_used() -> None:
    # "delete my account" → {"username": "user1"}: the value is nowhere in the conversation.
    invented = _conversation({"city": "Springfield"}, [("user", "What's the weather like?")])
    grounded = _conversation({"city": "Oslo"}, [("user", "What's the weather like in Oslo?")])
    sources = [s for k, t in (("a", invented), ("b", grounded)) if (s := instruct.first_call(k, t))]
    made, report = instruct.make_samples(sources, 5, ["json"], seed=0)
    assert [m.metadata["from"] for m in made] == ["conv"] and len(made) == 1
    assert "Oslo" in made[0].messages[-1].content
    assert report == {"candidates": 2, "made": 1, "ungrounded": 1, "duplicate": 0, "not_needed": 0}


def test_a_call_after_a_tool_result_is_not_a_source() -> None:
    traj = agent_traj(1)
    late = traj.model_copy(update={"messages": [traj.messages[0], Message(role="tool", content="{}"),
                                                *traj.messages[1:]]})
    assert instruct.first_call("k", late) is None


def test_prompts_of_the_source_are_cleaned_as_in_the_chat_rendering() -> None:
    traj = _conversation({"city": "Oslo"}, [("user", "Weather in Oslo?\nBegin!\n")])
    src = instruct.first_call("k", traj)
    assert src is not None and src.query == "Weather in Oslo?"


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
    made, report = instruct.make_samples(sources, 6, ["json", "react", "template"], seed=0)
    assert len(made) == 6 and len({m.id for m in made}) == 6 and report["made"] == 6
    assert sorted(m.metadata["instruct_format"] for m in made) == ["json"] * 2 + ["react"] * 2 + ["template"] * 2
    assert made == instruct.make_samples(list(reversed(sources)), 6, ["json", "react", "template"], seed=0)[0]
    assert len(instruct.make_samples(sources, 50, ["json"], seed=0)[0]) == len(sources)


def test_sequences_sharing_a_first_call_give_one_sample() -> None:
    tool = Tool(name="f", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})
    history = (Message(role="user", content="Use 1 or 2."),)
    traj = Trajectory(id="t", tools=[tool], messages=[history[0], Message(role="assistant", parts=[
        Part(text="x")], tool_calls=[ToolCall(name="f", arguments={"a": 1})])])
    sources = [instruct.CallSource(f"k{i}", history, ToolCall(name="f", arguments={"a": 1}), "", traj)
               for i in range(4)]
    other = instruct.CallSource("k9", history, ToolCall(name="f", arguments={"a": 2}), "", traj)
    samples, report = instruct.make_samples([*sources, other], count=5, formats=["json"], seed=0)
    assert len(samples) == 2 and report["duplicate"] == 3
    assert len({s.messages[-1].content for s in samples}) == 2
