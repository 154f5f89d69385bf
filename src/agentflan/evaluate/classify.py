"""Strict classification of one model reply against the tools it was offered (and, optionally, the expected calls).

Outcomes, most severe first:

- ``malformed``: the reply attempts a call that does not parse, or names/opens a call that no reader could read
  (the safety rule). Never an abstention.
- ``call_invented_tool``: a call to a tool that was not offered.
- ``args_invalid``: offered tools, but arguments that break the tool's schema.
- ``call``: offered tools with valid arguments.
- ``empty``: nothing but whitespace. Not an abstention: the model said nothing at all.
- ``abstain``: an answer with no call at all.

With ``expected`` given, a reply with calls is refined: ``call_correct`` (the calls match, order-independently),
``call_wrong_tool`` (the multiset of tool names differs) or ``call_wrong_args``; an invented tool or a malformed
reply keeps its outcome. ``expected=[]`` says no call is right, so any call (or call attempt) is a hallucination.
``expected`` is either ``[{"name", "arguments"}]`` (values compared exactly, numbers by value) or BFCL's
``possible_answer`` shape ``[{name: {arg: [allowed values]}}]`` (compared with BFCL's rules, `evaluate.bfcl`).

>>> tools = [{"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
...                                             "required": ["city"]}}]
>>> classify('{"name": "weather", "arguments": {"city": "Paris"}}', tools).outcome
'call'
>>> classify("I cannot help with that.", tools, expected=[]).outcome
'abstain'
>>> classify("\\n" * 48, tools).outcome
'empty'
>>> classify('weather(town="Paris")', tools).outcome
'args_invalid'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentflan.calls import ParsedCall, ParsedReply, Reply, parse_reply, reply_text, structured_calls
from agentflan.evaluate.matching import match_calls
from agentflan.toolschema import check_arguments, normalise_schema

if TYPE_CHECKING:
    from agentflan.evaluate.callparsers import CallParser
    from agentflan.evaluate.samples import Sample

OUTCOMES: tuple[str, ...] = (
    "abstain", "empty", "call", "call_correct", "call_wrong_tool", "call_wrong_args", "args_invalid",
    "call_invented_tool", "malformed",
)
# Outcomes with no call and no call attempt.
NO_CALL_OUTCOMES = frozenset({"abstain", "empty"})
# Outcomes where a well-formed call was made (the reply is not an abstention, not empty and not malformed).
CALL_OUTCOMES = frozenset(OUTCOMES) - NO_CALL_OUTCOMES - {"malformed"}


@dataclass
class Classification:
    outcome: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""  # why: the schema problem, the unknown tool, the parse failure
    syntax: str | None = None  # which call syntax the reply was read as (`agentflan.calls.SYNTAXES`)
    hallucination: bool = False  # a call (or attempt) where ``expected == []`` says none is right
    safety_rule: bool = False  # malformed only because a call was named or opened but none could be read

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome, "calls": self.calls}
        if self.detail:
            out["detail"] = self.detail
        if self.syntax:
            out["syntax"] = self.syntax
        if self.safety_rule:
            out["safety_rule"] = True
        if self.hallucination:
            out["hallucination"] = True
        return out


@dataclass(frozen=True)
class Reader:
    """How replies are read: the built-in readers (every syntax, or the one ``syntax`` pins), after an
    ecosystem ``parser`` (transformers' ``parse_response``, a vLLM tool parser) when one is given. The parser's
    calls are taken when it finds any; otherwise the built-in readers decide, so a call the parser cannot read
    is still `malformed` by their rules, never an abstention."""

    syntax: str | None = None
    parser: CallParser | None = None

    def read(self, reply: Reply, offered: Mapping[str, dict[str, Any]] | None,
             sample: Sample | None = None) -> ParsedReply:
        if self.parser is not None and structured_calls(reply) is None:
            text = reply_text(reply)
            found = self.parser.calls(text, sample) if text.strip() else None
            if found:
                out = ParsedReply(text=text, syntax=self.parser.name)
                for name, args in found:
                    out.add(self.parser.name, name, args)
                return out
        return parse_reply(reply, offered, syntax=self.syntax)


def tool_schemas(tools: Sequence[Mapping[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    """Offered tools → {name: normalised parameter schema}. Accepts plain functions ``{name, parameters}`` and
    OpenAI's ``{"type": "function", "function": {...}}``; ``None`` (tools unknown) stays ``None``."""
    if tools is None:
        return None
    out: dict[str, dict[str, Any]] = {}
    for tool in tools:
        inner = tool.get("function")
        fn = inner if isinstance(inner, Mapping) else tool
        name = fn.get("name")
        if isinstance(name, str) and name:
            out[name] = normalise_schema(fn.get("parameters") or {"type": "object", "properties": {}})
    return out


def classify(reply: Reply, tools: Sequence[Mapping[str, Any]] | None = None,
             expected: Sequence[Mapping[str, Any]] | None = None,
             schemas: Mapping[str, dict[str, Any]] | None = None, reader: Reader | None = None,
             sample: Sample | None = None) -> Classification:
    """Classify one reply (text, a message, or consecutive assistant turns). ``tools=None`` means the offered
    tools are unknown: no call can then be called invented or invalid. ``schemas`` (from `tool_schemas`) saves
    normalising the same tools for every reply; ``reader`` pins a syntax or adds an ecosystem parser, which may
    want the ``sample`` (its prompt)."""
    offered = dict(schemas) if schemas is not None else tool_schemas(tools)
    parsed = (reader or _BUILT_IN).read(reply, offered, sample)
    if offered:
        parsed.calls = [_resolve_name(c, offered) for c in parsed.calls]
    result = _strict(parsed, offered)
    if expected is not None:
        _refine(result, parsed, list(expected), tools, offered)
    return result


_BUILT_IN = Reader()


def _strict(parsed: ParsedReply, offered: Mapping[str, dict[str, Any]] | None) -> Classification:
    calls = [c.to_dict() for c in parsed.calls]
    if parsed.malformed:
        return Classification("malformed", calls, "; ".join(parsed.malformed), parsed.syntax,
                              safety_rule=parsed.safety_rule)
    if not parsed.calls:
        return Classification("empty" if parsed.empty else "abstain")
    if offered is None:
        return Classification("call", calls, syntax=parsed.syntax)
    invented = [c.name for c in parsed.calls if c.name not in offered]
    if invented:
        return Classification("call_invented_tool", calls, f"not offered: {', '.join(invented)}", parsed.syntax)
    problems = [f"{c.name}: {p}" for c in parsed.calls for p in check_arguments(c.arguments, offered[c.name])]
    if problems:
        return Classification("args_invalid", calls, "; ".join(problems[:5]), parsed.syntax)
    return Classification("call", calls, syntax=parsed.syntax)


def _refine(result: Classification, parsed: ParsedReply, expected: list[Mapping[str, Any]],
            tools: Sequence[Mapping[str, Any]] | None, offered: Mapping[str, dict[str, Any]] | None) -> None:
    if not expected:
        result.hallucination = result.outcome not in NO_CALL_OUTCOMES
        if result.outcome in ("call", "args_invalid"):
            result.outcome = "call_wrong_tool"
            result.detail = result.detail or "a call where none is expected"
        return
    if result.outcome not in ("call", "args_invalid"):
        return
    verdict = match_calls(parsed.calls, expected, offered)
    result.outcome = verdict.outcome
    if verdict.detail:
        result.detail = verdict.detail


def _resolve_name(call: ParsedCall, offered: Mapping[str, Any]) -> ParsedCall:
    """``math_factorial`` → ``math.factorial`` when only the dotted name is offered: OpenAI-compatible servers
    forbid dots in tool names, so backends send them with ``_`` and the model answers with that spelling."""
    if call.name in offered:
        return call
    matches = [name for name in offered if name.replace(".", "_") == call.name]
    return ParsedCall(matches[0], call.arguments, call.syntax) if len(matches) == 1 else call
