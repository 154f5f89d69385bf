"""Readers for calls written without a dedicated marker: ReAct sections, JSON call objects, Python-style calls
and ``name[args]``. These are the last resort of the precedence order, because each of them can also appear in
a plain answer (a JSON object of data, ``max(3, 5)`` in prose); the rules below say when it is a call."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agentflan.calls.model import ParsedReply
from agentflan.callsyntax import (
    closing_bracket,
    find_fenced_blocks,
    json_call,
    json_values,
    parse_arguments,
    parse_bracket_call,
    parse_python_calls,
    react_sections,
    strip_fence,
    value_at,
)
from agentflan.errors import RecordError

Tools = Mapping[str, Mapping[str, Any]]

# ReAct actions that end the episode rather than call a tool (ToolBench's Finish, FireAct's finish[...]).
_FINISH_ACTIONS = {"finish", "final answer", "final_answer", "finalaction"}
# Models often continue past their Action Input and invent the observation; it is not part of the arguments.
_OBSERVATION = re.compile(r"^\s*Observation(?:[ \t]+\d+)?\s*:", re.MULTILINE)
# A JSON object that opens like a call; if no complete JSON value covers it, the call was cut off.
_JSON_CALL_START = re.compile(r"\{\s*\"(?:name|function|tool_calls|arguments|parameters)\"\s*:")
_CALL_KEYS = ('"name"', '"function"', '"tool_calls"', '"arguments"', '"parameters"')
# The reply ends inside the first key of an object ({"na): cut off before the key was even complete.
_CUT_IN_KEY = re.compile(r"\{\s*(?P<key>\"\w*\"?)\s*$")
# Only a list's own punctuation counts: "[" or "}," before the object, ", {" or a final "," after it. A comma of
# prose ("Sure, {...}" or "{...}, then I'll answer") is not a list that was cut off.
_LIST_OPEN = re.compile(r"(?:\[|[}\]]\s*,)\s*$")
_LIST_NEXT = re.compile(r"\s*,\s*(?:[{\[]|$)")
# The whole reply opens like a Python call (optionally inside a list), e.g. "get_weather(city='Pa".
_PY_CALL_START = re.compile(r"^\s*\[?\s*(?P<name>[A-Za-z_][\w.]*)\(")
# Llama 4 may wrap its Python-style calls in these tokens.
_PY_WRAPPERS = ("<|python_start|>", "<|python_end|>")


# --- ReAct -----------------------------------------------------------------------------------------------------


def read_react(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``Action: name`` + ``Action Input: {json}`` (ToolBench, Qwen ReAct), ``Action: name[args]`` (FireAct,
    AgentInstruct's ``Act:``), numbered ``Action 1: Search[x]`` (the ReAct paper), and an Action whose body is a
    JSON blob ``{"action", "action_input"}`` (LangChain agents). ``Finish`` is the answer, not a call."""
    sections = react_sections(text)
    if not any(name == "action" for name, *_ in sections):
        return False
    for i, (name, body, _, _) in enumerate(sections):
        if name != "action":
            continue
        following = sections[i + 1] if i + 1 < len(sections) else None
        raw_input = following[1] if following and following[0] == "action_input" else None
        if raw_input is None and body.strip().startswith(("{", "```")):
            _react_blob(body, tools, out)
            continue
        # The action is its first line; models sometimes keep talking on the lines after it.
        action = body.strip().splitlines()[0].strip() if body.strip() else ""
        bracket = parse_bracket_call(action) if raw_input is None else None
        tool = bracket[0] if bracket else action
        if tool.lower() in _FINISH_ACTIONS and tool not in tools:
            continue  # the episode's answer, not a tool call
        if bracket:
            out.add("react", tool, bracket_arguments(bracket[0], bracket[1], tools))
            continue
        if raw_input is not None:
            cut = _OBSERVATION.search(raw_input)
            raw_input = _leading_json(raw_input[: cut.start()] if cut else raw_input)
        out.add("react", tool, raw_input, "react: Action Input")
    return True


def _react_blob(body: str, tools: Tools, out: ParsedReply) -> None:
    cut = _OBSERVATION.search(body)
    blob = strip_fence(_leading_json(body[: cut.start()] if cut else body).strip())
    try:
        value = json.loads(blob)
    except (json.JSONDecodeError, RecursionError, MemoryError):
        out.fail("react: the Action is not a complete JSON object (truncated?)")
        return
    if isinstance(value, dict) and "action" in value:
        tool = value["action"]
        if isinstance(tool, str) and tool.lower() in _FINISH_ACTIONS and tool not in tools:
            return
        raw = value.get("action_input", {})
        out.add("react", tool, raw if isinstance(raw, dict | str) else {"input": raw}, "react: Action")
        return
    call = json_call(value)
    if call is None:
        out.fail("react: the Action's JSON names no tool")
        return
    out.add("react", call[0], call[1], "react: Action")


