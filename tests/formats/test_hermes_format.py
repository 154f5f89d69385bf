"""Hermes function calling: tools from ``<tools>``, ``<tool_call>``/``<tool_response>`` blocks, Python-literal
rows as the dataset writes them, detection against LLaMA-Factory ShareGPT, the writer, and ``convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.errors import RecordError
from agentflan.formats import detect_reader, reader, writer
from agentflan.formats.base import RecordContext
from agentflan.formats.hermes import CALL_FORMAT, PREAMBLE, literal_values
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from strategies import chat_trajectories

CTX = RecordContext(path="hermes.json", index=0, format="hermes")
runner = CliRunner()

# The dataset's system turn: instructions, tools as Python literals, and the call format (whose example
# <tool_call> is an instruction, not a call).
SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools> </tools> XML "
    "tags. You may call one or more functions to assist with the user query. Don't make assumptions about what "
    "values to plug into functions.\n<tools>\n"
    "[{'type': 'function', 'function': {'name': 'search_flights', 'description': 'Find flights.', 'parameters': "
    "{'type': 'object', 'properties': {'origin': {'type': 'string'}, 'flexible': {'type': 'boolean'}}, "
    "'required': ['origin']}}}, {'type': 'function', 'function': {'name': 'book', 'description': 'Book a flight.', "
    "'parameters': {'type': 'object', 'properties': {'flight': {'type': 'string'}}, 'required': ['flight']}}}]\n"
    "</tools>\nFor each function call return a json object with function name and arguments within <tool_call> "
    "</tool_call> tags with the following schema:\n<tool_call>\n{'arguments': <args-dict>, 'name': "
    "<function-name>}\n</tool_call>\n"
)
ROW = {
    "id": "h-1",
    "conversations": [
        {"from": "system", "value": SYSTEM},
        {"from": "human", "value": "Flights from LA and from SF? It's for a trip."},
        {"from": "gpt", "value": "Searching both.\n<tool_call>\n{'arguments': {'origin': 'LA', 'flexible': True}, "
                                 "'name': 'search_flights'}\n</tool_call>\n<tool_call>\n{\"name\": "
                                 "\"search_flights\", \"arguments\": \"{\\\"origin\\\": \\\"SF\\\"}\"}\n</tool_call>\n"},
        {"from": "tool", "value": "<tool_response>\n{\"name\": \"search_flights\", \"content\": {\"n\": 2}}\n"
                                  "</tool_response>\n<tool_response>\n{\"n\": 0}\n</tool_response>\n"},
        {"from": "gpt", "value": "Two flights from LA, none from SF."},
    ],
    "category": "Travel", "task": "flights",
}


def _read(row: dict[str, Any]) -> Trajectory:
    (traj,) = reader("hermes").read(row, CTX)
    return traj


def _plain(t: Trajectory) -> Trajectory:
    return t.model_copy(update={"provenance": None})


def test_dataset_row_read() -> None:
    t = _read(ROW)
    assert t.id == "h-1"
    assert t.messages[0] == Message(role="system", content=SYSTEM)  # kept verbatim, listing included
    assert [tool.name for tool in t.tools] == ["search_flights", "book"]
    assert t.tools[0].parameters["required"] == ["origin"]
    assert t.messages[2] == Message(role="assistant", content="Searching both.", tool_calls=[
        ToolCall(name="search_flights", arguments={"origin": "LA", "flexible": True}),
        ToolCall(name="search_flights", arguments={"origin": "SF"})])
    assert t.messages[3:] == [
        Message(role="tool", content='{"name": "search_flights", "content": {"n": 2}}', name="search_flights"),
        Message(role="tool", content='{"n": 0}', name="search_flights"),
        Message(role="assistant", content="Two flights from LA, none from SF.")]
    assert t.metadata == {"hermes_fields": {"category": "Travel", "task": "flights"}}


@pytest.mark.parametrize("body", [
    # Qwen2.5's template: one JSON object per line.
    '{"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {}}}}\n'
    '{"type": "function", "function": {"name": "b", "parameters": {"type": "object", "properties": {}}}}',
    # Bare tools in a JSON list, and Python literals separated by commas.
    '[{"name": "a", "description": "", "parameters": {"type": "object", "properties": {}}}, {"name": "b"}]',
    "{'name': 'a', 'parameters': {'type': 'dict', 'properties': {}}}, {'name': 'b', 'description': 'x </ y'}",
])
def test_tool_listings_in_every_shape(body: str) -> None:
    row = {"conversations": [{"from": "system", "value": f"Tools:\n<tools>\n{body}\n</tools>"},
                             {"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    t = _read(row)
    assert [tool.name for tool in t.tools] == ["a", "b"]
    assert t.tools[0].parameters["type"] == "object"
    assert t.id == "hermes:0"  # no id in the row: a stable default, not an invented one


def test_tools_field_comes_first_and_the_listing_adds_what_it_lacks() -> None:
    field = [{"type": "function", "function": {"name": "book", "description": "from the field",
                                               "parameters": {"type": "object", "properties": {}}}}]
    t = _read(dict(ROW, tools=json.dumps(field)))
    assert [(tool.name, tool.description) for tool in t.tools] == [("book", "from the field"),
                                                                    ("search_flights", "Find flights.")]


def test_more_results_than_calls_get_no_name_and_literal_backslash_n_is_tolerated() -> None:
    row = {"conversations": [
        {"from": "human", "value": "q"},
        {"from": "gpt", "value": '<tool_call>\\n{"name": "f", "arguments": {"x": [1, "a"]}}\\n</tool_call>'},
        {"from": "tool", "value": "<tool_response>\n1\n</tool_response>\n<tool_response>\n2\n</tool_response>"},
        {"from": "tool", "value": "plain result"},
        {"from": "gpt", "value": "done"}]}
    t = _read(row)
    assert t.messages[1].tool_calls == [ToolCall(name="f", arguments={"x": [1, "a"]})]
    assert [(m.content, m.name) for m in t.messages[2:5]] == [("1", "f"), ("2", None), ("plain result", None)]


def test_a_block_holding_a_list_of_calls() -> None:
    row = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": (
        '<tool_call>\n[{"name": "f", "arguments": {}}, {"name": "g", "parameters": {"y": 1}}]\n</tool_call>')}]}
    assert [(c.name, c.arguments) for c in _read(row).messages[1].tool_calls] == [("f", {}), ("g", {"y": 1})]


def _with_turn(i: int, value: str, tag: str | None = None) -> dict[str, Any]:
    row = json.loads(json.dumps(ROW))
    row["conversations"][i]["value"] = value
    if tag is not None:
        row["conversations"][i]["from"] = tag
    return row


@pytest.mark.parametrize(("row", "reason", "field"), [
    (_with_turn(2, "<tool_call>\n{'name': 'f', 'arguments': {'x': 1}\n</tool_call>"), "invalid_call",
     "conversations.2.value"),
    (_with_turn(2, "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": \"}\n</tool_call>"), "args_not_json",
     "conversations.2.value"),
    (_with_turn(2, "<tool_call>\n{\"function_name\": \"f\"}\n</tool_call>"), "invalid_call", "conversations.2.value"),
    (_with_turn(2, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}"), "invalid_call", "conversations.2.value"),
    (_with_turn(2, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": {1, 2}}}\n</tool_call>"), "invalid_call",
     "conversations.2.value"),
    (_with_turn(2, "<tool_call>\n__import__('os').system('true')\n</tool_call>"), "invalid_call",
     "conversations.2.value"),
    (_with_turn(0, "<tools>\n[{'name': 'f',}\n</tools>"), "invalid_tools", "conversations.0.value"),
    (_with_turn(0, "<tools>\n[{\"description\": \"no name\"}]\n</tools>"), "missing_field",
     "conversations.0.value:<tools>.0.name"),
    (_with_turn(3, "see <tool_response>\n1\n</tool_response>"), "invalid_tool_response", "conversations.3.value"),
    (_with_turn(3, "x", tag="observation"), "invalid_role", "conversations.3.from"),
    ({"conversations": []}, "empty_conversation", "conversations"),
])
def test_defective_rows_rejected_naming_the_turn(row: dict[str, Any], reason: str, field: str) -> None:
    with pytest.raises(RecordError) as err:
        _read(row)
    assert (err.value.reason, err.value.field) == (reason, field)


def test_literal_values_parse_and_never_evaluate() -> None:
    assert literal_values(' {"a": [1, "}"]} , [\'x\', None, True]\n') == [{"a": [1, "}"]}, ["x", None, True]]
    for bad in ("f()", "{'a': f()}", "[1, 2", "{1, 2}"):
        with pytest.raises(ValueError):
            literal_values(bad)


# --- detection -------------------------------------------------------------------------------------------------

SAMPLES: dict[str, Any] = {
    "hermes": ROW,
    # A single-turn Hermes row has no tool turn: its <tool_call> and <tools> make it Hermes.
    "hermes-single-turn": {"conversations": ROW["conversations"][:3]},
    "hermes-tool-turn-only": {"conversations": [{"from": "human", "value": "q"}, {"from": "tool", "value": "1"},
                                                {"from": "gpt", "value": "a"}]},
    "sharegpt": {"conversations": [
        {"from": "human", "value": "Weather in Paris?"},
        {"from": "function_call", "value": '{"name": "weather", "arguments": {"city": "Paris"}}'},
        {"from": "observation", "value": "21"}, {"from": "gpt", "value": "21 °C."}],
        "system": "Be brief.", "tools": '[{"name": "weather", "parameters": {}}]'},
    "sharegpt-plain-chat": {"conversations": [{"from": "system", "value": "Be brief."},
                                              {"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
    "xlam": {"id": 1, "query": "q", "tools": "[]", "answers": "[]"},
    "openai": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_sample_is_detected_as_itself(name: str) -> None:
    detected = detect_reader(SAMPLES[name], "data.jsonl")
    assert detected is not None and detected.name == name.split("-")[0]


# --- writing ---------------------------------------------------------------------------------------------------

TOOL = Tool(name="weather", description="Weather </tools> for a city.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
TRAJ = Trajectory(id="w", tools=[TOOL], messages=[
    Message(role="system", content="Be brief."),
    Message(role="user", content="Paris and Rome?"),
    Message(role="assistant", content="Both.", tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}),
                                                          ToolCall(id="c1", name="weather", arguments={"city": "</x>"})]),
    Message(role="tool", content="21", tool_call_id="c0", name="weather"),
    Message(role="tool", content="25", tool_call_id="c1", name="weather"),
    Message(role="assistant", content="21 and 25 °C."),
])


def test_write_shape() -> None:
    row = writer("hermes").write(TRAJ)
    turns = row["conversations"]
    assert [t["from"] for t in turns] == ["system", "human", "gpt", "tool", "gpt"]
    system = turns[0]["value"]
    assert system.startswith("Be brief.\n\n" + PREAMBLE + "\n<tools>\n[") and system.endswith(CALL_FORMAT)
    listed = json.loads(system.split("<tools>\n")[1].split("\n</tools>")[0])
    assert listed[0]["function"]["name"] == "weather"  # "</" escaped as "<\/": the tag cannot close early
    assert turns[2]["value"] == ('Both.\n<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n'
                                 '</tool_call>\n<tool_call>\n{"name": "weather", "arguments": {"city": "<\\/x>"}}\n'
                                 "</tool_call>")
    assert turns[3]["value"] == "<tool_response>\n21\n</tool_response>\n<tool_response>\n25\n</tool_response>"
    assert json.loads(row["tools"])[0]["function"]["name"] == "weather"
    back = _read(row)
    assert back.messages[0].content == "Be brief."  # this writer's own tool section is recognised and removed
    assert back.tools == TRAJ.tools
    assert back.messages[2].tool_calls[1].arguments == {"city": "</x>"}


def test_tools_without_a_system_message_get_a_system_turn_that_reads_back_to_none() -> None:
    t = TRAJ.model_copy(update={"messages": TRAJ.messages[1:]})
    row = writer("hermes").write(t)
    assert row["conversations"][0] == {"from": "system", "value": row["conversations"][0]["value"]}
    assert row["conversations"][0]["value"].startswith(PREAMBLE)
    assert [m.role for m in _read(row).messages] == ["user", "assistant", "tool", "tool", "assistant"]


def test_a_foreign_system_listing_is_written_verbatim_not_twice() -> None:
    t = _read(ROW)
    row = writer("hermes").write(t)
    assert row["conversations"][0]["value"] == SYSTEM
    assert row["category"] == "Travel"
    assert _plain(_read(row)) == _plain(t)


@pytest.mark.parametrize(("change", "why"), [
    ({"tools": []}, "not the trajectory's tools"),  # the system text lists tools the trajectory lacks
    ({"messages": [Message(role="user", content="q"), Message(role="assistant", content="see <tool_call>")]},
     "<tool_call> tag"),
    ({"messages": [Message(role="user", content="q"), Message(role="tool", content="</tool_response>")]},
     "<tool_response> tag"),
])
def test_what_the_tags_would_misread_is_rejected(change: dict[str, Any], why: str) -> None:
    with pytest.raises(RecordError) as err:
        writer("hermes").write(_read(ROW).model_copy(update=change))
    assert err.value.reason == "not_representable" and why in err.value.detail


def _representable(t: Trajectory) -> Trajectory:
    """What Hermes carries back unchanged: no call ids (chat_trajectories(with_ids=False)), text beside calls
    without trailing whitespace, no empty system message beside tools, no tag text inside messages."""
    messages = []
    for m in t.messages:
        if m.role == "system" and not m.content and t.tools:
            continue
        if m.tool_calls:
            m = m.model_copy(update={"content": m.content.rstrip()})
        assume(not any(tag in m.content for tag in ("<tool_call>", "</tool_call>", "<tool_response>",
                                                    "</tool_response>", "<tools>")))
        messages.append(m)
    assume(messages)
    return t.model_copy(update={"messages": messages})


@settings(max_examples=120, deadline=None)
@given(chat_trajectories(with_ids=False).map(_representable))
def test_round_trip_keeps_messages_calls_results_and_tools(t: Trajectory) -> None:
    row = json.loads(json.dumps(writer("hermes").write(t)))
    back = _read(row)
    assert _plain(back) == t


# --- convert ---------------------------------------------------------------------------------------------------


def test_convert_end_to_end_with_auto_detection_and_rejects(tmp_path: Path) -> None:
    src = tmp_path / "hermes.json"
    broken = _with_turn(2, "<tool_call>\n{'name': 'search_flights', 'arguments': {'origin': 'LA'}\n</tool_call>")
    src.write_text(json.dumps([ROW, broken, SAMPLES["hermes-single-turn"]]))  # a JSON array, as the dataset ships
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(src), "--from", "auto", "--to", "openai", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out.jsonl.manifest.json").read_text())
    assert manifest["inputs"][0]["format"] == "hermes"
    assert (manifest["read"], manifest["written"], manifest["rejected"]) == (3, 2, 1)
    assert manifest["rejects_by_reason"] == {"invalid_call": 1}
    (reject,) = [json.loads(x) for x in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert (reject["index"], reject["field"]) == (1, "conversations.2.value")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [c["function"]["arguments"] for c in rows[0]["messages"][2]["tool_calls"]] == [
        {"origin": "LA", "flexible": True}, {"origin": "SF"}]
    assert [t["function"]["name"] for t in rows[0]["tools"]] == ["search_flights", "book"]

    back = tmp_path / "back.jsonl"
    result = runner.invoke(app, ["convert", str(out), "--from", "openai", "--to", "hermes", "-o", str(back), "-q"])
    assert result.exit_code == 0, result.output
    written = [json.loads(x) for x in back.read_text().splitlines()]
    assert written[0]["conversations"][0]["value"] == SYSTEM
    assert _plain(_read(written[0])) == _plain(_read(ROW))
