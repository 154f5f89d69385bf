"""The ReAct parts shared by the ReAct-family readers and the ReAct rendering (``react``, ``agentinstruct``,
``toolbench``): parsed assistant turns (`Turn`, `parse_turn`), the canonical messages built from them
(`Conversation`), labelled text pieces (`PartsBuilder`) and the dialects a turn is written in (`ReactStyle`).

Not a format itself (no reader or writer): the formats that use it import it, and it imports none of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agentflan.callsyntax import parse_arguments, parse_bracket_call, react_sections
from agentflan.errors import RecordError
from agentflan.schema import Capability, Message, Part, Tool, ToolCall

OBSERVATION = "Observation:"
LAYOUT_KEY = "react_layout"  # message metadata: separators of the source text that differ from its style's default
STYLE_KEY = "react_style"  # trajectory metadata: "json" | "bracket"; AgentInstruct uses metadata["domain"]
FINISH_ACTIONS = ("finish", "Finish")

# Argument names for bracket actions (``search[...]``) of the ReAct corpora (HotpotQA/FEVER/WebShop/ALFWorld
# wrappers); any other action's single argument is called "input".
BRACKET_PARAMS = {"search": "query", "lookup": "keyword", "click": "target", "finish": "answer"}
_BRACKET_DESCRIPTIONS = {
    "search": "Search for an entity or a query and return the first paragraph of the best match.",
    "lookup": "Return the next sentence containing the keyword in the current page.",
    "click": "Click an element of the current page.",
}


# --- building canonical trajectories from parsed turns (shared by the ReAct-family readers) -----------------


@dataclass
class Turn:
    """One parsed assistant turn: a thought, then either one call or a final answer (or neither, e.g. OS
    ``Act: finish``). ``metadata`` goes to the message (e.g. layout of the source text)."""

    thought: str | None = None
    call: ToolCall | None = None
    answer: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def turn_message(turn: Turn) -> Message:
    """The canonical assistant message of a turn: the thought as ``reasoning`` text, the call as a ToolCall,
    a final answer as ``answer`` text after the thought."""
    parts: list[Part] = []
    if turn.thought:
        parts.append(Part(text=turn.thought, capability="reasoning"))
    if turn.answer is not None and turn.call is None:
        if parts and turn.answer:
            parts.append(Part(text="\n", capability="instruction_following"))
        if turn.answer or not parts:
            parts.append(Part(text=turn.answer, capability="answer"))
    return Message(role="assistant", parts=parts or None, tool_calls=[turn.call] if turn.call else [],
                   metadata=dict(turn.metadata))


def split_assistant(message: Message) -> tuple[str | None, str | None]:
    """(thought, final answer) of any canonical assistant message, whichever reader produced it.

    A message with calls: its text is the thought. Without calls: text labelled ``reasoning`` is the thought
    and the rest (unlabelled or ``answer``/``abstain``/``general``) the answer; unlabelled text is the answer.
    """
    if message.tool_calls:
        return (message.content.strip() or None), None
    if message.parts is None:
        return None, message.content.strip()
    thought = "".join(p.text for p in message.parts if (p.capability or message.capability) == "reasoning")
    answer = "".join(p.text for p in message.parts
                     if (p.capability or message.capability) in (None, "answer", "abstain", "general"))
    if not thought.strip():
        return None, message.content.strip()
    return thought.strip(), (answer.strip() or None)


class Conversation:
    """Accumulates messages, numbering calls and pairing each observation with the call it answers."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.pending: ToolCall | None = None
        self._calls = 0

    def add(self, message: Message) -> None:
        self.messages.append(message)
        if message.role == "assistant":
            self.pending = None

    def assistant(self, turn: Turn) -> None:
        if turn.call is not None:
            turn.call = turn.call.model_copy(update={"id": turn.call.id or f"call_{self._calls}"})
            self._calls += 1
        self.add(turn_message(turn))
        self.pending = turn.call

    def observation(self, content: str, metadata: dict[str, Any] | None = None) -> None:
        """A tool message answering the pending call (the caller checks that there is one)."""
        call = self.pending
        assert call is not None
        self.messages.append(Message(role="tool", content=content, tool_call_id=call.id, name=call.name,
                                     metadata=metadata or {}))
        self.pending = None


