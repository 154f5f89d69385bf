"""Alignment: the chat rendering (no format keywords, labelled parts, plain-language tools), the react rendering
through `render_react`, and the exact react share."""

from __future__ import annotations

from collections import Counter

import pytest
from construct_fixtures import agent_traj
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan import phrasing
from agentflan.callsyntax import REACT_KEYWORDS
from agentflan.construct import align, prompts
from agentflan.errors import RecordError
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory


def test_chat_splits_thought_choice_and_arguments() -> None:
    out = align.render_chat(agent_traj(1), seed=0)
    assert out.metadata["kind"] == "agent" and out.metadata["rendering"] == "chat"
    system = out.messages[0]
    assert system.role == "system" and "`get_weather`" in system.content and "required" in system.content
    step = out.messages[2]
    assert [p.capability for p in step.parts] == ["reasoning", "retrieval"]
    assert step.parts[0].text.startswith("I should look this up.")
    assert "get_weather" in step.parts[1].text  # the elicit statement names the tool
    assert step.tool_calls[0].arguments == {"city": "City1"}  # arguments stay a native call (understanding)
    assert out.messages[3].role == "tool"
    assert out.messages[-1].parts[0].capability == "answer"


def test_chat_replaces_a_format_system_prompt_and_keeps_a_plain_one() -> None:
    base = agent_traj(2)
    react_sys = base.model_copy(update={"messages": [Message(role="system", content="Use Thought: and Action: lines"),
                                                     *base.messages]})
    plain_sys = base.model_copy(update={"messages": [Message(role="system", content="The user lives in Oslo."),
                                                     *base.messages]})
    assert "Thought:" not in align.render_chat(react_sys, 0).messages[0].content
    assert "The user lives in Oslo." in align.render_chat(plain_sys, 0).messages[0].content


def test_chat_cleans_toolbench_prompts_and_counts_each_rewrite() -> None:
    """AutoGPT's system prompt, its Finish tool, the "Begin!" after the query and a DFS retry prompt."""
    base = agent_traj(3)
    finish = Tool(name="Finish", description="If you believe that you have obtained a result, call this function. "
                  "Remember: you must ALWAYS call this function at the end of your attempt.")
    autogpt = ("You are AutoGPT, you can use many tools(functions) to do the following task.\nRemember:\n"
               "1.ALWAYS call \"Finish\" function at the end of the task, or Finish->give_up_and_restart.\n"
               "You have access of the following tools:\n1.weather_api: Weather data for cities\n")
    retry = Message(role="user", content="This is not the first time you try this task, all previous trails failed."
                    "\nHere are some previous actions candidates:\n[{\"name\": \"get_weather\"}]")
    messages = [Message(role="system", content=autogpt),
                base.messages[0].model_copy(update={"content": base.messages[0].content + "\nBegin!\n"}),
                *base.messages[1:3], retry, *base.messages[3:]]
    traj = base.model_copy(update={"tools": [*base.tools, finish], "messages": messages})
    rewrites: Counter[str] = Counter()
    out = align.render_chat(traj, 0, rewrites)
    assert rewrites == {"system:autogpt_prompt": 1, "tools:terminal_tool": 1, "user:begin_marker": 1,
                        "user:retry_prompt": 1}
    assert [t.name for t in out.tools] == ["get_weather", "search_flights"]
    system = out.messages[0].content
    assert "AutoGPT" not in system and "Finish" not in system and "- weather_api: Weather data" in system
    assert out.messages[1].content == base.messages[0].content  # "Begin!" gone
    assert not any("previous actions" in m.content for m in out.messages)
    assert prompts.mismatches(out) == []
    assert prompts.mismatches(traj.model_copy(update={"metadata": {"kind": "agent"}})) != []


def test_toolbench_descriptions_read_plainly() -> None:
    tool = Tool(name="latest_for_suivi", description='This is the subfunction for tool "suivi", you can use this '
                'tool.The description of this function is: "Get the latest status of a parcel."')
    assert phrasing.describe_tool(tool) == ("- `latest_for_suivi`: Get the latest status of a parcel (a function of "
                                         "the suivi service). It takes no arguments.")


def test_chat_strips_keywords_from_text_actions_and_answers() -> None:
    # An environment action a reader left as text (WebShop style), then a keyword final answer.
    traj = Trajectory(id="w", messages=[
        Message(role="user", content="Buy a red mug."),
        Message(role="assistant", content="Thought: I should search first.\nAction: search[red mug]"),
        Message(role="user", content="Observation: 3 results"),
        Message(role="assistant", content="Thought: Done.\nFinal Answer: I bought the red mug."),
        Message(role="user", content="Observation: Episode finished"),
    ])
    out = align.render_chat(traj, 0)
    action = out.messages[1] if out.messages[0].role == "user" else out.messages[2]
    assert [p.capability for p in action.parts] == ["reasoning", "retrieval", "understanding"]
    assert action.parts[2].text.strip() == "red mug"
    assert out.messages[-1].role == "assistant"  # trailing environment feedback dropped
    assert [p.capability for p in out.messages[-1].parts] == ["reasoning", "answer"]
    assert out.messages[-1].parts[1].text == "I bought the red mug."
    for m in out.messages:
        if m.role == "assistant":
            assert not any(k in m.content for k in REACT_KEYWORDS), m.content


