"""`parse_reply`: the calls in a reply, in whatever syntax it uses (`registry.SYNTAXES`, in precedence order)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentflan.calls import safety
from agentflan.calls.model import ParsedReply, Reply, reply_text, structured_calls
from agentflan.calls.registry import BY_NAME, SYNTAXES, Syntax
from agentflan.calls.safety import opens_outside
from agentflan.callsyntax import json_values

_TRIGGERS = tuple(sorted({t for s in SYNTAXES for t in s.triggers}))


def parse_reply(reply: Reply, tools: Mapping[str, Mapping[str, Any]] | None = None,
                syntax: str | None = None) -> ParsedReply:
    """The calls in a reply and the call attempts that did not parse.

    ``tools`` maps offered tool names to their (normalised) parameter schemas. It decides the doubtful cases: a
    Python-style call inside prose counts only when it names an offered tool, ``name[text]`` gives its text to
    the tool's only parameter, a backticked tool name followed by an argument block is an Agent-FLAN call, and
    the safety rule looks for offered tools named in call-like syntax. ``syntax`` pins one text syntax (a
    `KeyError` for an unknown name); structured ``tool_calls`` are read either way.
    """
    tools = tools or {}
    out = ParsedReply(text=reply_text(reply))
    structured = structured_calls(reply)
    if structured is not None:
        _openai(structured, out)
        out.syntax = "openai"
        return out
    text = out.text
    readers: tuple[Syntax, ...] = SYNTAXES if syntax is None else (BY_NAME[syntax],)
    present = {t for t in _TRIGGERS if t in text}  # one scan per trigger, shared by every reader
    values: list[tuple[Any, int, int]] | None = None
    for s in readers:
        if s.read is None or present.isdisjoint(s.triggers):
            continue
        if s.opens:
            values = json_values(text) if values is None else values
            if not opens_outside(text, s.opens, values):
                continue  # its marker is only text inside a JSON string (an argument of another syntax's call)
        if s.read(text, tools, out):
            out.syntax = s.name
            return out
    safety.apply(text, tools, out)
    return out



def _openai(calls: list[Any], out: ParsedReply) -> None:
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) and isinstance(call, Mapping) and "name" in call:
            fn = call  # flat {"name", "arguments"}: agentflan's canonical records, LangChain's {"name", "args"}
        if not isinstance(fn, Mapping):
            out.fail(f"openai: tool_calls[{i}] has no function")
            continue
        args = next((fn[k] for k in ("arguments", "args", "parameters") if k in fn), None)
        out.add("openai", fn.get("name"), args, f"openai: tool_calls[{i}]")