def synthesized_tools(calls: list[ToolCall], catalogue: dict[str, Tool] | None = None) -> list[Tool]:
    """Tools for the actions a trajectory uses, in first-use order: from ``catalogue`` when it knows the name,
    else a string parameter per argument seen."""
    tools: dict[str, Tool] = {}
    for call in calls:
        if call.name in tools:
            continue
        if catalogue and call.name in catalogue:
            tools[call.name] = catalogue[call.name]
            continue
        props = {k: {"type": "string"} for k in call.arguments}
        tools[call.name] = Tool(name=call.name, description=_BRACKET_DESCRIPTIONS.get(call.name, ""),
                                parameters={"type": "object", "properties": props, "required": list(props)})
    return list(tools.values())


# --- parsing generic ReAct turns ----------------------------------------------------------------------------


def parse_turn(text: str) -> Turn:
    """One generic ReAct assistant turn. Text before the first keyword is kept as (part of) the thought."""
    found: dict[str, str] = {}
    sections = react_sections(text)
    for k, (name, body, _, end) in enumerate(sections):
        if name == "thought" and k and sections[k - 1][0] == "thought":
            # "Thought:" again right after a thought (ToolBench thoughts hold such lines) continues the same
            # thought, keyword and all, so the text survives a render/read round trip verbatim.
            found["thought"] += text[sections[k - 1][3]:end]
            continue
        if name in found:
            raise RecordError("unparseable_react", f"{name.replace('_', ' ')} appears twice in one turn")
        found[name] = body
    preamble = found.get("preamble", "").strip()
    thought = "\n".join(t for t in (preamble, found.get("thought", "").strip()) if t) or None
    action = found.get("action", "").strip()
    metadata: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    if "preamble" in found and preamble:
        kept["preamble"] = True
    raw_thought = found.get("thought", "")
    if raw_thought.strip() and (trailing := raw_thought[len(raw_thought.rstrip()):]) != "\n":
        kept["s1"] = trailing  # e.g. FireAct's occasional space before the line break
    if kept:
        metadata[LAYOUT_KEY] = kept
    if "final_answer" in found:
        if action:
            raise RecordError("unparseable_react", "a turn with both an Action and a Final Answer")
        return Turn(thought, None, found["final_answer"].strip(), metadata)
    if not action:
        if "action" in found or "action_input" in found:
            raise RecordError("unparseable_react", "Action: with no action name")
        raise RecordError("unparseable_react", "no Action: or Final Answer: in the assistant turn"
                          + ("" if thought else f": {text[:80]!r}"))
    bracket = parse_bracket_call(action) if "action_input" not in found else None
    if bracket is not None:
        name, argument = bracket
        if name in FINISH_ACTIONS:
            return Turn(thought, None, argument.strip(), {**metadata, "react_action": name})
        return Turn(thought, ToolCall(name=name, arguments={BRACKET_PARAMS.get(name, "input"): argument}),
                    None, {**metadata, STYLE_KEY: "bracket"})
    if not re.fullmatch(r"[^\s\[\](){}]+", action):
        raise RecordError("unparseable_react", f"action is not a tool name or name[argument]: {action[:80]!r}")
    arguments = parse_arguments(found.get("action_input"))
    return Turn(thought, ToolCall(name=action, arguments=arguments), None, metadata)


def parse_observation(content: str) -> str | None:
    """The body of an ``Observation: ...`` user turn, or None when the turn is not one."""
    if not content.startswith(OBSERVATION):
        return None
    body = content[len(OBSERVATION):]
    return body[1:] if body.startswith(" ") else body


