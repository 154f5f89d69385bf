"""Parsing tool calls written as text, in the shapes agent corpora and model replies use.

One module serves the readers (ReAct corpora, ToolLLaMA, AgentInstruct) and the evaluation's reply
classifier, so a call is recognised the same way when we train on it and when we score it. Nothing here
evaluates code: Python-style calls are parsed with `ast` and only literals are accepted.

>>> parse_react("Thought: I need the weather.\\nAction: weather\\nAction Input: {\\"city\\": \\"Paris\\"}")
ReactStep(thought='I need the weather.', action='weather', action_input='{"city": "Paris"}', final_answer=None)
>>> parse_bracket_call("search[best kick boxer]")
('search', 'best kick boxer')
>>> parse_python_call("get_weather(city='Paris', days=3)")
('get_weather', {'city': 'Paris', 'days': 3})
"""

from __future__ import annotations

import ast
import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

from agentflan.errors import RecordError


@dataclass(frozen=True)
class ReactStep:
    thought: str | None
    action: str | None
    action_input: str | None  # raw text after "Action Input:", not yet parsed
    final_answer: str | None


# Keyword lines of ReAct-style text. Order matters: "Action Input" before "Action". The ReAct paper's own
# prompts number the steps ("Thought 1:", "Action 1: Search[...]").
_REACT_KEYS = {
    "thought": r"Thought|THOUGHT|Think",
    "action_input": r"Action Input|Action input|ACTION INPUT",
    "action": r"Action|ACTION|Act",
    "final_answer": r"Final Answer|Final answer|FINAL ANSWER",
}
# A keyword line, matched at the start of each line in turn: one named group per section, so that a match names
# its section (``lastgroup``). Trying the pattern at each line start is several times faster than letting a
# multi-line ``^`` pattern scan every character.
_REACT_LINE = re.compile(
    r"[ \t]*(?:" + "|".join(f"(?P<{name}>{v})" for name, v in _REACT_KEYS.items()) + r")(?:[ \t]+\d+)?[ \t]*:[ \t]?")
REACT_KEYWORDS = ("Thought:", "Action:", "Action Input:", "Final Answer:")


def react_sections(text: str) -> list[tuple[str, str, int, int]]:
    """Split ReAct text into (section name, body, start, end) in order; text before the first keyword is a
    ``preamble`` section. Offsets let callers label spans of the original text."""
    matches: list[re.Match[str]] = []
    pos = 0
    while True:
        m = _REACT_LINE.match(text, pos)
        if m is not None:
            matches.append(m)
        pos = text.find("\n", pos) + 1
        if not pos:
            break
    if not matches:
        return [("preamble", text, 0, len(text))] if text else []
    sections: list[tuple[str, str, int, int]] = []
    if matches[0].start() > 0:
        sections.append(("preamble", text[: matches[0].start()], 0, matches[0].start()))
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        end = nxt.start() if nxt else len(text)
        sections.append((m.lastgroup or "", text[m.end() : end], m.end(), end))
    return sections


def parse_react(text: str) -> ReactStep:
    """The thought, action, raw action input and final answer of one ReAct assistant turn.

    Raises `RecordError("unparseable_react")` when the text has none of the ReAct keywords, or a keyword
    appears twice (two actions in one turn cannot be ordered against their observations).
    """
    found: dict[str, str] = {}
    for name, body, _, _ in react_sections(text):
        if name == "preamble":
            if body.strip():
                found["preamble"] = body
            continue
        if name in found:
            raise RecordError("unparseable_react", f"{name.replace('_', ' ')} appears twice in one turn")
        found[name] = body
    if not ({"thought", "action", "final_answer"} & found.keys()):
        raise RecordError("unparseable_react", "no Thought:/Action:/Final Answer: in the turn")
    thought = found.get("thought")
    if thought is None and "preamble" in found:
        thought = found["preamble"]
    return ReactStep(
        thought=thought.strip() if thought is not None else None,
        action=found["action"].strip() if "action" in found else None,
        action_input=found["action_input"].strip() if "action_input" in found else None,
        final_answer=found["final_answer"].strip() if "final_answer" in found else None,
    )


