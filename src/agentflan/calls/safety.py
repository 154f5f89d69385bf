"""The safety rule: a reply that no reader parsed, but that opens a call in some syntax, names a tool in a
tool-naming sentence (the Agent-FLAN shape), or names an offered tool in call-like syntax, is `malformed`, never
an abstention. An unread call scored as an abstention would
lower the measured hallucination rate, the very error strict classification exists to prevent.

It only matters when no reader claimed the reply (every reader reports its own broken calls), e.g. when
``--call-syntax`` pins one syntax and the model wrote another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentflan.calls.conversation import announcement
from agentflan.calls.model import ParsedReply
from agentflan.calls.registry import SYNTAXES
from agentflan.callsyntax import json_values, value_at

_OPENERS: tuple[str, ...] = tuple(o for s in SYNTAXES for o in s.opens)
# An identifier directly followed by an opening bracket (`weather(`, `weather[`, `weather{`), and a JSON key
# that names a tool; either counts only when the name is an offered tool.
_CALL_LIKE = re.compile(r"([A-Za-z_][\w.\-]*)[(\[{]")
_BRACKETS = re.compile(r"[(\[{]")
_NAMED = re.compile(r'"(?:name|function|tool_name|action)"\s*:\s*"([^"\n]{1,128})"')


def opens_outside(text: str, opens: tuple[str, ...], values: list[tuple[Any, int, int]]) -> str | None:
    """The first of ``opens`` that occurs in ``text`` outside every JSON value (`json_values`), or None: a
    marker inside a JSON string is text (an argument of a call in another syntax), not a call opened."""
    for marker in opens:
        pos = text.find(marker)
        while pos >= 0:
            end = value_at(values, pos)
            if end is None:
                return marker
            pos = text.find(marker, end)
    return None


def apply(text: str, tools: Mapping[str, Mapping[str, Any]], out: ParsedReply) -> None:
    present = tuple(o for o in _OPENERS if o in text)
    opener = opens_outside(text, present, json_values(text)) if present else None
    named = announcement().search(text) if "`" in text else None
    if opener is not None:
        out.fail(f"safety rule: the reply opens a call ({opener!r}) that no reader could read")
    elif named is not None:
        out.fail(f"safety rule: the reply names the tool to use ({named.group(0)!r}) but no call could be read")
    elif tools:
        # Each pattern needs its bracket or quote: replies in prose have none, and the scans cost a tenth of
        # `eval classify` on them.
        name = next((m.group(1) for m in _CALL_LIKE.finditer(text) if m.group(1) in tools), None) \
            if _BRACKETS.search(text) else None
        name = name or (next((m.group(1) for m in _NAMED.finditer(text) if m.group(1) in tools), None)
                        if '"' in text else None)
        if name is None:
            return
        out.fail(f"safety rule: the reply names the offered tool {name!r} in call-like syntax, but no call "
                 "could be read")
    else:
        return
    out.safety_rule = True
