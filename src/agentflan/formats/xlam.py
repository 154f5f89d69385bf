"""``xlam``: Salesforce xLAM function-calling rows (xlam-function-calling-60k, and xlam-irrelevance-7.5k used by
Hammer) — one query, the tools offered, the calls that answer it.

Before (the dataset writes ``tools`` and ``answers`` as JSON strings; real lists are accepted too)::

    {"id": 1, "query": "Weather in Paris and in Rome?",
     "tools": "[{\\"name\\": \\"weather\\", \\"description\\": \\"Current weather.\\",
                 \\"parameters\\": {\\"city\\": {\\"description\\": \\"City name.\\", \\"type\\": \\"str\\", \\"default\\": \\"\\"},
                                 \\"days\\": {\\"description\\": \\"Forecast days.\\", \\"type\\": \\"int, optional\\", \\"default\\": 1}}}]",
     "answers": "[{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}},
                  {\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Rome\\"}}]"}

After (canonical)::

    Trajectory(id="1",
               tools=[Tool(name="weather", description="Current weather.", parameters={
                   "type": "object",
                   "properties": {"city": {"type": "string", "x-original-type": "str", "description": "City name.",
                                           "default": ""},
                                  "days": {"type": "integer", "x-original-type": "int, optional",
                                           "description": "Forecast days.", "default": 1}},
                   "required": ["city"]})],
               messages=[Message(role="user", content="Weather in Paris and in Rome?"),
                         Message(role="assistant", tool_calls=[ToolCall(name="weather", arguments={"city": "Paris"}),
                                                               ToolCall(name="weather", arguments={"city": "Rome"})])])

Parameters: xLAM's ``parameters`` is not JSON Schema but ``{param: {"type": "<python-style type>", "description",
"default"}}``. Types become JSON Schema (``str``/``int``/``float``/``bool``/``dict`` through
`toolschema.normalise_type`; ``List[int]``, ``Tuple[...]``, ``Set[...]`` → ``array`` with ``items`` when the item
type is known; ``Dict[...]`` → ``object``; ``Union[a, b]`` → a type list; ``Optional[x]`` → ``x``; ``Any`` and
unknown names → no type constraint). The xLAM type string is kept in ``x-original-type``. A parameter is required
unless its type says ``optional`` or it has a default; a default of ``""`` does not count, because xLAM writes
``"default": ""`` as a placeholder on required parameters too (a ``List[int]`` input with ``"default": ""``).
A ``parameters`` object that already is JSON Schema (a string ``type`` at its top, which no xLAM parameter
dict has) is only normalised.

No call: an empty ``answers`` list (xlam-irrelevance) says the right behaviour is to call no tool, and xLAM has no
reply text. It is read as ``[user, assistant(content="", no tool_calls)]``: the assistant turn is the labelled
target ("no call"), and its text is empty because xLAM gives none — the same way a call row's assistant turn has
no text. Nothing is invented; the trajectory carries validate's ``empty_assistant`` flag (the same flag `audit`
would raise), so ``convert`` counts these rows and ``build`` can drop them (``agent.drop_flags``) rather than
train a model to reply with nothing. `audit` sees them as "tools offered, no call", which is what they teach.

Write: the inverse, with ``tools`` and ``answers`` as JSON strings like the dataset; a numeric id is written as a
number. Only ``[user, assistant]`` fits: a trajectory with a system prompt, several user turns, tool results,
several assistant turns, or assistant text (which xLAM cannot hold) is rejected with ``not_representable`` and
the reason. An assistant turn without calls (and without text) is written as ``answers: []``. JSON Schema
parameters are written back as xLAM's dict: the original type string when it still agrees with the schema, else
``str``/``int``/``float``/``bool``/``dict``/``list`` (``List[int]`` when the item type is known,
``Union[...]``, ``Any``) with ``, optional`` for a parameter that is not required.

Lost on writing (so not lossless): call ids, labels and weights, metadata, flags, provenance; of the schemas,
whatever xLAM's flat parameter dict has no place for (nested object properties, enums, item schemas beyond one
simple type, other JSON Schema keywords); a required parameter with a non-empty default reads back as optional.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from agentflan import strictjson
from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.formats.openai import arguments
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from agentflan.toolschema import normalise_schema, normalise_type
from agentflan.validate import EMPTY_ASSISTANT, structure_flags

_GENERIC = re.compile(r"^\s*(?P<head>[A-Za-z_][\w.]*)\s*(?:\[(?P<inner>.*)\])?\s*$", re.DOTALL)
_ARRAYS = {"list", "tuple", "set", "frozenset", "sequence", "iterable"}
_OBJECTS = {"dict", "mapping"}
# JSON Schema type → the name xLAM writes.
_XLAM_NAMES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list",
               "object": "dict", "null": "None"}


def _split_top(text: str) -> list[str]:
    """``"Dict[str, int], optional"`` → ``["Dict[str, int]", "optional"]``: commas inside brackets stay."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def type_schema(type_name: str) -> dict[str, Any]:
    """The JSON Schema constraint of one xLAM type (without its ``, optional`` suffix); ``{}`` when unknown."""
    m = _GENERIC.match(type_name)
    if m is None:
        return {}
    head = m.group("head").split(".")[-1].lower()  # typing.List → list
    inner = _split_top(m.group("inner")) if m.group("inner") is not None else []
    if head == "optional" and len(inner) == 1:
        return type_schema(inner[0])
    if head == "union":
        kinds = [type_schema(i).get("type") for i in inner]
        if kinds and all(isinstance(k, str) for k in kinds):
            unique = list(dict.fromkeys(kinds))
            return {"type": unique[0] if len(unique) == 1 else unique}
        return {}
    if head in _ARRAYS:
        items = [type_schema(i) for i in inner if i != "..."]
        # One item schema only when every position agrees (Tuple[int, int], not Tuple[int, str]).
        if items and all(i == items[0] for i in items) and items[0]:
            return {"type": "array", "items": items[0]}
        return {"type": "array"}
    if head in _OBJECTS:
        return {"type": "object"}
    kind = normalise_type(head)
    return {"type": kind} if kind else {}


