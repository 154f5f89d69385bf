"""``hermes``: NousResearch Hermes function calling (hermes-function-calling-v1), the ``<tool_call>`` /
``<tool_response>`` convention of the Hermes and Qwen2.5 chat templates, in ShareGPT rows.

Before::

    {"id": "demo-1",
     "conversations": [
       {"from": "system", "value": "You are a function calling AI model. ... <tools>\\n[{\\"type\\": \\"function\\",
                                   \\"function\\": {\\"name\\": \\"weather\\", \\"description\\": \\"\\", \\"parameters\\": {...}}}]\\n</tools> ..."},
       {"from": "human", "value": "Weather in Paris and Rome?"},
       {"from": "gpt", "value": "Checking both.\\n<tool_call>\\n{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}\\n</tool_call>\\n
                                <tool_call>\\n{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Rome\\"}}\\n</tool_call>"},
       {"from": "tool", "value": "<tool_response>\\n{\\"temp\\": 21}\\n</tool_response>\\n<tool_response>\\n{\\"temp\\": 25}\\n</tool_response>"},
       {"from": "gpt", "value": "Paris 21 °C, Rome 25 °C."}]}

After (canonical)::

    Trajectory(id="demo-1", tools=[Tool(name="weather", ...)], messages=[
        Message(role="system", content="You are a function calling AI model. ... <tools>...</tools> ..."),
        Message(role="user", content="Weather in Paris and Rome?"),
        Message(role="assistant", content="Checking both.",
                tool_calls=[ToolCall(name="weather", arguments={"city": "Paris"}),
                            ToolCall(name="weather", arguments={"city": "Rome"})]),
        Message(role="tool", content='{"temp": 21}', name="weather"),
        Message(role="tool", content='{"temp": 25}', name="weather"),
        Message(role="assistant", content="Paris 21 °C, Rome 25 °C.")])

Read: turns ``system``/``human``/``gpt``/``tool``. Tools come from the ``tools`` field (a JSON string or list) and
from every non-empty ``<tools>...</tools>`` block of the system turns — a JSON list, or several objects one after
another, in the OpenAI shape or bare, and (as the Hermes dataset writes them) JSON or Python literals with single
quotes, parsed as literals, never evaluated; a tool the field already names is not added twice. The system text
is kept verbatim: its instructions and its tool listing are what the model was trained with, and cutting the
listing out would leave sentences like "Here are the available tools:" pointing at nothing. (The one exception
is the tool section this writer itself appends, recognised exactly and removed again, so that a round trip does
not list the tools twice.) A ``gpt`` turn's ``<tool_call>`` blocks each hold a ``{"name", "arguments"}`` object
(or a list of them; arguments as an object or a JSON string) and become the message's calls, in order; the text
outside the blocks, trimmed where it touches a block, is the message content. A ``tool`` turn's
``<tool_response>`` blocks become one ``tool`` message each, answering the preceding calls in order (the name is
the call's); a ``tool`` turn without blocks is one result. Other top-level keys (``category``, ``task``...) go to
``metadata["hermes_fields"]``.

Write: a system turn holding the tools the Hermes way (an instruction sentence, ``<tools>`` with a JSON list,
the ``<tool_call>`` format), appended to the first system message or on its own when there is none; ``gpt``
turns with ``<tool_call>\\n{json}\\n</tool_call>`` blocks after the text; consecutive tool results in one ``tool``
turn of ``<tool_response>`` blocks (written as they are, without Hermes's ``{"name", "content"}`` wrapper); the
tools also as a ``tools`` JSON string. The chat rendering's plain-language tool list is cut from the system text
(the ``<tools>`` section describes the tools), and a ReAct record, whose prompt describes its tools, gets no
``<tools>`` section (`exports.tools_described_once`). A system message that already lists tools in ``<tools>`` is written
verbatim when those are the trajectory's tools, and rejected when they are not. Text that the tags would misread
(``<tool_call>`` in an assistant's text, ``</tool_response>`` in a result) is rejected, not escaped.

Lost on writing (so not lossless): call ids and ``tool_call_id`` (results are matched by order), a tool
message's own ``name``, trailing whitespace of text written beside calls, the position of text after calls,
an empty system message when there are tools, labels and weights, metadata other than ``hermes_fields``, flags
and provenance. ``read(write(t))`` keeps the messages, calls, results and tools otherwise (tested with
hypothesis).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

from agentflan import strictjson
from agentflan.callsyntax import closing_bracket, json_call, parse_arguments
from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.formats.exports import tools_described_once
from agentflan.formats.openai import parse_tools, tool_to_openai
from agentflan.schema import Message, Tool, ToolCall, Trajectory

_ROLE = {"system": "system", "human": "user", "gpt": "assistant", "tool": "tool"}
_TAG = {v: k for k, v in _ROLE.items()}
_KNOWN_KEYS = {"id", "conversations", "tools"}

_TOOLS_BLOCK = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_CALL_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_RESPONSE_BLOCK = re.compile(r"<tool_response>(.*?)</tool_response>", re.DOTALL)

PREAMBLE = ("You are a function calling AI model. You are provided with function signatures within <tools> </tools> "
            "XML tags. You may call one or more functions to assist with the user query. Don't make assumptions "
            "about what values to plug into functions. After calling & executing the functions, you will be "
            "provided with function results within <tool_response> </tool_response> XML tags. Here are the "
            "available tools:")
CALL_FORMAT = ("For each function call return a json object with function name and arguments within <tool_call> "
               "</tool_call> tags with the following schema:\n<tool_call>\n"
               '{"name": <function-name>, "arguments": <args-dict>}\n</tool_call>')
# This writer's own tool section at the end of the first system turn (see the module docstring).
_OWN_SECTION = re.compile(r"^(?:(?P<before>.*)\n\n)?" + re.escape(PREAMBLE) + r"\n<tools>\n.*\n</tools>\n"
                          + re.escape(CALL_FORMAT) + r"$", re.DOTALL)


# --- literals: JSON, or Python literals as the Hermes dataset writes them ----------------------------------------


def _jsonable(value: Any) -> Any:
    """A literal's value as JSON data; a tuple is a list, anything JSON has no form for (sets, bytes) is refused."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    raise ValueError(f"a {type(value).__name__} is not JSON data")


