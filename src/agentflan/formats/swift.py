"""``swift``: ms-swift's agent rows ``{messages, tools}``, with a ``loss`` flag on every assistant message.

ms-swift reads the roles ``system``/``user``/``assistant``/``tool_call``/``tool_response``, renders ``tools``
(a JSON string) and the calls through its agent template (``--agent_template hermes`` for Qwen2.5), and, with
its own template backend, joins consecutive assistant messages into one reply while keeping each one's
``loss``. So a reply is written as one assistant message per run of parts with the same flag, then one
``tool_call`` message per call, and the balancing masks survive (``exports.MASKS``: ``calls``)::

    canonical  assistant parts "I need the weather.\\n\\n" (reasoning) + "I will use `weather`." (retrieval, masked)
               + call weather({"city": "Paris"}); tool '{"temp": 21}'
    written    {"role": "assistant", "content": "I need the weather.\\n\\n", "loss": true}
               {"role": "assistant", "content": "I will use `weather`.", "loss": false}
               {"role": "tool_call", "content": "{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}",
                "loss": true}
               {"role": "tool_response", "content": "{\\"temp\\": 21}"}

A ``tool_call`` message holds the name and the arguments under one flag: supervised when either is (the build's
manifest counts the masks that loses). ms-swift glues two user turns without a separator and cannot pair a user
turn that follows a tool result, so such a user turn joins the turn before it with a blank line. The tools go
in ``tools`` (null when there are none), rendered by the agent template, so the chat rendering's plain-language list is cut from the system
text (`exports.tools_described_once`).

Lost (not lossless, write only): call ids, capability labels and weights, metadata, flags and provenance.
"""

from __future__ import annotations

import json
from typing import Any

from agentflan.formats.base import Writer
from agentflan.formats.exports import merge_turns, tools_described_once
from agentflan.schema import Message, Trajectory

_ROLE = {"system": "system", "user": "user", "tool": "tool_response"}


def _reply(message: Message) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for part in message.segments():
        if turns and turns[-1]["loss"] == bool(part.loss):
            turns[-1]["content"] += part.text
        elif part.text:
            turns.append({"role": "assistant", "content": part.text, "loss": bool(part.loss)})
    for call in message.tool_calls:
        name_loss = call.name_loss if call.name_loss is not None else message.supervised
        args_loss = call.arguments_loss if call.arguments_loss is not None else message.supervised
        turns.append({"role": "tool_call", "loss": name_loss or args_loss,
                      "content": json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)})
    return turns


def _joins(prev: dict[str, Any], turn: dict[str, Any]) -> bool:
    return turn["role"] == "user" and prev["role"] in ("user", "tool_response")


def write(traj: Trajectory) -> dict[str, Any]:
    traj = tools_described_once(traj)
    turns: list[dict[str, Any]] = []
    for m in traj.messages:
        if m.role == "assistant":
            turns.extend(_reply(m) or [{"role": "assistant", "content": m.content, "loss": m.supervised}])
        else:
            turns.append({"role": _ROLE[m.role], "content": m.content})
    tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                               "parameters": t.parameters}} for t in traj.tools]
    return {"id": traj.id, "messages": merge_turns(turns, _joins),
            "tools": json.dumps(tools, ensure_ascii=False) if tools else None}


WRITER = Writer("swift", write, "ms-swift agent rows {messages, tools}: tool_call/tool_response roles, per-message "
                "loss (the balancing masks survive)", call_syntax=("json", "agentflan"))
