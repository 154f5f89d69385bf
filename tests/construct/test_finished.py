"""Finished trajectories: one definition for `agent.finished_only` and the audit's `unfinished` check."""

from __future__ import annotations

from construct_fixtures import agent_traj

from agentflan.construct.finished import unfinished
from agentflan.schema import Message, ToolCall, Trajectory


def _cut(traj: Trajectory, n: int, **meta: object) -> Trajectory:
    return traj.model_copy(update={"messages": traj.messages[:n], "metadata": {**traj.metadata, **meta}})


def test_reasons() -> None:
    full = agent_traj(1)
    assert unfinished(full) is None
    assert unfinished(_cut(full, 4)) == "ends_on_call"  # user, call, result, call
    assert unfinished(_cut(full, 3)) == "ends_on_call"  # ... a tool result and no answer
    assert unfinished(_cut(full, 2)) == "call_only"  # one call, nothing run: a step, counted apart
    assert unfinished(_cut(full, 2, kind="agent")) == "ends_on_call"  # a built conversation that stops
    give_up = Message(role="assistant", tool_calls=[ToolCall(name="Finish",
                                                             arguments={"return_type": "give_up_and_restart"})])
    gave_up = full.model_copy(update={"messages": [*full.messages[:3], give_up, *full.messages[3:]]})
    assert unfinished(gave_up) == "gave_up"
    noted = full.model_copy(update={"messages": [*full.messages[:-1], full.messages[-1].model_copy(
        update={"metadata": {"finish": "give_up_and_restart"}})]})
    assert unfinished(noted) == "gave_up"
    retry = Message(role="user", content="This is not the first time you try this task, all previous trails failed.")
    restarted = full.model_copy(update={"messages": [*full.messages[:3], retry, *full.messages[3:]]})
    assert unfinished(restarted) == "restarted"
    assert unfinished(Trajectory(id="q", messages=[Message(role="user", content="?")])) is None


def test_react_text_that_ends_on_an_action() -> None:
    def react(last: str, kind: str = "react") -> Trajectory:
        return Trajectory(id="r", metadata={"kind": kind}, messages=[
            Message(role="user", content="q"), Message(role="assistant", content="Thought: a\nAction: search[x]"),
            Message(role="user", content="Observation: y", metadata={"observation": True}),
            Message(role="assistant", content=last)])
    assert unfinished(react("Thought: b\nAction: lookup\nAction Input: {}")) == "ends_on_call"
    assert unfinished(react("Thought: done\nAction: finish[Paris]")) is None
    assert unfinished(react("Thought: done\nFinal Answer: Paris")) is None
    assert unfinished(react("Action: Finish\nAction Input: {\"return_type\": \"give_up_and_restart\"}")) == "gave_up"


def test_environment_episodes_end_on_an_action() -> None:
    env = _cut(agent_traj(1), 4, tools_synthesized=True)
    assert unfinished(env) is None


def test_a_format_following_sample_is_a_call_sample_even_after_talk() -> None:
    sample = Trajectory(id="i", metadata={"kind": "instruct"}, messages=[
        Message(role="user", content="Weather?"), Message(role="assistant", content="Which city?", loss=False),
        Message(role="user", content="Oslo. Answer in this format: Action: ...\nAction Input: ..."),
        Message(role="assistant", content='Action: get_weather\nAction Input: {"city": "Oslo"}')])
    assert unfinished(sample) == "call_only"