class PartsBuilder:
    """Labelled text pieces, adjacent pieces with the same label merged."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def add(self, text: str, capability: Capability) -> PartsBuilder:
        if not text:
            return self
        if self.parts and self.parts[-1].capability == capability:
            self.parts[-1] = Part(text=self.parts[-1].text + text, capability=capability)
        else:
            self.parts.append(Part(text=text, capability=capability))
        return self

    def fmt(self, text: str) -> PartsBuilder:
        return self.add(text, "instruction_following")

    def json_arguments(self, arguments: dict[str, Any]) -> PartsBuilder:
        """``json.dumps(arguments)`` with keys and punctuation as format, each value as ``understanding``."""
        self.fmt("{")
        for i, (key, val) in enumerate(arguments.items()):
            self.fmt((", " if i else "") + json.dumps(key, ensure_ascii=False) + ": ")
            self.add(json.dumps(val, ensure_ascii=False), "understanding")
        return self.fmt("}")


def layout(meta: dict[str, Any], key: str, default: str) -> str:
    value = (meta.get(LAYOUT_KEY) or {}).get(key)
    return value if isinstance(value, str) else default


class ReactStyle:
    """How one ReAct dialect writes a turn. The default is ``Thought/Action/Action Input`` with JSON input."""

    system_prompt = True  # whether render_react adds a system message describing tools and format

    def call(self, thought: str | None, call: ToolCall, meta: dict[str, Any]) -> list[Part]:
        b = PartsBuilder()
        if thought:
            b.fmt("Thought: ").add(thought, "reasoning").fmt(layout(meta, "s1", "\n"))
        b.fmt("Action: ").add(call.name, "retrieval").fmt("\nAction Input: ")
        return b.json_arguments(call.arguments).parts

    def answer(self, thought: str | None, answer: str | None, meta: dict[str, Any]) -> list[Part]:
        b = PartsBuilder()
        if thought:
            b.fmt("Thought: ").add(thought, "reasoning")
            if answer is None:
                return b.parts
            b.fmt(layout(meta, "s1", "\n"))
        return b.fmt("Final Answer: ").add(answer or "", "answer").parts

    def observation(self, content: str, meta: dict[str, Any]) -> str:
        return f"{OBSERVATION} {content}"

    def describe(self, tools: list[Tool]) -> str:
        if not tools:
            return ("No tools are available. Answer in this format:\nThought: your reasoning\n"
                    "Final Answer: the answer to the user")
        listing = "\n".join("- " + json.dumps({"name": t.name, "description": t.description,
                                                "parameters": t.parameters}, ensure_ascii=False) for t in tools)
        names = ", ".join(t.name for t in tools)
        return ("You can use the following tools:\n" + listing + "\n\nUse this format:\n"
                "Thought: your reasoning about what to do next\n"
                f"Action: the tool to use, one of [{names}]\n"
                "Action Input: the tool's arguments as a JSON object\n"
                "Observation: the tool's result\n"
                "... (Thought/Action/Action Input/Observation can repeat)\n"
                "Thought: your conclusion\n"
                "Final Answer: the answer to the user")


class BracketStyle(ReactStyle):
    """FireAct / original ReAct: ``Action: search[query]``, the answer as ``Action: finish[answer]``."""

    def call(self, thought: str | None, call: ToolCall, meta: dict[str, Any]) -> list[Part]:
        if len(call.arguments) != 1 or not isinstance(next(iter(call.arguments.values())), str):
            return super().call(thought, call, meta)  # only one string argument fits in brackets
        b = PartsBuilder()
        if thought:
            b.fmt("Thought: ").add(thought, "reasoning").fmt(layout(meta, "s1", "\n"))
        b.fmt("Action: ").add(call.name, "retrieval").fmt("[")
        return b.add(next(iter(call.arguments.values())), "understanding").fmt("]").parts

    def answer(self, thought: str | None, answer: str | None, meta: dict[str, Any]) -> list[Part]:
        if "react_action" not in meta:
            return super().answer(thought, answer, meta)
        b = PartsBuilder()
        if thought:
            b.fmt("Thought: ").add(thought, "reasoning").fmt(layout(meta, "s1", "\n"))
        return b.fmt(f"Action: {meta['react_action']}[").add(answer or "", "answer").fmt("]").parts

    def describe(self, tools: list[Tool]) -> str:
        return super().describe(tools) + "\nA tool taking one text argument may be called as Action: name[text]."


STYLES: dict[str, ReactStyle] = {"json": ReactStyle(), "bracket": BracketStyle()}