def literal_values(text: str) -> list[Any]:
    """Every object or list in ``text``, which must hold nothing else but whitespace and commas between them.

    Each is JSON, or else a Python literal (single quotes, ``True``/``None``) read with `ast.literal_eval`, which
    parses and never runs code. Raises `ValueError` saying what is wrong.
    """
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
            pos += 1
        if pos == len(text):
            return values
        if text[pos] not in "[{":
            raise ValueError(f"unexpected {text[pos:pos + 20]!r} at offset {pos}")
        end = closing_bracket(text, pos)
        span = text[pos:end]
        try:
            values.append(strictjson.loads(span))
        except json.JSONDecodeError as exc:
            try:
                values.append(_jsonable(ast.literal_eval(span)))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise ValueError(f"neither JSON ({exc.msg} at offset {pos + exc.pos}) nor a Python literal") from None
        pos = end


# --- reading ---------------------------------------------------------------------------------------------------


def system_tools(text: str, field: str) -> list[Tool]:
    """The tools listed in the non-empty ``<tools>`` blocks of a system text (instructions that merely name the
    tag, ``within <tools> </tools> XML tags``, have an empty block)."""
    items: list[Any] = []
    for block in _TOOLS_BLOCK.finditer(text):
        if not block.group(1).strip():
            continue
        try:
            values = literal_values(block.group(1))
        except ValueError as exc:
            raise RecordError("invalid_tools", f"{field}: the <tools> block does not parse: {exc}", field) from None
        for value in values:
            items.extend(value if isinstance(value, list) else [value])
    return parse_tools(items, f"{field}:<tools>") if items else []


def _edge_trim(body: str) -> str:
    # Some Hermes rows carry a literal backslash-n (two characters) inside the tags instead of a newline.
    body = body.strip()
    while body.startswith("\\n"):
        body = body[2:].lstrip()
    while body.endswith("\\n"):
        body = body[:-2].rstrip()
    return body


