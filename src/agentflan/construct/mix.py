"""Mixing agent data with general chat data (paper App. A: 1:1 plain concatenation; AgentTuning: η = 0.2),
with per-source caps and seeded sampling.

Sampling is without replacement: when the ratio asks for more general records than exist, all are used and the
manifest reports the ratio actually reached (the paper's "plain concatenation" does not resample either).
"""

from __future__ import annotations

from typing import Any

from agentflan.errors import RecordError
from agentflan.schema import Message, Part, Trajectory
from agentflan.seeding import ranked

from .align import with_parts
from .replies import ChatEndpoint


def as_general(traj: Trajectory, endpoint: ChatEndpoint | None) -> Trajectory:
    """A general conversation with every assistant part labelled ``general``; questions that come without
    answers (MT-Bench) are answered by the endpoint, or rejected when there is none."""
    messages: list[Message] = []
    reply_source = "source"
    for msg in traj.messages:
        if msg.role == "assistant":
            if msg.tool_calls:
                raise RecordError("general_has_calls", "a general conversation may not call tools")
            messages.append(with_parts(msg, [Part(text=msg.content, capability="general")]))
        else:
            messages.append(msg)
        if msg.role == "user" and _needs_reply(traj, msg):
            if endpoint is None:
                raise RecordError("no_reply", "a question without an answer and no endpoint in the recipe")
            history = [{"role": m.role, "content": m.content} for m in messages]
            messages.append(Message(role="assistant", parts=[Part(text=endpoint.complete(history),
                                                                  capability="general")]))
            reply_source = "endpoint"
    if not any(m.role == "assistant" for m in messages):
        raise RecordError("no_reply", "no assistant turn")
    return traj.model_copy(update={"messages": messages, "metadata": {**traj.metadata, "kind": "general",
                                                                      "reply_source": reply_source}})


def _needs_reply(traj: Trajectory, msg: Message) -> bool:
    index = next(i for i, m in enumerate(traj.messages) if m is msg)
    nxt = traj.messages[index + 1] if index + 1 < len(traj.messages) else None
    return nxt is None or nxt.role == "user"


def general_count(agent_side: int, per_agent: float | None) -> int:
    return round(agent_side * per_agent) if per_agent is not None else 0


def pick(keys: list[str], n: int, seed: int, purpose: str = "general") -> list[str]:
    """``n`` of ``keys`` by a seeded ranking (independent of input order)."""
    return ranked(keys, seed, purpose)[:n]


def mix_report(agent_side: int, wanted: int, available: int, used: int, per_agent: float | None) -> dict[str, Any]:
    return {
        "general_per_agent_target": per_agent,
        "general_wanted": wanted,
        "general_available": available,
        "general_used": used,
        "general_per_agent_reached": round(used / agent_side, 4) if agent_side else None,
    }
