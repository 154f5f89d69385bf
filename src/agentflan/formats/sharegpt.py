"""``sharegpt``: LLaMA-Factory's ShareGPT format with tool calls.

::

    {"id": "demo-1",
     "conversations": [{"from": "human", "value": "Weather in Paris?"},
                       {"from": "function_call", "value": "{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}"},
                       {"from": "observation", "value": "{\\"temp\\": 21}"},
                       {"from": "gpt", "value": "It is 21 °C."}],
     "system": "You can check the weather.",
     "tools": "[{\\"name\\": \\"weather\\", \\"description\\": \\"\\", \\"parameters\\": {...}}]"}

Read: ``human``/``gpt``/``function_call``/``observation`` turns (and a ``system`` turn or field); a
``function_call`` value is one ``{"name", "arguments"}`` JSON object or a list of them (parallel calls); a
``tools`` field is a JSON string (or list) of ``{name, description, parameters}``. An observation answers the
calls of the ``function_call`` before it: it takes the call's name, and after N parallel calls a JSON list of N
strings is split into N results (how this writer writes them).

Write: LLaMA-Factory's alternation (human/observation on odd turns, gpt/function_call on even turns, even length).
A reply's text before its calls stays in the function_call turn, around a ``<tool_call>`` block as
LLaMA-Factory's FunctionFormatter reads it (``"I need the weather.\\n<tool_call>{...}</tool_call>"``; text that
holds the tag itself is rejected, ``not_representable``); a turn of bare call JSON is read too. Turns that would
break the alternation are joined with a blank line: a user turn after a tool result (a ToolBench restart prompt)
into that observation, two user or two text replies in a row into one. Closing user turns (no reply to learn from)
are dropped; a trajectory that cannot be written that way otherwise (a system message after the start, a tool
result with no reply after it) is rejected with ``not_alternating``/``not_representable`` rather than silently
reshaped. The ``tools`` field holds the tools, which LLaMA-Factory's template renders, so the chat rendering's
plain-language tool list is cut from the system text (`exports.tools_described_once`). The `companion` writes the
``dataset_info.json`` entry LLaMA-Factory needs next to the output.

Lost on writing (so not lossless): call ids, capability/loss labels and weights (LLaMA-Factory trains every
gpt/function_call turn: the build's manifest counts the masks this loses), metadata, flags and provenance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan import strictjson
from agentflan.errors import AgentflanError, RecordError
from agentflan.files import write_json_atomic
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.formats.exports import SEPARATOR, merge_turns, tools_described_once
from agentflan.formats.openai import arguments, parse_tools
from agentflan.schema import Message, Role, ToolCall, Trajectory

TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
        "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
# LLaMA-Factory's default tool_call_words: text outside the block is the reply's text before its calls.
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_ROLE: dict[str, Role] = {"human": "user", "gpt": "assistant", "function_call": "assistant", "observation": "tool", "system": "system"}


def _calls(value: str, where: str) -> list[ToolCall]:
    try:
        data = strictjson.loads(value)
    except json.JSONDecodeError as exc:
        raise RecordError("invalid_call", f"{where} is not JSON ({exc.msg} at column {exc.colno})", where) from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise RecordError("invalid_call", f"{where} holds no call", where)
    calls = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if isinstance(data, list) else where
        name = require(item, "name", str, at)
        calls.append(validated(ToolCall, at, name=name, arguments=arguments(item.get("arguments"), f"{at}.arguments")))
    return calls


def _split_call_text(value: str) -> tuple[str, str]:
    """(text, calls JSON) of a function_call value: text around a ``<tool_call>`` block, or none."""
    start = value.find(CALL_OPEN)
    end = value.find(CALL_CLOSE, start + len(CALL_OPEN)) if start >= 0 else -1
    if start < 0 or end < 0:
        return "", value
    text = (value[:start] + value[end + len(CALL_CLOSE):]).strip()
    return text, value[start + len(CALL_OPEN):end]


def _observations(value: str, calls: list[ToolCall]) -> list[Message]:
    if len(calls) > 1:
        try:
            results = strictjson.loads(value)
        except json.JSONDecodeError:
            results = None
        if isinstance(results, list) and len(results) == len(calls) and all(isinstance(r, str) for r in results):
            return [Message(role="tool", content=r, name=c.name) for r, c in zip(results, calls, strict=True)]
    name = calls[0].name if len(calls) == 1 else None
    return [Message(role="tool", content=value, name=name)]


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversations", list)
    if not turns:
        raise RecordError("empty_conversation", "conversations is empty", "conversations")
    messages: list[Message] = []
    system = value.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise RecordError("wrong_type", "system should be a string", "system")
        if system:
            messages.append(Message(role="system", content=system))
    last_calls: list[ToolCall] = []
    for i, turn in enumerate(turns):
        where = f"conversations.{i}"
        tag = require(turn, "from", str, where)
        text = require(turn, "value", str, where)
        if tag not in _ROLE:
            raise RecordError("invalid_role", f"{where}.from is {tag!r}", f"{where}.from")
        if tag == "function_call":
            content, body = _split_call_text(text)
            last_calls = _calls(body, f"{where}.value")
            messages.append(Message(role="assistant", content=content, tool_calls=last_calls))
        elif tag == "observation":
            messages.extend(_observations(text, last_calls) if last_calls else [Message(role="tool", content=text)])
        else:
            messages.append(Message(role=_ROLE[tag], content=text))
    record_id = value.get("id")
    yield validated(Trajectory, "<record>", id=str(record_id) if record_id not in (None, "") else ctx.default_id(),
                    tools=parse_tools(value.get("tools") or None), messages=messages, provenance=ctx.provenance())


def detect(value: Any, path: str) -> bool:
    turns = value.get("conversations") if isinstance(value, dict) else None
    if not isinstance(turns, list) or not turns:
        return False
    tags = {t.get("from") for t in turns if isinstance(t, dict)}
    # ToolLLaMA writes from: user/assistant/function — the toolbench reader's, not this one.
    return tags <= _ROLE.keys() and bool(tags & {"human", "gpt"})


def _turn(tag: str, value: str) -> dict[str, str]:
    return {"from": tag, "value": value}


def _function_call(m: Message) -> str:
    calls = [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls]
    body = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
    if not m.content.strip():
        return body
    if CALL_OPEN in m.content or CALL_CLOSE in m.content:
        # LLaMA-Factory would take the text's tag for the call block.
        raise RecordError("not_representable", "the text before a call holds a <tool_call> tag")
    # LLaMA-Factory's FunctionFormatter keeps the text around a <tool_call> block as the reply's text.
    return f"{m.content.rstrip()}\n{CALL_OPEN}{body}{CALL_CLOSE}"


def _joined(prev: dict[str, str], turn: dict[str, str]) -> bool:
    """Whether ``turn`` joins the turn before it (LLaMA-Factory alternates prompt and reply turns strictly)."""
    prompt = ("human", "observation")
    if prev["from"] in prompt and turn["from"] == "human":
        return True  # a user turn after a result (ToolBench restart prompt) or after a user turn
    return prev["from"] == "gpt" and turn["from"] == "gpt"


def write(traj: Trajectory) -> dict[str, Any]:
    traj = tools_described_once(traj)  # LLaMA-Factory's template renders `tools` itself
    messages = list(traj.messages)
    system = ""
    if messages and messages[0].role == "system":
        system = messages.pop(0).content
    turns: list[dict[str, str]] = []
    i = 0
    while i < len(messages):
        m = messages[i]
        if m.role == "system":
            raise RecordError("not_representable", f"messages.{i + int(bool(system))}: a system message after the "
                              "start (ShareGPT has one system field)")
        if m.role == "tool":
            results = []
            while i < len(messages) and messages[i].role == "tool":
                results.append(messages[i].content)
                i += 1
            turns.append(_turn("observation", results[0] if len(results) == 1 else json.dumps(results,
                                                                                             ensure_ascii=False)))
            continue
        if m.role == "assistant" and m.tool_calls:
            if turns and turns[-1]["from"] == "gpt":  # text, then calls, in two messages: one reply
                turns[-1] = _turn("function_call", _function_call(m.model_copy(update={
                    "content": SEPARATOR.join(t for t in (turns.pop()["value"], m.content) if t)})))
            else:
                turns.append(_turn("function_call", _function_call(m)))
        else:
            turns.append(_turn("gpt" if m.role == "assistant" else "human", m.content))
        i += 1
    turns = merge_turns(turns, _joined, content="value")
    for n, turn in enumerate(turns):
        expected = ("human", "observation") if n % 2 == 0 else ("gpt", "function_call")
        if turn["from"] not in expected:
            raise RecordError("not_alternating", f"turn {n} is {turn['from']!r}; LLaMA-Factory expects one of "
                              f"{expected} there")
    while turns and turns[-1]["from"] == "human":
        turns.pop()  # a closing user turn has no reply to learn from, and LLaMA-Factory drops odd-length rows
    if not turns:
        raise RecordError("not_representable", "no assistant turn to write")
    if len(turns) % 2:
        raise RecordError("not_alternating", "the conversation ends with an observation (no assistant turn after it)")
    out: dict[str, Any] = {"id": traj.id, "conversations": turns, "system": system}
    out["tools"] = json.dumps([{"name": t.name, "description": t.description, "parameters": t.parameters}
                               for t in traj.tools], ensure_ascii=False) if traj.tools else ""
    return out


def dataset_info_entry(out: Path) -> dict[str, Any]:
    """The LLaMA-Factory ``dataset_info.json`` entry for a file this writer wrote."""
    return {"file_name": out.name, "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system", "tools": "tools"}, "tags": dict(TAGS)}


def dataset_name(out: Path) -> str:
    name = out.name
    for suffix in (".gz", ".zst", ".jsonl", ".json", ".parquet"):
        name = name.removesuffix(suffix)
    return name


def companion(out: Path) -> None:
    """Add (or replace) this output's entry in ``dataset_info.json`` beside it, keeping the other entries."""
    info_path = out.parent / "dataset_info.json"
    info: dict[str, Any] = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AgentflanError(f"{info_path}: existing dataset_info.json is not valid JSON ({exc}); fix or remove "
                                 "it") from None
        if not isinstance(info, dict):
            raise AgentflanError(f"{info_path}: existing dataset_info.json is not a JSON object")
    info[dataset_name(out)] = dataset_info_entry(out)
    write_json_atomic(info_path, info)


READER = Reader("sharegpt", read, detect, "LLaMA-Factory ShareGPT (human/gpt/function_call/observation, tools)",
                priority=50)
WRITER = Writer("sharegpt", write, "LLaMA-Factory ShareGPT with function_call/observation turns (+ dataset_info.json)",
                companion=companion, call_syntax=("json", "hermes"))