def _gpt_turn(text: str, where: str) -> tuple[str, list[ToolCall]]:
    blocks = list(_CALL_BLOCK.finditer(text))
    if not blocks:
        if "<tool_call>" in text or "</tool_call>" in text:
            raise RecordError("invalid_call", f"{where}: unmatched <tool_call> tag", where)
        return text, []
    pieces = [text[: blocks[0].start()].rstrip()]
    pieces += [text[a.end(): b.start()].strip() for a, b in pairwise(blocks)]
    pieces.append(text[blocks[-1].end():].strip())
    if any("<tool_call>" in p or "</tool_call>" in p for p in pieces):
        raise RecordError("invalid_call", f"{where}: unmatched <tool_call> tag", where)
    calls: list[ToolCall] = []
    for k, block in enumerate(blocks):
        try:
            values = literal_values(_edge_trim(block.group(1)))
        except ValueError as exc:
            raise RecordError("invalid_call", f"{where}: <tool_call> block {k} is not JSON: {exc}", where) from None
        items = values[0] if len(values) == 1 and isinstance(values[0], list) else values
        if not items:
            raise RecordError("invalid_call", f"{where}: <tool_call> block {k} is empty", where)
        for item in items:
            call = json_call(item)
            if call is None:
                raise RecordError("invalid_call", f"{where}: <tool_call> block {k} is not a {{name, arguments}} "
                                  "object", where)
            try:
                args = parse_arguments(call[1])
            except RecordError as err:
                raise RecordError(err.reason, f"{where}: <tool_call> block {k}: {err.detail}", where) from None
            calls.append(validated(ToolCall, where, name=call[0], arguments=args))
    content = "\n".join(p for p in pieces if p)
    return content, calls


def _tool_turn(text: str, where: str) -> list[str]:
    blocks = list(_RESPONSE_BLOCK.finditer(text))
    outside = _RESPONSE_BLOCK.sub("", text)
    if "<tool_response>" in outside or "</tool_response>" in outside:
        raise RecordError("invalid_tool_response", f"{where}: unmatched <tool_response> tag", where)
    if not blocks:
        return [text]
    if outside.strip():
        raise RecordError("invalid_tool_response", f"{where}: text outside the <tool_response> blocks "
                          f"({outside.strip()[:60]!r})", where)
    # The tags sit on their own lines ("<tool_response>\n...\n</tool_response>"): those two newlines are framing.
    return [b.group(1).removeprefix("\n").removesuffix("\n") for b in blocks]


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversations", list)
    if not turns:
        raise RecordError("empty_conversation", "conversations is empty", "conversations")
    tools = parse_tools(value.get("tools") or None)
    messages: list[Message] = []
    pending: list[ToolCall] = []  # the calls that the next tool results answer, in order
    answered = 0
    for i, turn in enumerate(turns):
        where = f"conversations.{i}"
        tag = require(turn, "from", str, where)
        text = require(turn, "value", str, where)
        if tag not in _ROLE:
            raise RecordError("invalid_role", f"{where}.from is {tag!r} (Hermes writes system/human/gpt/tool)",
                              f"{where}.from")
        field = f"{where}.value"
        if tag == "system":
            known = {t.name for t in tools}
            tools += [t for t in system_tools(text, field) if t.name not in known]
            if not messages and text.endswith(CALL_FORMAT):
                own = _OWN_SECTION.match(text)
                if own:
                    text = own.group("before") or ""
                    if not text:
                        continue  # the system turn this writer added only to list the tools
            messages.append(Message(role="system", content=text))
        elif tag == "gpt":
            content, calls = _gpt_turn(text, field)
            messages.append(Message(role="assistant", content=content, tool_calls=calls))
            pending, answered = calls, 0
        elif tag == "tool":
            results = _tool_turn(text, field)
            for k, result in enumerate(results, start=answered):
                name = pending[k].name if k < len(pending) else None  # a result no call asked for has no name
                messages.append(Message(role="tool", content=result, name=name))
            answered += len(results)
        else:
            messages.append(Message(role="user", content=text))
    if not messages:
        raise RecordError("empty_conversation", "conversations holds only the tool listing", "conversations")
    record_id = value.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
        record_id = ctx.default_id()
    extra = {k: v for k, v in value.items() if k not in _KNOWN_KEYS}
    yield validated(Trajectory, "<record>", id=str(record_id), tools=tools, messages=messages,
                    provenance=ctx.provenance(), metadata={"hermes_fields": extra} if extra else {})