_BRACKET = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.\-]*)\s*\[(?P<args>.*)\]\s*$", re.DOTALL)


def parse_bracket_call(text: str) -> tuple[str, str] | None:
    """``name[args]`` → (name, args text), or None when the text is not of that shape."""
    m = _BRACKET.match(text)
    return (m.group("name"), m.group("args")) if m else None


# What a parser raises on input nested deeper than the interpreter's stack allows (``f(x=----…1)``,
# ``[[[[…]]]]``): such text is rejected with a reason, never a crash.
_TOO_DEEP = (RecursionError, MemoryError)
TOO_DEEP = "nested too deeply to read"


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except _TOO_DEEP as exc:
        raise ValueError(TOO_DEEP) from exc
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ValueError(f"not a literal: {_dump(node)}") from exc


def _dump(node: ast.AST) -> str:
    try:
        return ast.dump(node)[:80]
    except _TOO_DEEP:
        return TOO_DEEP


def _parse_expression(text: str) -> ast.expr | None:
    """The expression ``text`` holds, or None when it is not one; `ValueError` when it is nested too deeply
    for `ast` (an attempt at something, not prose)."""
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    except _TOO_DEEP as exc:
        raise ValueError(TOO_DEEP) from exc


def parse_python_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """``name(k=v, ...)`` → (name, {k: v}) with literal values only; positional arguments become ``arg0``...

    Returns None for text that is not a single call expression; raises `ValueError` for a call whose
    arguments are not literals (a call attempt that does not parse).
    """
    node = _parse_expression(text)
    if not isinstance(node, ast.Call):
        return None
    return _call(node)


def _call(node: ast.Call) -> tuple[str, dict[str, Any]] | None:
    name = _dotted_name(node.func)
    if name is None:
        return None
    args: dict[str, Any] = {f"arg{i}": _literal(a) for i, a in enumerate(node.args)}
    for kw in node.keywords:
        if kw.arg is None:
            raise ValueError("**kwargs in a call")
        args[kw.arg] = _literal(kw.value)
    return name, args


def _dotted_name(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):  # a loop, not recursion: ``a.a.a…`` may be thousands deep
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def parse_arguments(text: str | dict[str, Any] | None) -> dict[str, Any]:
    """Arguments given as a dict or a JSON string → dict. Raises `RecordError("args_not_json")` otherwise.

    Python-literal dicts (single quotes, True/None) are accepted via `ast.literal_eval`, since several corpora
    write them; anything else is rejected rather than guessed.
    """
    if text is None:
        return {}
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        raise RecordError("args_not_json", f"arguments of type {type(text).__name__}")
    stripped = strip_fence(text.strip())
    if stripped == "":
        return {}
    try:
        value = json.loads(stripped)
    except _TOO_DEEP:
        raise RecordError("args_not_json", f"arguments are {TOO_DEEP}") from None
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, TypeError, SyntaxError, *_TOO_DEEP):
            raise RecordError("args_not_json", f"arguments are not JSON ({exc.msg} at column {exc.colno}): "
                              f"{stripped[:120]!r}") from None
    if isinstance(value, str):
        # Double-encoded arguments ("{\"a\": 1}") appear in scraped corpora; decode one more level.
        return parse_arguments(value)
    if not isinstance(value, dict):
        raise RecordError("args_not_json", f"arguments must be an object, got {type(value).__name__}")
    return value