def _optional(type_name: Any) -> bool:
    return isinstance(type_name, str) and "optional" in type_name.lower()


def _has_default(spec: dict[str, Any]) -> bool:
    return "default" in spec and spec["default"] != ""


def _parameter(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise RecordError("invalid_tool", f"{where} should be an object {{type, description, default}}, got "
                          f"{type(spec).__name__}", where)
    raw_type = spec.get("type")
    out: dict[str, Any] = {}
    if isinstance(raw_type, str):
        out.update(type_schema(_split_top(raw_type)[0]))
        out["x-original-type"] = raw_type
    elif raw_type is not None:
        out["x-original-type"] = raw_type  # not a type name xLAM writes: keep it, constrain nothing
    for key, value in spec.items():
        if key != "type":
            out[key] = value
    return normalise_schema(out)


def parameters_schema(params: Any, where: str) -> dict[str, Any]:
    """xLAM's ``{param: {type, description, default}}`` as a JSON Schema object."""
    if isinstance(params, str):
        try:
            params = strictjson.loads(params)
        except json.JSONDecodeError as exc:
            raise RecordError("invalid_json", f"{where} is a string that is not JSON ({exc.msg})", where) from None
    if params is None:
        return {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise RecordError("invalid_tool", f"{where} should be an object, got {type(params).__name__}", where)
    if isinstance(params.get("type"), str):
        return normalise_schema(params)  # already JSON Schema: an xLAM parameter dict has no string "type"
    properties = {name: _parameter(spec, f"{where}.{name}") for name, spec in params.items()}
    required = [name for name, spec in params.items() if not _optional(spec.get("type")) and not _has_default(spec)]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _json_list(value: Any, field: str) -> list[Any]:
    if isinstance(value, str):
        try:
            value = strictjson.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError("invalid_json", f"{field} is a string that is not JSON ({exc.msg} at column "
                              f"{exc.colno})", field) from None
    if not isinstance(value, list):
        raise RecordError("wrong_type", f"{field} should be a list (or a JSON string of one), got "
                          f"{type(value).__name__}", field)
    return value


def _tools(value: Any) -> list[Tool]:
    tools = []
    for i, item in enumerate(_json_list(value, "tools")):
        where = f"tools.{i}"
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            where, item = f"{where}.function", item["function"]  # OpenAI-shaped rows derived from xLAM
        name = require(item, "name", str, where)
        description = item.get("description") or ""
        if not isinstance(description, str):
            raise RecordError("wrong_type", f"{where}.description should be str", f"{where}.description")
        tools.append(validated(Tool, where, name=name, description=description,
                               parameters=parameters_schema(item.get("parameters"), f"{where}.parameters")))
    return tools


def _answers(value: Any) -> list[ToolCall]:
    calls = []
    for i, item in enumerate(_json_list(value, "answers")):
        where = f"answers.{i}"
        name = require(item, "name", str, where)
        calls.append(validated(ToolCall, where, name=name,
                               arguments=arguments(item.get("arguments"), f"{where}.arguments")))
    return calls


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    query = require(value, "query", str)
    if not query.strip():
        raise RecordError("empty_field", "query is empty", "query")
    if "tools" not in value:
        raise RecordError("missing_field", "tools is missing", "tools")
    tools = _tools(value["tools"])
    if "answers" not in value:
        raise RecordError("missing_field", "answers is missing", "answers")
    calls = _answers(value["answers"])
    record_id = value.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
        record_id = ctx.default_id()
    traj = validated(Trajectory, "<record>", id=str(record_id), tools=tools,
                     messages=[Message(role="user", content=query), Message(role="assistant", tool_calls=calls)],
                     provenance=ctx.provenance())
    if not calls:
        # The flag validate would raise, verbatim, so that audit does not count it twice.
        traj = traj.model_copy(update={"flags": [f for f in structure_flags(traj) if f.code == EMPTY_ASSISTANT]})
    yield traj


def detect(value: Any, path: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get("query"), str) and "answers" in value and "tools" in value


# --- writing ---------------------------------------------------------------------------------------------------


def _type_name(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        names = [_XLAM_NAMES.get(k, str(k)) for k in kind]
        return names[0] if len(names) == 1 else f"Union[{', '.join(names)}]"
    if kind == "array":
        items = schema.get("items")
        item_kind = items.get("type") if isinstance(items, dict) else None
        return f"List[{_XLAM_NAMES[item_kind]}]" if isinstance(item_kind, str) and item_kind in _XLAM_NAMES else "list"
    return _XLAM_NAMES.get(kind, "Any") if isinstance(kind, str) else "Any"


def _xlam_parameter(name: str, schema: Any, required: bool) -> dict[str, Any]:
    schema = schema if isinstance(schema, dict) else {}
    out: dict[str, Any] = {"description": schema.get("description", "")}
    original = schema.get("x-original-type")
    # The original type string is written back only while it still says what the schema says; a schema edited
    # since (type or requiredness changed) gets a type name derived from the schema.
    reads_back_required = not _optional(original) and not _has_default(schema)
    if (isinstance(original, str) and type_schema(_split_top(original)[0]).get("type") == schema.get("type")
            and reads_back_required == required):
        out["type"] = original
    else:
        out["type"] = _type_name(schema) + ("" if required else ", optional")
    if "default" in schema:
        out["default"] = schema["default"]
    return out


def xlam_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema object as xLAM's ``{param: {type, description, default}}``."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = set(schema.get("required") or [])
    return {name: _xlam_parameter(name, prop, name in required) for name, prop in properties.items()}


def _reject(detail: str) -> RecordError:
    return RecordError("not_representable", f"xLAM holds one query and the calls that answer it: {detail}")


def write(traj: Trajectory) -> dict[str, Any]:
    messages = traj.messages
    for i, m in enumerate(messages):
        if m.role == "system":
            raise _reject(f"messages.{i} is a system message (xLAM has no system prompt)")
        if m.role == "tool":
            raise _reject(f"messages.{i} is a tool result (xLAM has no tool results)")
    roles = [m.role for m in messages]
    if roles.count("user") != 1:
        raise _reject(f"{roles.count('user')} user turns")
    if roles != ["user", "assistant"]:
        raise _reject(f"the turns are {roles}, not [user, assistant]")
    query, reply = messages
    if reply.content.strip():
        raise _reject("messages.1 has text, which xLAM's answers cannot hold")
    tools = [{"name": t.name, "description": t.description, "parameters": xlam_parameters(t.parameters)}
             for t in traj.tools]
    answers = [{"name": c.name, "arguments": c.arguments} for c in reply.tool_calls]
    record_id: Any = traj.id
    if re.fullmatch(r"0|[1-9][0-9]*", record_id):
        record_id = int(record_id)  # the dataset's ids are numbers
    return {"id": record_id, "query": query.content, "tools": json.dumps(tools, ensure_ascii=False),
            "answers": json.dumps(answers, ensure_ascii=False)}


READER = Reader("xlam", read, detect, "Salesforce xLAM function calling (query, tools, answers; [] = no call)",
                priority=25)
WRITER = Writer("xlam", write, "Salesforce xLAM function calling rows (one query, parallel calls or [])",
                call_syntax="json")
