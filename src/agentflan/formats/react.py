"""``react``: generic ReAct text, and `render_react`, the ReAct rendering of any canonical trajectory.

Reading. ``{"messages": [{role, content}]}`` whose assistant turns are ReAct text (FireAct's ``gpt_format``)::

    Thought: I need to search X.            → assistant: thought (reasoning) + ToolCall search{"query": "X"}
    Action: search[X]
    Observation: X is ...                   → tool message answering that call
    Thought: X is Y.                        → assistant: thought + final answer "Y"
    Action: finish[Y]

``Action: name`` + ``Action Input: {json}`` and ``Final Answer: ...`` are read too. Tools the corpus does not
declare are synthesised from the actions it uses (listed in ``metadata["tools_synthesized"]``, with
``metadata["environment_actions"] = True``); a system message
written by `render_react` gives its tools back. A turn that is not ReAct is rejected (``unparseable_react``),
an ``Action Input`` that is not a JSON object is rejected (``args_not_json``).

Rendering. `render_react(traj)` turns any canonical trajectory (from any reader) into ReAct text: a system
message describing the tools and the format, each assistant turn as ``Thought/Action/Action Input`` (or the
source's own syntax: FireAct's ``search[...]``, AgentInstruct's six domain styles), each tool result as a user
turn ``Observation: ...``. Every assistant message is made of labelled `Part`s (keywords and JSON punctuation
→ ``instruction_following``, thought → ``reasoning``, tool name → ``retrieval``, argument values →
``understanding``, final answer → ``answer``). The ``react`` writer is `render_react` plus ``{id, messages}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agentflan import strictjson
from agentflan.callsyntax import parse_arguments, parse_bracket_call, react_sections
from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.schema import Capability, Message, Part, Tool, ToolCall, Trajectory

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
    if raw_thought.strip() and (end := raw_thought[len(raw_thought.rstrip()):]) != "\n":
        kept["s1"] = end  # e.g. FireAct's occasional space before the line break
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


_TOOL_LINE = re.compile(r"^- (\{.*\})$", re.MULTILINE)


def tools_from_system(text: str) -> list[Tool]:
    """The tools a `render_react` system message lists (one JSON object per ``- {...}`` line)."""
    tools = []
    for m in _TOOL_LINE.finditer(text):
        try:
            spec = strictjson.loads(m.group(1))
        except json.JSONDecodeError:
            continue
        if isinstance(spec, dict) and isinstance(spec.get("name"), str) and spec["name"]:
            tools.append(Tool(name=spec["name"], description=str(spec.get("description") or ""),
                              parameters=spec.get("parameters") or {"type": "object", "properties": {}}))
    return tools


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    raw_messages = require(value, "messages", list)
    turns = [(require(raw, "role", str, f"messages[{i}]"), require(raw, "content", str, f"messages[{i}]"))
             for i, raw in enumerate(raw_messages)]
    if turns and turns[0][0] == "user":
        from agentflan.formats import agentinstruct  # imported here: agentinstruct builds on this module

        try:
            domain = agentinstruct.domain_of(None, turns[0][1], by_id=False)
        except RecordError:
            domain = None
        if domain is not None:  # an AgentInstruct trajectory the react writer wrote in its domain's syntax
            yield agentinstruct.read_turns(turns, domain, value.get("id"), ctx, where="messages")
            return
    conv = Conversation()
    tools: list[Tool] = []
    styles: set[str] = set()
    for i, (role, content) in enumerate(turns):
        where = f"messages[{i}]"
        if role == "system":
            tools.extend(tools_from_system(content))
            conv.add(Message(role="system", content=content))
        elif role == "assistant":
            try:
                turn = parse_turn(content)
            except RecordError as err:
                raise RecordError(err.reason, f"{where}: {err.detail}", f"{where}.content") from None
            bracket = turn.metadata.pop(STYLE_KEY, None) == "bracket" or "react_action" in turn.metadata
            styles.add("bracket" if bracket else "json" if turn.call else "")
            conv.assistant(turn)
        elif role in ("user", "tool"):
            body = parse_observation(content) if role == "user" else content
            if body is not None and conv.pending is not None:
                conv.observation(body)
            else:
                # An observation after the final answer (FireAct's "Episode finished, reward = True") is kept
                # as the user turn it is.
                conv.add(Message(role="user", content=content,
                                 metadata={"observation": True} if body is not None else {}))
        else:
            raise RecordError("invalid_field", f"{where}.role {role!r} is not system/user/assistant/tool",
                              f"{where}.role")
    if not conv.messages:
        raise RecordError("missing_field", "messages is empty", "messages")
    metadata: dict[str, Any] = {}
    styles.discard("")
    if styles:
        metadata[STYLE_KEY] = "bracket" if styles == {"bracket"} else "json"
    calls = [c for m in conv.messages for c in m.tool_calls]
    if not tools and calls:
        tools = synthesized_tools(calls)
        metadata["tools_synthesized"] = [t.name for t in tools]
        metadata["environment_actions"] = True
    record_id = value.get("id")
    yield Trajectory(id=str(record_id) if isinstance(record_id, str | int) and record_id != "" else ctx.default_id(),
                     tools=tools, messages=conv.messages, provenance=ctx.provenance(), metadata=metadata)


_REACT_TURN = re.compile(r"^[ \t]*(Thought|Action|Final Answer)[ \t]*:", re.MULTILINE)


def detect(value: Any, path: str) -> bool:
    """``{messages}`` with ReAct text in assistant turns and no native tool calls (those are OpenAI's)."""
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list) or value.get("tools"):
        return False
    messages = value["messages"]
    if any(not isinstance(m, dict) or m.get("tool_calls") or m.get("function_call") for m in messages):
        return False
    if messages and messages[0].get("role") == "user" and isinstance(messages[0].get("content"), str):
        from agentflan.formats import agentinstruct

        if any(d.signature.search(messages[0]["content"]) for d in agentinstruct.DOMAINS.values()):
            return True  # AgentInstruct in its domain's syntax (OS "Act:", ALFWorld "ACTION:")
    return any(m.get("role") == "assistant" and isinstance(m.get("content"), str)
               and _REACT_TURN.search(m["content"]) for m in messages)