def _leading_json(text: str) -> str:
    """A JSON object at the start of an Action Input, without prose the model wrote after it; text that does not
    start with a complete object is returned as is (for `parse_arguments` to accept or report)."""
    stripped = strip_fence(text.strip())
    values = json_values(stripped)
    if values and values[0][1] == 0 and isinstance(values[0][0], dict):
        return stripped[: values[0][2]]
    return text


# --- JSON call objects -------------------------------------------------------------------------------------------


def json_call_in(item: Any, tools: Tools) -> tuple[str, Any] | None:
    """A JSON call object; a lone ``{"name": X}`` counts only when X is an offered tool, since an answer that is
    a data object with a name field (``{"name": "John"}``) is not a call."""
    call = json_call(item)
    if call is not None and isinstance(item, dict) and set(item) == {"name"} and call[0] not in tools:
        return None
    return call


def read_json(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``{"name", "arguments"|"parameters"}`` objects, bare or fenced, alone or in a list (Llama 3.x JSON, xLAM's
    ``{"tool_calls": [...]}`` and lists, OpenAI-shaped ``{"type": "function", "function": {...}}``)."""
    values = json_values(text)
    found = False
    covered: list[tuple[int, int]] = []
    for value, start, end in values:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
            items = value["tool_calls"]
        calls = [json_call_in(item, tools) for item in items]
        if not items or any(c is None for c in calls):
            continue
        found = True
        if isinstance(value, dict) and (_LIST_OPEN.search(text[:start]) or _LIST_NEXT.match(text[end:])):
            # A call that sits in a list which never closes: the reply was cut off mid-list.
            out.fail("json: a list of calls that is not closed (truncated)")
        covered.append((start, end))
        for c in calls:
            if c is not None:
                out.add("json", c[0], c[1])
    # An opening like {"name": ... that no complete value covers is a call cut off mid-way.
    for m in _JSON_CALL_START.finditer(text):
        if value_at(values, m.start()) is None:
            out.fail("json: a call object that does not parse (truncated or invalid JSON)")
            return True
    cut = _CUT_IN_KEY.search(text)
    if cut and value_at(values, cut.start()) is None and any(
        key.startswith(cut.group("key")) for key in _CALL_KEYS
    ):
        out.fail("json: a call object cut off in its first key (truncated)")
        return True
    return found


# --- Python-style calls ------------------------------------------------------------------------------------------


def read_python(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``name(k=v)`` or ``[f(...), g(...)]`` (BFCL's answer shape, Llama 3.2/4 and Gemma's pythonic calls),
    parsed with `ast`, never evaluated. Inside prose or a code block, a call counts only when it names an
    offered tool (an answer that quotes ``print("hi")`` is not a call)."""
    whole = strip_fence(_unwrap(text).strip())
    candidates = [(whole, True)] + [(body, False) for _, body in find_fenced_blocks(text) if body.strip() != whole]
    for candidate, is_whole in candidates:
        try:
            calls = parse_python_calls(candidate)
        except ValueError as exc:
            if is_whole:
                out.fail(f"python: {exc}")
                return True
            continue
        if calls is None:
            continue
        if is_whole or all(name in tools for name, _ in calls):
            for name, args in calls:
                out.add("python", name, args)
            return True
    start = _PY_CALL_START.match(whole)
    # "max(3, 5) is 5" is prose; "get_weather(city='Par" is a call cut off (its brackets never close).
    if start and (cut_off(whole) or start.group("name") in tools):
        out.fail("python: a call expression that does not parse (truncated?)")
        return True
    return False


def _unwrap(text: str) -> str:
    for token in _PY_WRAPPERS:
        text = text.replace(token, "")
    return text


def cut_off(text: str) -> bool:
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


# --- name[args] -------------------------------------------------------------------------------------------------


def read_bracket(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``search[best kick boxer]`` as the whole reply (FireAct, WebShop)."""
    bracket = parse_bracket_call(text.strip())
    if bracket is None:
        return False
    out.add("bracket", bracket[0], bracket_arguments(bracket[0], bracket[1], tools))
    return True


def bracket_arguments(name: str, args_text: str, tools: Tools) -> dict[str, Any]:
    """``name[...]`` arguments: a JSON object as written; plain text goes to the tool's only parameter (FireAct's
    ``search[query]``), or to ``input`` when the tool has several (the schema check then reports it)."""
    try:
        return parse_arguments(args_text) if args_text.strip().startswith("{") else plain_argument(name, args_text, tools)
    except RecordError:
        return plain_argument(name, args_text, tools)


def plain_argument(name: str, args_text: str, tools: Tools) -> dict[str, Any]:
    props = (tools.get(name) or {}).get("properties")
    keys = list(props) if isinstance(props, Mapping) else []
    return {keys[0] if len(keys) == 1 else "input": args_text}
