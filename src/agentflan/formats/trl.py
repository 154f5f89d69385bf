"""``trl``: conversational rows for TRL's ``SFTTrainer`` — ``{messages, tools}`` and nothing else.

The Hugging Face chat convention, as ``tokenizer.apply_chat_template(messages, tools=tools)`` takes it::

    {"messages": [{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": "I need the weather.", "tool_calls": [
                      {"type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}]},
                  {"role": "tool", "content": "{\\"temp\\": 21}", "name": "weather"}],
     "tools": [{"type": "function", "function": {"name": "weather", "description": "...", "parameters": {...}}}]}

Arguments stay dicts (templates serialise them with ``tojson``; a JSON string would be encoded twice). The
template renders ``tools``, so the chat rendering's plain-language tool list is cut from the system text
(`exports.tools_described_once`). No agentflan keys ride along (the ``openai`` export keeps them): TRL's
conversational path trains every token, or with ``assistant_only_loss`` every assistant token, so it cannot hold
the balancing masks (``exports.MASKS``: ``none``, counted in the build's manifest). For the masks, use the
pre-tokenised rows of ``agentflan train CONFIG --export-trl OUT`` (`agentflan.train.trl`).

Loading: ``datasets`` reads the rows' varying argument and schema objects as ``Json`` values from 4.7 on; older
releases merge every row's keys into one struct and add the missing ones as null (the reason for the floor in
``pyproject.toml``). Write only; call ids are kept, labels, metadata, flags and provenance are not.
"""

from __future__ import annotations

from typing import Any

from agentflan.formats.base import Writer
from agentflan.formats.exports import tools_described_once
from agentflan.formats.openai import tool_to_openai
from agentflan.schema import Message, Trajectory


def hf_message(m: Message) -> dict[str, Any]:
    """One message in the Hugging Face chat shape, without agentflan's labels."""
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [{**({"id": c.id} if c.id is not None else {}), "type": "function",
                              "function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        out["name"] = m.name
    return out


def write(traj: Trajectory) -> dict[str, Any]:
    traj = tools_described_once(traj)
    return {"id": traj.id, "messages": [hf_message(m) for m in traj.messages],
            "tools": [tool_to_openai(t) for t in traj.tools]}


WRITER = Writer("trl", write, "TRL SFTTrainer conversational rows {messages, tools}; tools rendered by the template "
                "(masks: see trl-tokenized)", call_syntax="openai")
