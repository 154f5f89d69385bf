"""openai writer → openai reader is lossless over every canonical trajectory."""

from __future__ import annotations

import json

from hypothesis import assume, given, settings

from agentflan.formats import detect_reader, reader, writer
from agentflan.formats.base import RecordContext
from agentflan.schema import Trajectory
from strategies import chat_trajectories, trajectories

CTX = RecordContext(path="mem.jsonl", index=0, format="openai")


def _back(record: dict) -> Trajectory:
    # Through JSON text, as a file would carry it.
    (t,) = reader("openai").read(json.loads(json.dumps(record, ensure_ascii=False)), CTX)
    return t


@settings(max_examples=80, deadline=None)
@given(trajectories())
def test_openai_round_trip_is_lossless(t: Trajectory) -> None:
    assert writer("openai").lossless
    assert _back(writer("openai").write(t)) == t


@settings(max_examples=40, deadline=None)
@given(chat_trajectories())
def test_openai_output_is_detected_as_openai(t: Trajectory) -> None:
    # Without tools or calls, assistant text in ReAct style is the react reader's by design (FireAct files).
    assume(t.tools or t.calls())
    record = writer("openai").write(t)
    assert detect_reader(record, "out.jsonl").name == "openai"
    for m in record["messages"]:
        for call in m.get("tool_calls", []):
            assert isinstance(call["function"]["arguments"], dict)  # HF chat templates want dicts
