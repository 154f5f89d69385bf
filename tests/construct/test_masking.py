"""Function masking (Hammer): names replaced consistently, only where it can be done exactly, seeded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from construct_fixtures import FLIGHTS, WEATHER, agent_traj, recipe_dict
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.config import validate
from agentflan.construct import masking
from agentflan.construct.build import build
from agentflan.construct.recipe import Recipe
from agentflan.schema import Message, ToolCall, Trajectory
from agentflan.toolschema import check_arguments


def _names_in(traj: Trajectory) -> str:
    """Everything a model would read except tool descriptions, as one text."""
    data = traj.to_dict()
    for t in data["tools"]:
        t.pop("description", None)
        for p in t["parameters"].get("properties", {}).values():
            p.pop("description", None)
    return json.dumps(data)


@given(st.integers(0, 50), st.integers(1, 5), st.booleans())
@settings(max_examples=60, deadline=None)
def test_masked_trajectories_stay_consistent(i: int, steps: int, parameters: bool) -> None:
    traj = agent_traj(i, steps=steps)
    assert masking.ineligible(traj) is None
    masked = masking.mask(traj, seed=i, parameters=parameters)
    tools = {t.name: t for t in masked.tools}
    assert not {"get_weather", "search_flights"} & tools.keys()
    for _, call in masked.calls():
        assert call.name in tools  # every call names an offered tool ...
        assert check_arguments(call.arguments, tools[call.name].parameters) == []  # ... with valid arguments
    for m in masked.messages:
        if m.role == "tool":
            assert m.name in tools
    text = _names_in(masked)
    assert "get_weather" not in text and "search_flights" not in text
    assert ('"city"' in text) != parameters  # parameter names masked only when asked
    assert [t.description for t in masked.tools] == [WEATHER.description, FLIGHTS.description]
    assert masked.metadata["masked"]["functions"] == 2
    assert [m.content for m in masked.messages] == [m.content for m in traj.messages]


def test_names_depend_on_seed_and_record_only() -> None:
    a, b = agent_traj(1), agent_traj(1)
    assert masking.mask(a, 0).tools == masking.mask(b, 0).tools
    assert masking.mask(a, 0).tools != masking.mask(a, 1).tools
    assert masking.mask(agent_traj(1), 0).tools != masking.mask(agent_traj(2), 0).tools


def test_what_cannot_be_masked_exactly_is_left_with_a_reason() -> None:
    assert masking.ineligible(agent_traj(1, thought="I should call get_weather first.")) == "name_in_text"
    assert masking.ineligible(agent_traj(1, thought="The weather api will do.")) is None  # words, not names
    chat = Trajectory(id="c", tools=[WEATHER], messages=[Message(role="user", content="hi"),
                                                        Message(role="assistant", content="hello")])
    assert masking.ineligible(chat) == "no_calls"
    unknown = Trajectory(id="u", tools=[WEATHER], messages=[
        Message(role="user", content="x"), Message(role="assistant", tool_calls=[ToolCall(name="nope")])])
    assert masking.ineligible(unknown) == "unknown_tool"
    extra = Trajectory(id="e", tools=[WEATHER], messages=[
        Message(role="user", content="x"),
        Message(role="assistant", tool_calls=[ToolCall(name="get_weather", arguments={"town": "Rome"})])])
    assert masking.ineligible(extra) == "argument_not_in_schema"


def _build(out: Path, **overrides: Any) -> dict[str, Any]:
    return build(validate(Recipe, recipe_dict(**overrides), "test"), out, show_progress=False)


def test_build_masks_an_exact_seeded_share(data_dir: Path, tmp_path: Path) -> None:
    m = _build(tmp_path / "out", masking={"fraction": 0.5})
    assert m["masking"]["eligible"] == 24 and m["masking"]["masked"] == 12 == m["masking"]["in_output"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "canonical.jsonl").read_text().splitlines()]
    masked = [r for r in rows if "masked" in r["metadata"]]
    assert len(masked) == 12 and all(r["metadata"]["kind"] in ("agent", "react") for r in masked)
    assert all("get_weather" not in json.dumps(r["messages"]) for r in masked)
    again = _build(tmp_path / "again", masking={"fraction": 0.5})
    assert again["masking"] == m["masking"]
    assert (tmp_path / "out" / "canonical.jsonl").read_bytes() == (tmp_path / "again" / "canonical.jsonl").read_bytes()
    off = _build(tmp_path / "off")
    assert off["masking"] == {"fraction": 0.0, "parameters": True, "masked": 0, "in_output": 0}
