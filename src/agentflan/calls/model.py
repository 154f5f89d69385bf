"""What reading a reply produces: the calls, the call attempts that did not parse, and which syntax decided.

A reply is text, an OpenAI-style assistant message (``content`` and ``tool_calls``), a ShareGPT-style turn
(``value``), or a sequence of consecutive assistant turns of any of these (a chat template that renders each
assistant part as its own turn makes a model end its message after the tool-naming sentence; the arguments come
in the next turn). Nothing here raises on odd input: a reply that is not text is read as empty text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentflan.callsyntax import parse_arguments
from agentflan.errors import RecordError

Turn = str | Mapping[str, Any]
Reply = Turn | Sequence[Turn] | None


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    syntax: str  # the name of the syntax it was read in (`agentflan.calls.SYNTAXES`), or of an ecosystem parser

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass
class ParsedReply:
    text: str
    calls: list[ParsedCall] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # why each call attempt did not parse
    syntax: str | None = None  # the syntax that decided: of the calls, or of the attempt that failed
    safety_rule: bool = False  # malformed by the safety rule: a call was named or opened, but none was read
    dangling: bool = False  # ends on a tool-naming sentence whose arguments have not come (yet)

    @property
    def empty(self) -> bool:
        """Nothing at all: whitespace only, no call. Not an abstention (the model said nothing)."""
        return not self.calls and not self.malformed and not self.text.strip()

    def add(self, syntax: str, name: Any, raw_args: Any, where: str | None = None) -> None:
        """One call with its arguments as written (a dict, a JSON string...), or the reason it is broken."""
        where = where or syntax
        if not isinstance(name, str) or not name.strip():
            self.fail(f"{where}: call without a tool name")
            return
        try:
            args = parse_arguments(raw_args)
        except RecordError as err:
            self.fail(f"{where}: {err.detail or err.reason}")
            return
        self.calls.append(ParsedCall(name.strip(), args, syntax))

    def fail(self, reason: str) -> None:
        self.malformed.append(reason)


def turn_text(turn: Any) -> str:
    """The text of one turn: a string, or a message's ``content`` (ShareGPT: ``value``), where content may be
    null or a list of parts (OpenAI content parts ``{"type": "text", "text"}``, or plain strings)."""
    if isinstance(turn, str):
        return turn
    if not isinstance(turn, Mapping):
        return ""
    content = turn.get("content") if "content" in turn else turn.get("value")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p if isinstance(p, str) else p.get("text") if isinstance(p, Mapping) else None for p in content]
        return "".join(t for t in texts if isinstance(t, str))
    return ""


def _turns(reply: Reply) -> list[Any]:
    if reply is None:
        return []
    if isinstance(reply, str | Mapping):
        return [reply]
    if isinstance(reply, Sequence):
        return list(reply)
    return []


def reply_text(reply: Reply) -> str:
    """The text of a reply; consecutive turns are joined by a blank line, as one message would hold them."""
    return "\n\n".join(t for t in (turn_text(turn) for turn in _turns(reply)) if t)


def structured_calls(reply: Reply) -> list[Any] | None:
    """The structured calls of the reply's messages (``tool_calls``, or the pre-2023 ``function_call``) as
    written, in order; None when no turn has any."""
    found: list[Any] = []
    seen = False
    for turn in _turns(reply):
        if not isinstance(turn, Mapping):
            continue
        calls = turn.get("tool_calls")
        if calls:
            seen = True
            found.extend(calls if isinstance(calls, list) else [calls])
        elif isinstance(turn.get("function_call"), Mapping):
            seen = True
            found.append({"function": turn["function_call"]})
    return found if seen else None