_FENCE = re.compile(r"^```[\w+-]*\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


def strip_fence(text: str) -> str:
    """The body of a fenced code block (```lang ... ```), or the text unchanged."""
    m = _FENCE.match(text.strip())
    return m.group("body") if m else text


def find_fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language, body), in order."""
    return [(m.group(1) or "", m.group(2)) for m in re.finditer(r"```([\w+-]*)[ \t]*\n(.*?)\n?```", text, re.DOTALL)]


# --- Primitives for reading calls out of free-form model replies (used by agentflan.calls) -------------------

_CLOSER = {"(": ")", "[": "]", "{": "}"}


def closing_bracket(text: str, start: int) -> int:
    """The end (exclusive) of the bracketed value opening at ``start``; brackets inside string literals (either
    quote, backslash escapes) do not count. `ValueError` "unbalanced ..." for a closer that does not match, and
    "unterminated value" when the text ends first (inside a string, or with a bracket open)."""
    stack: list[str] = []
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in _CLOSER:
            stack.append(_CLOSER[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                raise ValueError(f"unbalanced {ch!r} at offset {i}")
            if not stack:
                return i + 1
        i += 1
    raise ValueError("unterminated value")


def parse_python_calls(text: str) -> list[tuple[str, dict[str, Any]]] | None:
    """One Python-style call or a list/tuple of them (``[f(a=1), g(b=2)]``, BFCL's answer shape) → [(name,
    args)]. None when the text is not such an expression; `ValueError` when a call's arguments are not
    literals. Parsed with `ast`, never evaluated."""
    node = _parse_expression(text)
    if node is None:
        return None
    elements = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
    if not elements or not all(isinstance(e, ast.Call) and _dotted_name(e.func) for e in elements):
        return None
    calls = [_call(e) for e in elements if isinstance(e, ast.Call)]
    return [c for c in calls if c is not None]


_JSON_DECODER = json.JSONDecoder()
# Where a JSON object or array can start: other brackets (prose, code) are not tried, since every failed decode
# costs a scan of the text before it (the decoder counts lines for its error message).
_JSON_OPENING = re.compile(r'\{\s*["}]|\[\s*[-"{\[\]0-9tfn]')


def json_values(text: str) -> list[tuple[Any, int, int]]:
    """Every complete JSON object or array embedded in free text, as (value, start, end), outermost only and in
    order. Text between them is ignored, so prose around a call does not hide it."""
    found: list[tuple[Any, int, int]] = []
    pos = 0
    while True:
        opening = _JSON_OPENING.search(text, pos)
        if opening is None:
            return found
        start = opening.start()
        try:
            value, end = _JSON_DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        except _TOO_DEEP:
            # Skip the whole nested value: retrying at each inner bracket would cost quadratic time.
            pos = _value_end(text, start)
            continue
        found.append((value, start, end))
        pos = end


def value_at(values: list[tuple[Any, int, int]], pos: int) -> int | None:
    """The end of the value of `json_values` (in order, never overlapping) that holds offset ``pos``, or None;
    a binary search, so checking every bracket of a long reply stays linear-logarithmic."""
    i = bisect.bisect_right(values, pos, key=lambda v: v[1]) - 1
    return values[i][2] if i >= 0 and pos < values[i][2] else None


def _value_end(text: str, start: int) -> int:
    try:
        return closing_bracket(text, start)
    except ValueError:
        return len(text)


def json_call(value: Any) -> tuple[str, Any] | None:
    """The (name, raw arguments) of a call written as a JSON object, or None when the object is not one.

    Shapes: ``{"name", "arguments"}`` (Hermes, Agent-FLAN), ``{"name", "parameters"}`` (Llama 3.x, Agent-FLAN's
    ``json`` fence), and OpenAI's ``{"type": "function", "function": {"name", "arguments"}}``. The arguments
    are returned as written (a dict or a JSON string) for `parse_arguments`.
    """
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict) and "name" in value["function"]:
        return json_call(value["function"])
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    for key in ("arguments", "parameters"):
        if key in value:
            return name.strip(), value[key]
    # A bare {"name": ...} is a call with no arguments only when nothing else is in the object.
    return (name.strip(), {}) if set(value) == {"name"} else None