def test_elicit_phrasings_vary_across_records_and_seeds() -> None:
    texts = {align.render_chat(agent_traj(i), seed=s).messages[2].parts[1].text.replace(f"{i}", "")
             for i in range(20) for s in range(2)}
    assert len(texts) >= 4
    assert align.render_chat(agent_traj(3), 7) == align.render_chat(agent_traj(3), 7)


def test_tools_prompt_lists_actions_when_no_tools_are_declared() -> None:
    text = phrasing.tools_prompt([], 0, "k", ["bash", "bash", "finish"])
    assert "`bash`" in text and "`finish`" in text and text.count("`bash`") == 1


def test_describe_tool_in_plain_language() -> None:
    line = phrasing.describe_tool(Tool(name="f", description="Does f.", parameters={
        "type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "description": "the a"},
                                                             "b": {"type": "string"}}}))
    assert line == "- `f`: Does f. Arguments: `a` (integer, required): the a; `b` (string, optional)."


def test_nothing_to_supervise_is_a_record_error() -> None:
    with pytest.raises(RecordError) as err:
        align.render_chat(Trajectory(id="x", messages=[Message(role="user", content="hi")]), 0)
    assert err.value.reason == "no_assistant_turn"


def test_react_rendering_keeps_keywords_labelled_as_format() -> None:
    out = align.render_react_kind(agent_traj(4))
    assert out.metadata["kind"] == "react"
    step = next(m for m in out.messages if m.role == "assistant")
    caps = {p.capability for p in step.parts}
    assert {"instruction_following", "reasoning", "retrieval", "understanding"} <= caps
    assert "Action:" in step.content


@pytest.mark.parametrize("n,fraction", [(10, 0.1), (7, 0.5), (100, 0.1), (3, 0.0), (5, 1.0)])
def test_choose_react_is_exact_and_seeded(n: int, fraction: float) -> None:
    keys = [f"k{i}" for i in range(n)]
    chosen = align.choose_react(keys, fraction, seed=1)
    assert len(chosen) == round(fraction * n)
    assert chosen == align.choose_react(list(reversed(keys)), fraction, seed=1)  # order does not matter


def test_choose_react_depends_on_the_seed() -> None:
    keys = [f"k{i}" for i in range(50)]
    assert align.choose_react(keys, 0.2, 1) != align.choose_react(keys, 0.2, 2)


_words = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters=" .,"),
                 min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=60, deadline=None)
@given(thoughts=st.lists(_words, min_size=1, max_size=4), answer=_words, keyword=st.sampled_from(
    ["Thought: ", "THOUGHT: ", "Think: ", ""]))
def test_chat_never_emits_react_keywords(thoughts: list[str], answer: str, keyword: str) -> None:
    messages = [Message(role="user", content="go")]
    for i, t in enumerate(thoughts):
        messages.append(Message(role="assistant", content=f"{keyword}{t}",
                                tool_calls=[ToolCall(id=f"c{i}", name="act", arguments={"x": t})]))
        messages.append(Message(role="tool", content="ok", tool_call_id=f"c{i}"))
    messages.append(Message(role="assistant", content=f"{keyword}{answer}\nFinal Answer: {answer}"))
    out = align.render_chat(Trajectory(id="h", messages=messages), seed=3)
    for m in out.messages:
        if m.role == "assistant":
            assert not any(k.rstrip(": ") + ":" in m.content for k in REACT_KEYWORDS)
            assert all(p.capability for p in m.parts or [Part(text="")] if p.text)
    assert len(out.calls()) == len(thoughts)


def test_adjacent_turns_are_joined_so_the_conversation_alternates() -> None:
    traj = Trajectory(id="m", tools=[Tool(name="act")], messages=[
        Message(role="user", content="Here is the environment."),
        Message(role="user", content="Here is the task."),
        Message(role="assistant", content="Sure, let me do that."),
        Message(role="assistant", content="Doing it.", tool_calls=[ToolCall(id="c", name="act")]),
        Message(role="tool", content="done", tool_call_id="c"),
        Message(role="assistant", content="All done."),
    ])
    out = align.render_chat(traj, 0)
    assert [m.role for m in out.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert out.messages[1].content == "Here is the environment.\n\nHere is the task."
    merged = out.messages[2]
    assert merged.content.startswith("Sure, let me do that.\n\nDoing it.") and merged.tool_calls[0].name == "act"
    assert [p.capability for p in merged.parts] == ["answer", "reasoning", "retrieval"]