# --- rendering ----------------------------------------------------------------------------------------------


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


def style_for(traj: Trajectory) -> ReactStyle:
    """The source's own dialect when the trajectory says which (AgentInstruct domain, FireAct brackets)."""
    if traj.metadata.get("format") == "agentinstruct" or "domain" in traj.metadata:
        from agentflan.formats import agentinstruct  # imported here: agentinstruct builds on this module

        domain_style = agentinstruct.DOMAINS.get(str(traj.metadata.get("domain")))
        if domain_style is not None:
            return domain_style
    return STYLES.get(str(traj.metadata.get(STYLE_KEY)), STYLES["json"])


def _results_by_call(messages: list[Message], start: int, calls: list[ToolCall]) -> tuple[list[list[Message]], int]:
    """The tool messages right after an assistant turn, grouped by the call they answer (by id, else in
    order), and the index after them. Results matching no call are grouped with the last call."""
    end = start
    while end < len(messages) and messages[end].role == "tool":
        end += 1
    groups: list[list[Message]] = [[] for _ in calls]
    ids = {c.id: k for k, c in enumerate(calls) if c.id}
    position = 0
    for msg in messages[start:end]:
        k = ids[msg.tool_call_id] if msg.tool_call_id in ids else min(position, len(calls) - 1)
        groups[k].append(msg)
        position = k + 1
    return groups, end


def render_react(traj: Trajectory) -> Trajectory:
    """A new trajectory with the same content in ReAct text (see the module docstring)::

        assistant(content="Need weather.", tool_calls=[weather{"city": "Paris"}]); tool('{"temp": 21}')
        → assistant "Thought: Need weather.\\nAction: weather\\nAction Input: {\\"city\\": \\"Paris\\"}"
          user "Observation: {\\"temp\\": 21}"
    """
    style = style_for(traj)
    out: list[Message] = []
    systems = [m.content for m in traj.messages if m.role == "system" and m.content]
    if style.system_prompt:
        out.append(Message(role="system", content="\n\n".join([*systems, style.describe(traj.tools)])))
    else:
        out.extend(Message(role="system", content=s) for s in systems)

    def observation(msg: Message) -> Message:
        return Message(role="user", content=style.observation(msg.content, msg.metadata),
                       metadata={**msg.metadata, "observation": True})

    i = 0
    messages = traj.messages
    while i < len(messages):
        msg = messages[i]
        i += 1
        if msg.role == "system":
            continue
        if msg.role == "user":
            out.append(msg.model_copy(update={"tool_calls": []}))
        elif msg.role == "tool":
            out.append(observation(msg))  # a result with no call before it: kept, as the source has it
        elif msg.tool_calls:
            thought, _ = split_assistant(msg)
            groups, i = _results_by_call(messages, i, msg.tool_calls)
            for k, (call, results) in enumerate(zip(msg.tool_calls, groups, strict=True)):
                parts = style.call(thought if k == 0 else None, call, msg.metadata)
                out.append(Message(role="assistant", parts=parts, metadata=msg.metadata, loss=msg.loss,
                                   weight=msg.weight))
                out.extend(observation(r) for r in results)
        else:
            thought, answer = split_assistant(msg)
            parts = style.answer(thought, answer, msg.metadata)
            out.append(Message(role="assistant", parts=parts or [Part(text="", capability="answer")],
                               metadata=msg.metadata, loss=msg.loss, weight=msg.weight))
    return Trajectory(id=traj.id, tools=traj.tools, messages=out, provenance=traj.provenance, flags=traj.flags,
                      metadata={**traj.metadata, "rendering": "react"})


def write(traj: Trajectory) -> dict[str, Any]:
    rendered = render_react(traj)
    return {"id": rendered.id, "messages": [{"role": m.role, "content": m.content} for m in rendered.messages]}


READER = Reader("react", read, detect,
                "ReAct text in {messages}: Thought/Action name[args] or Action Input JSON, Observation turns "
                "(FireAct)", priority=30)
WRITER = Writer("react", write, "ReAct text {id, messages}: Thought/Action/Action Input, Observation user turns",
                call_syntax="react")
