"""Reading the tool calls out of a model reply, whatever shape the model wrote them in.

A reply is either text or an OpenAI-style assistant message (a dict with ``content`` and ``tool_calls``). Text is
tried against the shapes models actually produce, most specific first, and the first shape present decides:

1. Hermes/Qwen ``<tool_call>{json}</tool_call>`` blocks;
2. ReAct ``Action:`` + ``Action Input:`` sections (``Action: search[query]`` too);
3. JSON call objects ``{"name", "arguments"|"parameters"}`` (bare, fenced, in a list, or OpenAI-shaped);
4. Python-style calls ``name(k=v)`` or ``[f(...), g(...)]`` (parsed with `ast`, never evaluated);
5. ``name[args]`` as the whole reply.

Something that starts like a call but does not parse (truncated JSON in a ``<tool_call>``, an Action Input that is
not JSON, an unclosed Python call) is recorded in ``malformed``: the classifier must never mistake a broken call for
an abstention, which is the flaw of BFCL's irrelevance score.

>>> r = parse_reply('<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>')
>>> [(c.name, c.arguments, c.shape) for c in r.calls], r.malformed
([('weather', {'city': 'Paris'}, 'hermes')], [])
>>> parse_reply('<tool_call>{"name": "weather", "argu').malformed
['hermes: <tool_call> body is not a JSON call']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentflan.callsyntax import (
    closing_bracket,
    find_fenced_blocks,
    find_tagged_blocks,
    json_call,
    json_values,
    parse_arguments,
    parse_bracket_call,
    parse_python_calls,
    react_sections,
    strip_fence,
)
from agentflan.errors import RecordError

SHAPES = ("openai", "hermes", "react", "json", "python", "bracket")

# A JSON object that opens like a call; if no complete JSON value covers it, the call was cut off.
_JSON_CALL_START = re.compile(r"\{\s*\"(?:name|function|tool_calls|arguments|parameters)\"\s*:")
# The whole reply opens like a Python call (optionally inside a list), e.g. "get_weather(city='Pa".
_PY_CALL_START = re.compile(r"^\s*\[?\s*(?P<name>[A-Za-z_][\w.]*)\(")
# ReAct actions that end the episode rather than call a tool (ToolBench's Finish, FireAct's finish[...]).
_FINISH_ACTIONS = {"finish", "final answer", "final_answer", "finalaction"}
# Models often continue past their Action Input and invent the observation; it is not part of the arguments.
# The reply ends inside the first key of an object ({"na): cut off before the key was even complete.
_CUT_IN_KEY = re.compile(r"\{\s*(?P<key>\"\w*\"?)\s*$")
_LIST_OPEN = re.compile(r"[\[,]\s*$")
_LIST_NEXT = re.compile(r"\s*,")
_OBSERVATION = re.compile(r"^\s*Observation\s*:", re.MULTILINE)


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    shape: str  # one of SHAPES

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass
class ParsedReply:
    text: str
    calls: list[ParsedCall] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # why each call attempt did not parse

    @property
    def shape(self) -> str | None:
        return self.calls[0].shape if self.calls else None


def reply_text(reply: str | Mapping[str, Any] | None) -> str:
    """The text of a reply given as a string or an assistant message (``content`` may be null)."""
    if reply is None:
        return ""
    if isinstance(reply, str):
        return reply
    content = reply.get("content")
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return content if isinstance(content, str) else ""


def parse_reply(reply: str | Mapping[str, Any] | None, tools: Mapping[str, Mapping[str, Any]] | None = None
                ) -> ParsedReply:
    """The calls in a reply and the call attempts that did not parse.

    ``tools`` maps offered tool names to their (normalised) parameter schemas. It decides two doubtful cases:
    a Python-style call inside prose counts only when it names an offered tool (an answer that quotes
    ``print("hi")`` is not a call), and ``name[text]`` gives its text to the tool's only parameter.
    """
    tools = tools or {}
    text = reply_text(reply)
    out = ParsedReply(text=text)
    if isinstance(reply, Mapping) and (reply.get("tool_calls") or reply.get("function_call")):
        _openai_calls(reply, out)
        return out
    for parser in (_hermes, _react, _json, _python, _bracket):
        if parser(text, tools, out):
            return out
    return out


def _add(out: ParsedReply, shape: str, name: Any, raw_args: Any, where: str) -> None:
    if not isinstance(name, str) or not name.strip():
        out.malformed.append(f"{where}: call without a tool name")
        return
    try:
        args = parse_arguments(raw_args)
    except RecordError as err:
        out.malformed.append(f"{where}: {err.detail or err.reason}")
        return
    out.calls.append(ParsedCall(name.strip(), args, shape))


def _openai_calls(reply: Mapping[str, Any], out: ParsedReply) -> None:
    calls = reply.get("tool_calls") or []
    if not calls and isinstance(reply.get("function_call"), Mapping):  # the pre-2023 single-call field
        calls = [{"function": reply["function_call"]}]
    if not isinstance(calls, list):
        out.malformed.append("openai: tool_calls is not a list")
        return
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping):
            out.malformed.append(f"openai: tool_calls[{i}] has no function")
            continue
        _add(out, "openai", fn.get("name"), fn.get("arguments"), f"openai: tool_calls[{i}]")


def _hermes(text: str, tools: Mapping[str, Any], out: ParsedReply) -> bool:
    blocks = find_tagged_blocks(text, "tool_call")
    if not blocks:
        return False
    for body, _closed in blocks:
        values = json_values(body)
        # One block may hold one call or a list of calls (some Qwen fine-tunes write a list).
        items = values[0][0] if len(values) == 1 and isinstance(values[0][0], list) else [v for v, _, _ in values]
        if len(values) != 1 or body[: values[0][1]].strip() or body[values[0][2]:].strip():
            out.malformed.append("hermes: <tool_call> body is not a JSON call")
            continue
        for item in items:
            call = json_call(item)
            if call is None:
                out.malformed.append("hermes: <tool_call> body is not a JSON call")
                continue
            _add(out, "hermes", call[0], call[1], "hermes")
    return True


def _react(text: str, tools: Mapping[str, Any], out: ParsedReply) -> bool:
    sections = react_sections(text)
    if not any(name == "action" for name, *_ in sections):
        return False
    for i, (name, body, _, _) in enumerate(sections):
        if name != "action":
            continue
        # The action is its first line; models sometimes keep talking on the lines after it.
        action = body.strip().splitlines()[0].strip() if body.strip() else ""
        following = sections[i + 1] if i + 1 < len(sections) else None
        raw_input = following[1] if following and following[0] == "action_input" else None
        bracket = parse_bracket_call(action) if raw_input is None else None
        name = bracket[0] if bracket else action
        if name.lower() in _FINISH_ACTIONS and name not in tools:
            continue  # the episode's answer, not a tool call
        if bracket:
            _add(out, "react", name, _bracket_arguments(bracket[0], bracket[1], tools), "react")
            continue
        if raw_input is not None:
            cut = _OBSERVATION.search(raw_input)
            raw_input = _leading_json(raw_input[: cut.start()] if cut else raw_input)
        _add(out, "react", name, raw_input, "react: Action Input")
    return True


def _json_call(item: Any, tools: Mapping[str, Any]) -> tuple[str, Any] | None:
    """A JSON call object; a lone ``{"name": X}`` counts only when X is an offered tool, since an answer that is
    a data object with a name field (``{"name": "John"}``) is not a call."""
    call = json_call(item)
    if call is not None and isinstance(item, dict) and set(item) == {"name"} and call[0] not in tools:
        return None
    return call


def _leading_json(text: str) -> str:
    """A JSON object at the start of an Action Input, without prose the model wrote after it; text that does not
    start with a complete object is returned as is (for `parse_arguments` to accept or report)."""
    stripped = strip_fence(text.strip())
    values = json_values(stripped)
    if values and values[0][1] == 0 and isinstance(values[0][0], dict):
        return stripped[: values[0][2]]
    return text


def _json(text: str, tools: Mapping[str, Any], out: ParsedReply) -> bool:
    values = json_values(text)
    found = False
    covered: list[tuple[int, int]] = []
    for value, start, end in values:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
            items = value["tool_calls"]
        calls = [_json_call(item, tools) for item in items]
        if items and all(c is not None for c in calls):
            found = True
            if isinstance(value, dict) and (_LIST_OPEN.search(text[:start]) or _LIST_NEXT.match(text[end:])):
                # A call that sits in a list which never closes: the reply was cut off mid-list.
                out.malformed.append("json: a list of calls that is not closed (truncated)")
            covered.append((start, end))
            for c in calls:
                assert c is not None
                _add(out, "json", c[0], c[1], "json")
    # An opening like {"name": ... that no complete value covers is a call cut off mid-way.
    for m in _JSON_CALL_START.finditer(text):
        if not any(s <= m.start() < e for s, e in covered) and not any(
            s <= m.start() < e for _, s, e in values
        ):
            out.malformed.append("json: a call object that does not parse (truncated or invalid JSON)")
            return True
    cut = _CUT_IN_KEY.search(text)
    if cut and not any(s <= cut.start() < e for _, s, e in values) and any(
        key.startswith(cut.group("key")) for key in ('"name"', '"function"', '"tool_calls"', '"arguments"', '"parameters"')
    ):
        out.malformed.append("json: a call object cut off in its first key (truncated)")
        return True
    return found


def _python(text: str, tools: Mapping[str, Any], out: ParsedReply) -> bool:
    whole = strip_fence(text.strip())
    candidates = [(whole, True)] + [(body, False) for _, body in find_fenced_blocks(text) if body.strip() != whole]
    for candidate, is_whole in candidates:
        try:
            calls = parse_python_calls(candidate)
        except ValueError as exc:
            if is_whole:
                out.malformed.append(f"python: {exc}")
                return True
            continue
        if calls is None:
            continue
        # Quoted code in an answer is not a call unless it names an offered tool.
        if is_whole or all(name in tools for name, _ in calls):
            out.calls.extend(ParsedCall(name, args, "python") for name, args in calls)
            return True
    start = _PY_CALL_START.match(whole)
    # "max(3, 5) is 5" is prose; "get_weather(city='Par" is a call cut off (its brackets never close).
    if start and (_cut_off(whole) or start.group("name") in tools):
        out.malformed.append("python: a call expression that does not parse (truncated?)")
        return True
    return False


def _cut_off(text: str) -> bool:
    """Whether a Python-like call (or list of calls) is cut off: its first bracket never closes. A bracket inside
    a string literal does not count: ``a(x='1)`` is cut off although it has as many ``)`` as ``(``."""
    start = next((i for i, ch in enumerate(text) if ch in "([{"), -1)  # "[f(a=1), g(" opens with the list
    if start < 0:
        return False
    try:
        closing_bracket(text, start)
    except ValueError as exc:
        return str(exc) == "unterminated value"
    return False


def _bracket(text: str, tools: Mapping[str, Any], out: ParsedReply) -> bool:
    bracket = parse_bracket_call(text.strip())
    if bracket is None:
        return False
    _add(out, "bracket", bracket[0], _bracket_arguments(bracket[0], bracket[1], tools), "bracket")
    return True


def _bracket_arguments(name: str, args_text: str, tools: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``name[...]`` arguments: a JSON object as written; plain text goes to the tool's only parameter (FireAct's
    ``search[query]``), or to ``input`` when the tool has several (the schema check then reports it)."""
    try:
        return parse_arguments(args_text) if args_text.strip().startswith("{") else _plain(name, args_text, tools)
    except RecordError:
        return _plain(name, args_text, tools)


def _plain(name: str, args_text: str, tools: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    props = (tools.get(name) or {}).get("properties")
    keys = list(props) if isinstance(props, Mapping) else []
    return {keys[0] if len(keys) == 1 else "input": args_text}
