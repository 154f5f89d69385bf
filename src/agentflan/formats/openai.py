"""``openai``: OpenAI / Hugging Face chat messages with native tool calls — ``{messages, tools}``.

Read: ``tool_calls`` (``{"type": "function", "function": {name, arguments}}`` or flat ``{name, arguments}``;
arguments as a dict or a JSON string), ``tool`` messages, the legacy ``function_call`` / ``function`` role and
top-level ``functions``; tools as ``[{"type": "function", "function": {...}}]`` or bare ``{name, description,
parameters}`` (a JSON string of either is accepted), schemas normalised with `toolschema.normalise_schema`.
Content given as a list of text parts is joined; other content parts (images) are rejected.

Write: a record ready for TRL ``SFTTrainer`` / ``tokenizer.apply_chat_template(messages, tools=tools)``::

    {"id": "demo-1",
     "messages": [{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": "", "tool_calls": [
                      {"id": "c0", "type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}]},
                  {"role": "tool", "content": "{\\"temp\\": 21}", "tool_call_id": "c0", "name": "weather"}],
     "tools": [{"type": "function", "function": {"name": "weather", "description": "", "parameters": {...}}}],
     "provenance": null}

Arguments stay dicts, as Hugging Face chat templates expect. The writer is lossless: what the chat convention
has no field for (``id``, ``metadata``, ``provenance``, ``flags``; a message's ``parts``, ``capability``,
``loss``, ``weight``, ``metadata``; a call's ``name_loss``/``arguments_loss``/``*_weight``) travels as extra keys
that chat templates ignore and this reader restores. ``provenance`` is always written (``null`` when unknown) so
that reading back does not replace a missing provenance with the written file's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from agentflan import strictjson
from agentflan.callsyntax import parse_arguments
from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.schema import Flag, Message, Part, Provenance, Tool, ToolCall, Trajectory
from agentflan.toolschema import normalise_schema

# Message keys this module understands; others found in real data are kept in metadata["openai_fields"].
_MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id", "name", "function_call", "parts", "capability",
                 "loss", "weight", "metadata"}
_CALL_LABELS = ("name_loss", "arguments_loss", "name_weight", "arguments_weight")
_MESSAGE_LABELS = ("parts", "capability", "loss", "weight")
_ROLE_ALIASES = {"function": "tool", "developer": "system"}

# How a reading step makes each object from its fields: `validated` (a model, or the error naming the field) or
# `_fields` (the fields themselves, validated once for the whole record by the caller).
Make = Callable[..., Any]


def _fields(model: type[Any], where: str, **fields: Any) -> dict[str, Any]:
    return fields


def _decode_json_string(value: Any, field: str) -> Any:
    """Some corpora store nested JSON (tools, arguments lists) as a string; decode it or say which field is bad."""
    if not isinstance(value, str):
        return value
    try:
        return strictjson.loads(value)
    except json.JSONDecodeError as exc:
        raise RecordError("invalid_json", f"{field} is a string that is not JSON ({exc.msg})", field) from None


def parse_tools(value: Any, field: str = "tools", make: Make = validated) -> list[Tool]:
    """Tools in the OpenAI shape or bare ``{name, description, parameters}`` (list, or a JSON string of one)."""
    value = _decode_json_string(value, field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError("wrong_type", f"{field} should be a list, got {type(value).__name__}", field)
    tools = []
    for i, item in enumerate(value):
        where = f"{field}.{i}"
        if isinstance(item, dict) and "function" in item:
            if item.get("type", "function") != "function":
                raise RecordError("unsupported_tool", f"{where}.type is {item.get('type')!r}, not 'function'",
                                  f"{where}.type")
            where, item = f"{where}.function", item["function"]
        name = require(item, "name", str, where)
        description = item.get("description") or ""
        if not isinstance(description, str):
            raise RecordError("wrong_type", f"{where}.description should be str", f"{where}.description")
        parameters = _decode_json_string(item.get("parameters"), f"{where}.parameters")
        tools.append(make(Tool, where, name=name, description=description, parameters=normalise_schema(parameters)))
    return tools


def tool_to_openai(tool: Tool) -> dict[str, Any]:
    return {"type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters}}


def arguments(value: Any, field: str) -> dict[str, Any]:
    """`callsyntax.parse_arguments` with the offending field named."""
    try:
        return parse_arguments(value)
    except RecordError as err:
        raise RecordError(err.reason, f"{field}: {err.detail}", field) from None


def _content(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for i, part in enumerate(value):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise RecordError("unsupported_content", f"{field}.{i} is a {kind!r} part, not text", f"{field}.{i}")
        return "".join(texts)
    raise RecordError("wrong_type", f"{field} should be a string, got {type(value).__name__}", field)


def _call(raw: Any, where: str, make: Make) -> Any:
    if not isinstance(raw, dict):
        raise RecordError("wrong_type", f"{where} should be an object", where)
    fn, fn_where = (raw["function"], f"{where}.function") if "function" in raw else (raw, where)
    name = require(fn, "name", str, fn_where)
    args = arguments(fn.get("arguments"), f"{fn_where}.arguments")
    call_id = raw.get("id")
    labels = {k: raw[k] for k in _CALL_LABELS if raw.get(k) is not None}
    return make(ToolCall, where, id=str(call_id) if call_id is not None else None, name=name, arguments=args,
                **labels)


def _message(raw: Any, where: str, make: Make) -> Any:
    role = require(raw, "role", str, where)
    role = _ROLE_ALIASES.get(role, role)
    if role not in ("system", "user", "assistant", "tool"):
        raise RecordError("invalid_role", f"{where}.role is {raw['role']!r}", f"{where}.role")
    calls_raw = raw.get("tool_calls") or []
    if not isinstance(calls_raw, list):
        raise RecordError("wrong_type", f"{where}.tool_calls should be a list", f"{where}.tool_calls")
    calls = [_call(c, f"{where}.tool_calls.{i}", make) for i, c in enumerate(calls_raw)]
    if raw.get("function_call") is not None:
        calls.append(_call(raw["function_call"], f"{where}.function_call", make))
    if calls and role != "assistant":
        raise RecordError("invalid_field", f"{where}: a {role} message carries tool calls", f"{where}.tool_calls")
    fields: dict[str, Any] = {k: raw[k] for k in _MESSAGE_LABELS if raw.get(k) is not None}
    metadata = raw.get("metadata") or {}
    extra = {k: v for k, v in raw.items() if k not in _MESSAGE_KEYS and v is not None}
    if extra:
        metadata = {**metadata, "openai_fields": extra} if isinstance(metadata, dict) else metadata
    tool_call_id = raw.get("tool_call_id")
    return make(
        Message, where, role=role, content=_content(raw.get("content"), f"{where}.content"), tool_calls=calls,
        tool_call_id=str(tool_call_id) if tool_call_id is not None else None,
        name=raw.get("name"), metadata=metadata, **fields,
    )


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    try:
        # The whole record validated at once: a third of the cost of validating each object as it is made.
        traj = Trajectory.model_validate(_record(value, ctx, _fields))
    except Exception:
        # Object by object, which names the first bad field exactly as it always has (and raises it).
        traj = _record(value, ctx, validated)
    yield traj


def _record(value: Any, ctx: RecordContext, make: Make) -> Any:
    messages_raw = require(value, "messages", list)
    if not messages_raw:
        raise RecordError("empty_conversation", "messages is empty", "messages")
    tools = parse_tools(value.get("tools") if value.get("tools") is not None else value.get("functions"),
                        "tools" if value.get("tools") is not None else "functions", make)
    messages = [_message(m, f"messages.{i}", make) for i, m in enumerate(messages_raw)]
    record_id = value.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
        record_id = ctx.default_id()
    provenance = value["provenance"] if "provenance" in value else ctx.provenance()
    return make(
        Trajectory, "<record>", id=str(record_id), tools=tools, messages=messages,
        provenance=provenance, flags=value.get("flags") or [], metadata=value.get("metadata") or {},
    )


def detect(value: Any, path: str) -> bool:
    messages = value.get("messages") if isinstance(value, dict) else None
    return isinstance(messages, list) and bool(messages) and all(
        isinstance(m, dict) and "role" in m for m in messages
    )


def _write_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {} if call.id is None else {"id": call.id}
    out["type"] = "function"
    out["function"] = {"name": call.name, "arguments": call.arguments}
    out.update({k: getattr(call, k) for k in _CALL_LABELS if getattr(call, k) is not None})
    return out


def _write_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [_write_call(c) for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        out["name"] = m.name
    if m.parts is not None:
        out["parts"] = [_write_part(p) for p in m.parts]
    for key in ("capability", "loss", "weight"):
        if getattr(m, key) is not None:
            out[key] = getattr(m, key)
    if m.metadata:
        out["metadata"] = m.metadata
    return out


def _write_part(part: Part) -> dict[str, Any]:
    """``part.model_dump(mode="json", exclude_defaults=True)`` (its labels default to None), a quarter of the
    cost."""
    out: dict[str, Any] = {"text": part.text}
    if part.capability is not None:
        out["capability"] = part.capability
    if part.loss is not None:
        out["loss"] = part.loss
    if part.weight is not None:
        out["weight"] = part.weight
    return out


def write(traj: Trajectory) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": traj.id,
        "messages": [_write_message(m) for m in traj.messages],
        "tools": [tool_to_openai(t) for t in traj.tools],
        "provenance": _dump(traj.provenance),
    }
    if traj.flags:
        out["flags"] = [_dump(f) for f in traj.flags]
    if traj.metadata:
        out["metadata"] = traj.metadata
    return out


def _dump(model: Provenance | Flag | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json", exclude_defaults=True)


READER = Reader("openai", read, detect, "OpenAI/HF chat messages with tool_calls and tool messages (+ legacy "
                "function_call)", priority=60)
WRITER = Writer("openai", write, "OpenAI/HF chat {messages, tools} for TRL SFTTrainer; agentflan labels as extra "
                "keys (lossless)", lossless=True, call_syntax="openai")
