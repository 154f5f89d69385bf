"""Salesforce xLAM rows: parameter dicts to JSON Schema, parallel calls, ``answers: []`` as a turn without calls,
rejects that name the field, the writer's limits, and ``agentflan convert`` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.errors import RecordError
from agentflan.formats import reader, writer
from agentflan.formats.base import RecordContext
from agentflan.formats.xlam import type_schema, xlam_parameters
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from agentflan.validate import structure_flags
from strategies import arguments_for, texts, tools_lists

CTX = RecordContext(path="xlam.jsonl", index=0, format="xlam")
runner = CliRunner()

TOOLS = [
    {"name": "weather", "description": "Current weather for a city.",
     "parameters": {
         # xLAM writes "default": "" on required parameters too: not a default.
         "city": {"description": "City name.", "type": "str", "default": ""},
         "days": {"description": "Forecast days.", "type": "int, optional", "default": 1},
         "units": {"description": "Unit system.", "type": "str", "default": "metric"},
     }},
    {"name": "mean", "description": "Mean of numbers.",
     "parameters": {"nums": {"description": "The numbers.", "type": "List[float]"}}},
]
ROW = {"id": 7, "query": "Weather in Paris and the mean of 1 and 2?",
       "tools": json.dumps(TOOLS),
       "answers": json.dumps([{"name": "weather", "arguments": {"city": "Paris"}},
                              {"name": "mean", "arguments": {"nums": [1.0, 2.0]}}])}
IRRELEVANT = {"id": 8, "query": "Tell me a joke.", "tools": json.dumps(TOOLS[:1]), "answers": "[]"}


def _read(row: dict[str, Any]) -> Trajectory:
    (traj,) = reader("xlam").read(row, CTX)
    return traj


def test_row_read_with_parallel_calls_and_json_schema() -> None:
    t = _read(ROW)
    assert t.id == "7"
    assert t.messages[0] == Message(role="user", content=ROW["query"])
    assert t.messages[1] == Message(role="assistant", tool_calls=[
        ToolCall(name="weather", arguments={"city": "Paris"}), ToolCall(name="mean", arguments={"nums": [1.0, 2.0]})])
    weather = t.tools[0].parameters
    assert weather["type"] == "object" and weather["required"] == ["city"]
    assert weather["properties"]["city"] == {"type": "string", "x-original-type": "str", "description": "City name.",
                                             "default": ""}
    assert weather["properties"]["days"]["type"] == "integer"
    assert t.tools[1].parameters["properties"]["nums"]["items"] == {"type": "number"}
    assert t.tools[1].parameters["required"] == ["nums"]
    assert not t.flags


def test_tools_and_answers_may_be_real_lists() -> None:
    as_lists = dict(ROW, tools=TOOLS, answers=json.loads(ROW["answers"]))
    assert _read(as_lists).model_copy(update={"provenance": None}) == _read(ROW).model_copy(
        update={"provenance": None})


def test_empty_answers_is_an_assistant_turn_without_calls_or_text() -> None:
    t = _read(IRRELEVANT)
    assert t.messages == [Message(role="user", content="Tell me a joke."), Message(role="assistant")]
    # Flagged exactly as validate would flag it, so audit does not count it twice and build can drop it.
    assert t.flags == [f for f in structure_flags(t) if f.code == "empty_assistant"]
    assert json.loads(writer("xlam").write(t)["answers"]) == []


@pytest.mark.parametrize(("type_name", "schema"), [
    ("str", {"type": "string"}), ("int", {"type": "integer"}), ("float", {"type": "number"}),
    ("bool", {"type": "boolean"}), ("dict", {"type": "object"}), ("list", {"type": "array"}),
    ("List[int]", {"type": "array", "items": {"type": "integer"}}),
    ("List[List[int]]", {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}),
    ("typing.List[str]", {"type": "array", "items": {"type": "string"}}),
    ("Tuple[int, int]", {"type": "array", "items": {"type": "integer"}}),
    ("Tuple[int, str]", {"type": "array"}), ("Set[str]", {"type": "array", "items": {"type": "string"}}),
    ("Dict[str, Any]", {"type": "object"}), ("Union[int, float]", {"type": ["integer", "number"]}),
    ("Optional[str]", {"type": "string"}), ("Any", {}), ("Callable", {}), ("datetime.date", {}), ("", {}),
])
def test_xlam_type_names(type_name: str, schema: dict[str, Any]) -> None:
    assert type_schema(type_name) == schema


def test_requiredness_and_original_type_kept() -> None:
    params = {"a": {"type": "List[int], optional"}, "b": {"type": "Dict[str, int]"},
              "c": {"type": "str", "default": None}, "d": {"type": "Callable"}}
    row = dict(ROW, tools=[{"name": "f", "description": "", "parameters": params}], answers=[])
    schema = _read(row).tools[0].parameters
    assert schema["required"] == ["b", "d"]  # optional suffix, or a (non-empty) default, makes it optional
    assert schema["properties"]["a"] == {"type": "array", "items": {"type": "integer"},
                                         "x-original-type": "List[int], optional"}
    assert schema["properties"]["d"] == {"x-original-type": "Callable"}  # unknown: no constraint, name kept


def test_parameters_already_json_schema_are_normalised() -> None:
    row = dict(ROW, tools=[{"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "float"}},
                                                        "required": ["x"]}}], answers=[])
    assert _read(row).tools[0].parameters == {"type": "object", "x-original-type": "dict", "properties": {
        "x": {"type": "number", "x-original-type": "float"}}, "required": ["x"]}


@pytest.mark.parametrize(("change", "reason", "field"), [
    ({"query": None}, "wrong_type", "query"),
    ({"query": "  "}, "empty_field", "query"),
    ({"answers": '[{"name": "weather", '}, "invalid_json", "answers"),
    ({"answers": {"name": "weather"}}, "wrong_type", "answers"),
    ({"answers": [{"arguments": {}}]}, "missing_field", "answers.0.name"),
    ({"answers": [{"name": "weather", "arguments": '{"city": '}]}, "args_not_json", "answers.0.arguments"),
    ({"tools": "not json"}, "invalid_json", "tools"),
    ({"tools": [{"name": "f", "parameters": {"x": "str"}}]}, "invalid_tool", "tools.0.parameters.x"),
    ({"tools": [{"description": "no name"}]}, "missing_field", "tools.0.name"),
])
def test_defective_rows_rejected_naming_the_field(change: dict[str, Any], reason: str, field: str) -> None:
    with pytest.raises(RecordError) as err:
        _read({**ROW, **change})
    assert (err.value.reason, err.value.field) == (reason, field)


def test_missing_answers_rejected() -> None:
    row = {k: v for k, v in ROW.items() if k != "answers"}
    with pytest.raises(RecordError, match="answers is missing"):
        _read(row)


def test_write_is_the_dataset_shape() -> None:
    row = writer("xlam").write(_read(ROW))
    assert row["id"] == 7 and row["query"] == ROW["query"]
    assert isinstance(row["tools"], str) and isinstance(row["answers"], str)
    assert json.loads(row["answers"]) == json.loads(ROW["answers"])
    weather = json.loads(row["tools"])[0]["parameters"]
    assert weather == TOOLS[0]["parameters"]  # original type strings, descriptions and defaults kept


def test_json_schema_parameters_written_as_xlam_types() -> None:
    schema = {"type": "object", "properties": {
        "s": {"type": "string", "description": "a"}, "i": {"type": "integer"}, "n": {"type": "number"},
        "b": {"type": "boolean"}, "o": {"type": "object", "properties": {"k": {"type": "string"}}},
        "l": {"type": "array", "items": {"type": "integer"}}, "la": {"type": "array"},
        "u": {"type": ["string", "null"]}, "any": {},
        # The original says required, the schema no longer does: the name is derived again.
        "edited": {"type": "string", "x-original-type": "str"},
    }, "required": ["s", "l"]}
    out = xlam_parameters(schema)
    assert {k: v["type"] for k, v in out.items()} == {
        "s": "str", "i": "int, optional", "n": "float, optional", "b": "bool, optional", "o": "dict, optional",
        "l": "List[int]", "la": "list, optional", "u": "Union[str, None], optional", "any": "Any, optional",
        "edited": "str, optional"}
    assert out["s"]["description"] == "a"


@pytest.mark.parametrize(("messages", "why"), [
    ([Message(role="system", content="s"), Message(role="user", content="q"), Message(role="assistant")],
     "system"),
    ([Message(role="user", content="q"), Message(role="assistant", content="Sure, here you go.")], "text"),
    ([Message(role="user", content="q"), Message(role="assistant", tool_calls=[ToolCall(name="f")]),
      Message(role="tool", content="1")], "tool result"),
    ([Message(role="user", content="q"), Message(role="assistant"), Message(role="user", content="q2"),
      Message(role="assistant")], "2 user turns"),
    ([Message(role="user", content="q")], "not [user, assistant]"),
    ([Message(role="user", content="q"), Message(role="assistant", tool_calls=[ToolCall(name="f")]),
      Message(role="assistant", tool_calls=[ToolCall(name="g")])], "not [user, assistant]"),
])
def test_what_xlam_cannot_hold_is_rejected(messages: list[Message], why: str) -> None:
    with pytest.raises(RecordError) as err:
        writer("xlam").write(Trajectory(id="t", messages=messages))
    assert err.value.reason == "not_representable" and why in err.value.detail


@st.composite
def _xlam_trajectories(draw: st.DrawFn) -> Trajectory:
    """What xLAM holds: one query, then calls (parallel, possibly none) to the offered tools."""
    tools = draw(tools_lists(min_size=1))
    calls = []
    for _ in range(draw(st.integers(0, 3))):
        tool = draw(st.sampled_from(tools))
        calls.append(ToolCall(name=tool.name, arguments=draw(arguments_for(tool.parameters))))
    query = draw(texts(min_size=1).filter(str.strip))
    return Trajectory(id=draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)), tools=tools,
                      messages=[Message(role="user", content=query), Message(role="assistant", tool_calls=calls)])


def _shape(tool: Tool) -> tuple[Any, ...]:
    """What an xLAM parameter dict keeps of a schema: each parameter's type (and item type), its description,
    and which are required."""
    props = tool.parameters.get("properties", {})
    return (tool.name, tool.description, sorted(tool.parameters.get("required", [])),
            {k: (p.get("type"), (p.get("items") or {}).get("type"), p.get("description", ""))
             for k, p in props.items()})


@settings(max_examples=80, deadline=None)
@given(_xlam_trajectories())
def test_round_trip_keeps_query_calls_and_parameter_types(t: Trajectory) -> None:
    row = json.loads(json.dumps(writer("xlam").write(t)))
    assert reader("xlam").detect(row, "x.jsonl")
    back = _read(row)
    assert back.id == t.id and back.messages == t.messages
    assert [_shape(b) for b in back.tools] == [_shape(a) for a in t.tools]
    # Once in xLAM's terms, the row is a fixpoint.
    assert json.loads(json.dumps(writer("xlam").write(back))) == row


def test_convert_end_to_end_with_auto_detection_and_rejects(tmp_path: Path) -> None:
    src = tmp_path / "xlam.jsonl"
    bad = dict(ROW, id=9, answers='[{"name": "weather", "arguments": {"city": "Paris"}')
    src.write_text("\n".join(json.dumps(r) for r in (ROW, IRRELEVANT, bad)) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(src), "--from", "auto", "--to", "openai", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out.jsonl.manifest.json").read_text())
    assert manifest["inputs"][0]["format"] == "xlam"
    assert (manifest["read"], manifest["written"], manifest["rejected"]) == (3, 2, 1)
    assert manifest["rejects_by_reason"] == {"invalid_json": 1}
    assert manifest["flags_by_code"] == {"empty_assistant": 1}
    (reject,) = [json.loads(x) for x in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert (reject["line"], reject["field"]) == (3, "answers")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [c["function"]["name"] for c in rows[0]["messages"][1]["tool_calls"]] == ["weather", "mean"]
    assert rows[1]["messages"][1] == {"role": "assistant", "content": ""}

    # And back to xLAM: the calls, the no-call row and the schemas survive; a multi-turn one cannot be written.
    extra = {"id": "multi", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                         {"role": "user", "content": "q2"}, {"role": "assistant", "content": "b"}]}
    with out.open("a") as fh:
        fh.write(json.dumps(extra) + "\n")
    back = tmp_path / "back.jsonl"
    result = runner.invoke(app, ["convert", str(out), "--from", "openai", "--to", "xlam", "-o", str(back), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "back.jsonl.manifest.json").read_text())
    assert (manifest["written"], manifest["rejects_by_reason"]) == (2, {"write:not_representable": 1})
    written = [json.loads(x) for x in back.read_text().splitlines()]
    assert written[0]["id"] == 7 and json.loads(written[0]["answers"]) == json.loads(ROW["answers"])
    assert json.loads(written[0]["tools"]) == TOOLS
    assert json.loads(written[1]["answers"]) == []
