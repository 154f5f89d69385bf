"""A canonical trajectory as Hugging Face chat messages, the input of ``tokenizer.apply_chat_template``.

Before / after::

    Trajectory(tools=[Tool(name="weather")], messages=[
        user "Weather in Paris?", assistant "Let me check." + call weather({"city": "Paris"}),
        tool '{"temp": 21}', assistant "21 °C."])
    →
    tools    = [{"type": "function", "function": {"name": "weather", "description": "", "parameters": {...}}}]
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"type": "function", "id": "c0", "function": {"name": "weather", "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "c0", "name": "weather"},
                {"role": "assistant", "content": "21 °C."}]

Arguments stay dicts: Hugging Face templates serialise them themselves (``| tojson``), unlike the OpenAI API
that wants JSON strings. For a template with no ``tool`` role (Llama 2, Mistral v1) tool results become user
turns and consecutive turns of one role are merged, as XTuner's ``openai_map_fn`` does for Agent-FLAN data.
"""

from __future__ import annotations

import re
from typing import Any

from agentflan.schema import Trajectory

# A template that handles tool results compares a role with one of these names.
_TOOL_ROLE = re.compile(r"""['"](tool|ipython|function|observation)['"]""")
MERGE_SEPARATOR = "\n"


def template_has_tool_role(template: str) -> bool:
    return bool(_TOOL_ROLE.search(template))


def hf_tools(traj: Trajectory) -> list[dict[str, Any]] | None:
    if not traj.tools:
        return None
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}} for t in traj.tools]


def hf_messages(traj: Trajectory, tool_role: bool = True) -> list[dict[str, Any]]:
    """The trajectory's turns as chat-template messages; ``tool_role=False`` folds tool results into user turns."""
    out: list[dict[str, Any]] = []
    for m in traj.messages:
        msg: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            msg["tool_calls"] = [
                {"type": "function", **({"id": c.id} if c.id else {}),
                 "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
        if m.role == "tool":
            if m.tool_call_id:
                msg["tool_call_id"] = m.tool_call_id
            if m.name:
                msg["name"] = m.name
            if not tool_role:
                msg = {"role": "user", "content": m.content}
        if not tool_role and out and out[-1]["role"] == msg["role"] and msg["role"] in ("user", "assistant"):
            # Templates without a tool role usually insist on alternating user/assistant turns.
            prev = out[-1]
            prev["content"] = MERGE_SEPARATOR.join(x for x in (prev["content"], msg["content"]) if x)
            if msg.get("tool_calls"):
                prev.setdefault("tool_calls", []).extend(msg["tool_calls"])
            continue
        out.append(msg)
    return out
