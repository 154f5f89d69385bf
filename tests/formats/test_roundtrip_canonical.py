"""The canonical writer/reader pair is lossless over everything the schema allows (and the strategies are valid)."""

from __future__ import annotations

from hypothesis import given, settings

from agentflan.formats import reader, writer
from agentflan.formats.base import RecordContext
from agentflan.schema import Trajectory
from agentflan.toolschema import normalise_schema
from strategies import chat_trajectories, trajectories

CTX = RecordContext(path="mem.jsonl", index=0, format="canonical")


@settings(max_examples=50, deadline=None)
@given(trajectories())
def test_canonical_round_trip(t: Trajectory) -> None:
    assert writer("canonical").lossless
    back = list(reader("canonical").read(writer("canonical").write(t), CTX))
    assert back == [t]


@settings(max_examples=40, deadline=None)
@given(chat_trajectories())
def test_generated_schemas_are_already_normalised(t: Trajectory) -> None:
    # Readers normalise tool schemas; generated trajectories must look like reader output.
    for tool in t.tools:
        assert normalise_schema(tool.parameters) == tool.parameters
    ids = [c.id for _, c in t.calls()]
    assert all(ids) and len(set(ids)) == len(ids)
    answered = [m.tool_call_id for m in t.messages if m.role == "tool"]
    assert answered == ids
