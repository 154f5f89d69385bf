from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory


def _traj() -> Trajectory:
    return Trajectory(
        id="t1",
        tools=[Tool(name="weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})],
        messages=[
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", parts=[Part(text="Let me check. ", capability="reasoning"),
                                             Part(text="I will use weather.", capability="retrieval", loss=False)],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"})]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="21 °C.", capability="answer"),
        ],
        metadata={"kind": "agent"},
    )


def test_json_round_trip_is_lossless() -> None:
    t = _traj()
    assert Trajectory.model_validate_json(t.to_json()) == t
    assert Trajectory.from_dict(t.to_dict()) == t


def test_parts_fill_content_and_must_match_it() -> None:
    m = Message(role="assistant", parts=[Part(text="a"), Part(text="b")])
    assert m.content == "ab"
    with pytest.raises(ValidationError):
        Message(role="assistant", content="xyz", parts=[Part(text="a")])


def test_segments_resolve_defaults() -> None:
    t = _traj()
    seg = t.messages[1].segments()
    assert [s.loss for s in seg] == [True, False]
    assert t.messages[0].segments()[0].loss is False  # user turns are not supervised by default
    assert t.messages[3].segments()[0].capability == "answer"


def test_only_assistant_messages_call_tools() -> None:
    with pytest.raises(ValidationError):
        Message(role="user", content="x", tool_calls=[ToolCall(name="f")])


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Trajectory.model_validate({"id": "x", "messages": [{"role": "user", "content": "a", "bogus": 1}]})