def detect(value: Any, path: str) -> bool:
    """Hermes rows, not LLaMA-Factory ShareGPT ones: only system/human/gpt/tool turns, and a Hermes mark — a
    ``tool`` turn, a ``<tool_call>`` in a gpt turn or a ``<tools>`` listing in the system turn. (ShareGPT's
    ``function_call``/``observation`` turns are not Hermes; plain human/gpt chat is left to ``sharegpt``.)"""
    turns = value.get("conversations") if isinstance(value, dict) else None
    if not isinstance(turns, list) or not turns or not all(isinstance(t, dict) for t in turns):
        return False
    tags = {t.get("from") for t in turns}
    if not tags <= _ROLE.keys() or not tags & {"human", "gpt"}:
        return False
    return "tool" in tags or any(
        isinstance(t.get("value"), str) and (
            (t.get("from") == "gpt" and "<tool_call>" in t["value"])
            or (t.get("from") == "system" and _TOOLS_BLOCK.search(t["value"]) is not None))
        for t in turns)


# --- writing ---------------------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    # "</" written as "<\/" (the same JSON string) so that no value can close the tag around it.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def tools_section(tools: list[Tool]) -> str:
    return f"{PREAMBLE}\n<tools>\n{_json([tool_to_openai(t) for t in tools])}\n</tools>\n{CALL_FORMAT}"


def _reject(detail: str) -> RecordError:
    return RecordError("not_representable", detail)


def _system_value(m: Message, index: int, first: bool, traj: Trajectory) -> str:
    try:
        listed = system_tools(m.content, f"messages.{index}.content")
    except RecordError as err:
        raise _reject(f"messages.{index}: its <tools> block would be read as a tool list, and does not parse "
                      f"({err.detail})") from None
    if listed and sorted(t.name for t in listed) != sorted(t.name for t in traj.tools):
        raise _reject(f"messages.{index} lists tools in <tools> ({', '.join(t.name for t in listed)}) that are not "
                      "the trajectory's tools")
    if first and traj.tools and not listed:
        return f"{m.content}\n\n{tools_section(traj.tools)}" if m.content else tools_section(traj.tools)
    return m.content


def _call_block(call: ToolCall) -> str:
    return f"<tool_call>\n{_json({'name': call.name, 'arguments': call.arguments})}\n</tool_call>"


def write(traj: Trajectory) -> dict[str, Any]:
    traj = tools_described_once(traj)  # the <tools> section below describes them
    turns: list[dict[str, str]] = []
    messages = traj.messages
    if traj.tools and messages[0].role != "system":
        turns.append({"from": "system", "value": tools_section(traj.tools)})
    i = 0
    while i < len(messages):
        m = messages[i]
        if m.role == "tool":
            results = []
            while i < len(messages) and messages[i].role == "tool":
                if "</tool_response>" in messages[i].content or "<tool_response>" in messages[i].content:
                    raise _reject(f"messages.{i}: the tool result holds a <tool_response> tag")
                results.append(f"<tool_response>\n{messages[i].content}\n</tool_response>")
                i += 1
            turns.append({"from": "tool", "value": "\n".join(results)})
            continue
        if m.role == "system":
            value = _system_value(m, i, i == 0, traj)
        elif m.role == "assistant":
            if "<tool_call>" in m.content or "</tool_call>" in m.content:
                raise _reject(f"messages.{i}: the assistant text holds a <tool_call> tag")
            blocks = "\n".join(_call_block(c) for c in m.tool_calls)
            value = f"{m.content}\n{blocks}" if m.content and blocks else m.content or blocks
        else:
            value = m.content
        turns.append({"from": _TAG[m.role], "value": value})
        i += 1
    out: dict[str, Any] = {"id": traj.id, "conversations": turns,
                           "tools": json.dumps([tool_to_openai(t) for t in traj.tools], ensure_ascii=False)}
    extra = traj.metadata.get("hermes_fields")
    if isinstance(extra, dict):
        out.update({k: v for k, v in extra.items() if k not in out})
    return out


# Before sharegpt (50): a Hermes row with no tool turn (system/human/gpt) also passes sharegpt's detect.
READER = Reader("hermes", read, detect, "NousResearch Hermes function calling (<tools>, <tool_call>, "
                "<tool_response> in system/human/gpt/tool turns)", priority=40)
WRITER = Writer("hermes", write, "Hermes/Qwen <tool_call> convention in ShareGPT rows (tools in the system turn)",
                call_syntax="hermes")
