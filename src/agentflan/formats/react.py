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
from typing import Any

from agentflan import strictjson
from agentflan.errors import RecordError
from agentflan.formats import agentinstruct
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.reacttext import (
    STYLE_KEY,
    STYLES,
    Conversation,
    ReactStyle,
    parse_observation,
    parse_turn,
    split_assistant,
    synthesized_tools,
)
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory

__all__ = ["READER", "WRITER", "parse_turn", "read", "render_react", "split_assistant", "style_for", "write"]

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
        domain = agentinstruct.prompted_domain(turns[0][1])
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
    first = messages[0] if messages else {}
    if first.get("role") == "user" and isinstance(first.get("content"), str) and any(
            d.signature.search(first["content"]) for d in agentinstruct.DOMAINS.values()):
        return True  # AgentInstruct in its domain's syntax (OS "Act:", ALFWorld "ACTION:")
    return any(m.get("role") == "assistant" and isinstance(m.get("content"), str)
               and _REACT_TURN.search(m["content"]) for m in messages)


# --- rendering ----------------------------------------------------------------------------------------------


def style_for(traj: Trajectory) -> ReactStyle:
    """The source's own dialect when the trajectory says which (AgentInstruct domain, FireAct brackets)."""
    if traj.metadata.get("format") == "agentinstruct" or "domain" in traj.metadata:
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
