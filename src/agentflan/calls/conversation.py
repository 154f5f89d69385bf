"""The Agent-FLAN conversation shape, the one `agentflan build` teaches: the tool named in a sentence, the
arguments in the next block or turn::

    I need to search for the best kick boxer.            (reasoning)
    To do that, I'll use `search`.                       (retrieval: the tool-naming sentence)
    ```json
    {"query": "best kick boxer"}                         (understanding: the arguments)
    ```

Several calls name their tools one after the other, then give one ``{"name", "arguments"}`` block each.

The tool-naming sentences are recognised from the phrasing pools the construction draws them from
(`agentflan.phrasing.POOLS`): every pool whose templates name a tool and nothing else (``{{ name }}``,
in backticks) is a pool of tool-naming sentences, so whatever phrasings the pools hold are read. Pools that name
a tool beside other facts (a missing argument, the tools that do not fit) are replies that ask back or decline,
not calls. Models paraphrase, so a sentence that names an offered tool in backticks and is followed by an
argument block is read too.

The safety rule of this shape: a tool-naming sentence of the pools with no arguments after it is `malformed`,
never an abstention; `ParsedReply.dangling` says the reply ended right there (the arguments may still come in
the next turn).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from agentflan.calls.model import ParsedReply
from agentflan.calls.text import json_call_in
from agentflan.callsyntax import closing_bracket, json_call, json_values, value_at

Tools = Mapping[str, Mapping[str, Any]]

SYNTAX = "agentflan"
_SLOT = "AGENTFLANTOOLSLOT"
_NAME = r"`([^`\n]{1,128})`"
_TICKED = re.compile(_NAME)
_FENCE = "```"


def _is_tool_naming(template: str) -> bool:
    from jinja2 import Environment, meta

    names = meta.find_undeclared_variables(Environment().parse(template))
    return names == {"name"} and re.search(r"`\{\{\s*name\s*\}\}`", template) is not None


def tool_naming_pools() -> dict[str, tuple[str, ...]]:
    """The pools of `phrasing.POOLS` whose every template names a tool and nothing else."""
    from agentflan.phrasing import POOLS

    return {name: tuple(templates) for name, templates in POOLS.items()
            if templates and all(_is_tool_naming(t) for t in templates)}


def _words(literal: str) -> str:
    """A literal piece of a sentence as a pattern: any run of whitespace matches any other."""
    return r"\s+".join(re.escape(w) for w in literal.split(" ")) if literal else ""


@cache
def announcement() -> re.Pattern[str]:
    """One pattern matching every tool-naming sentence of the pools (case-insensitive; the final full stop may
    be missing at the end of a line); each alternative captures the tool name."""
    from agentflan.phrasing import render

    alternatives = []
    for templates in tool_naming_pools().values():
        for template in templates:
            text = render(template, name=_SLOT).strip()
            pieces = text.rstrip(".!").split(f"`{_SLOT}`")
            alternatives.append("(?:" + _NAME.join(_words(p) for p in pieces) + ")")
    if not alternatives:
        return re.compile(r"(?!x)x")  # no pool names a tool: nothing to recognise
    # Longest first: a sentence that extends another ("I'll call `x` for this." vs "I'll call `x`") wins.
    alternatives.sort(key=len, reverse=True)
    # The sentence must end where the template ends (its full stop, or the end of the line): "`x` can do this
    # once I know the city." asks back, it does not announce a call.
    return re.compile(r"(?<![\w`])(?:" + "|".join(alternatives) + r")(?:[.!]|(?=[ \t]*(?:\n|$)))",
                      re.IGNORECASE)


def _events(text: str, tools: Tools) -> tuple[list[tuple[int, int, str, bool]], list[tuple[Any, int, int]]]:
    """The tool-naming sentences (strong: of the pools; weak: an offered tool in backticks) outside JSON values,
    in order, and the JSON values."""
    values = json_values(text)
    strong = [(m.start(), m.end(), next(g for g in m.groups() if g), True)
              for m in announcement().finditer(text) if value_at(values, m.start()) is None]
    sentences = [(None, s, e) for s, e, _, _ in strong]
    weak = [(m.start(), m.end(), m.group(1), False) for m in _TICKED.finditer(text)
            if m.group(1) in tools and value_at(values, m.start()) is None and value_at(sentences, m.start()) is None]
    return sorted(strong + weak), values


def read_agentflan(text: str, tools: Tools, out: ParsedReply) -> bool:
    named, values = _events(text, tools)
    if not named:
        return False
    pending: list[tuple[int, int, str, bool]] = []
    calls: list[tuple[str, Any]] = []
    consumed = False
    last_end = 0
    events: list[tuple[int, int, str, Any]] = [(s, e, "name", (n, st)) for s, e, n, st in named]
    events += [(s, e, "value", v) for v, s, e in values]
    events.sort(key=lambda ev: ev[0])
    for start, end, kind, item in events:
        last_end = max(last_end, end)
        if kind == "name":
            pending.append((start, end, item[0], item[1]))
            continue
        for value in (item if isinstance(item, list) else [item]):
            call = json_call(value)
            match = next((p for p in pending if p[2] == call[0]), None) if call is not None else None
            if match is not None:  # a {"name", "arguments"} block for a tool named before it
                pending.remove(match)
                calls.append(call)  # type: ignore[arg-type]
                consumed = True
            elif isinstance(value, dict) and pending:
                # The arguments of the tool named first, even when they look like a call ({"name": "John"}).
                calls.append((pending.pop(0)[2], value))
                consumed = True
            elif json_call_in(value, tools) is not None:
                calls.append(call)  # type: ignore[arg-type]  # a call block no sentence announced
    truncated = bool(named) and _cut_off_after(text, named[0][0], values)
    strong_pending = [p for p in pending if p[3]]
    if not (consumed or strong_pending or truncated):
        return False  # backticked names in prose, no arguments: not this shape
    for name, args in calls:
        out.add(SYNTAX, name, args)
    if truncated:
        out.fail(f"{SYNTAX}: the arguments after the tool-naming sentence are cut off (truncated)")
    elif strong_pending:
        names = ", ".join(f"`{p[2]}`" for p in strong_pending)
        out.fail(f"{SYNTAX}: {names} named as the tool to use, but no arguments follow")
        out.safety_rule = True
        out.dangling = not text[last_end:].replace(_FENCE, "").strip()  # nothing after it but a closing fence
    return True


def _cut_off_after(text: str, start: int, values: list[tuple[Any, int, int]]) -> bool:
    """Whether an argument block opened after ``start`` never closes: a fence opened with no complete JSON value
    after it, or a ``{`` outside every complete JSON value whose bracket never closes."""
    fences, last, pos = 0, -1, text.find(_FENCE, start)
    while pos >= 0:  # fences written inside a JSON string value are text, not fences
        covering = value_at(values, pos)
        if covering is None:
            fences, last = fences + 1, pos
        pos = text.find(_FENCE, covering if covering is not None else pos + len(_FENCE))
    if fences % 2 == 1 and not any(s > last for _, s, _ in values):
        return True  # a block opened and nothing complete in it (a complete object whose fence never closed is kept)
    pos = text.find("{", start)
    while pos >= 0:
        covering = value_at(values, pos)
        if covering is not None:
            pos = text.find("{", covering)
            continue
        try:
            pos = text.find("{", closing_bracket(text, pos))
        except ValueError as exc:
            return str(exc) == "unterminated value"
    return False
