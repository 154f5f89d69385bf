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
turns and consecutive turns of one role are merged, as XTuner's ``openai_map_fn`` does for Agent-FLAN data; for
one that never reads ``tool_calls`` each call is written into its assistant turn as a JSON code block.
"""

from __future__ import annotations

import re
from typing import Any

from agentflan import formats
from agentflan.formats.agentflan import call_text
from agentflan.formats.exports import tools_described_once
from agentflan.schema import Trajectory

# A template that handles tool results compares a role with one of these names.
_TOOL_ROLE = re.compile(r"""['"](tool|ipython|function|observation)['"]""")
MERGE_SEPARATOR = "\n"


def template_has_tool_role(template: str) -> bool:
    return bool(_TOOL_ROLE.search(template))


def hf_chat(traj: Trajectory, tool_role: bool = True, calls_as_text: bool = False,
            tools_rendered: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """(messages, tools) for ``apply_chat_template``.

    The openai writer gives the Hugging Face shape (arguments as dicts); agentflan's labels travel as extra
    message keys that templates ignore. ``tool_role=False`` folds tool results into user turns;
    ``calls_as_text=True`` writes each call into its assistant turn as a JSON code block (`call_text`), for
    templates that never read ``tool_calls``. ``tools_rendered=True`` (a template that shows ``tools``) describes
    the tools once: the chat rendering's plain-language list is cut from the system text
    (`formats.exports.tools_described_once`).
    """
    if tools_rendered:
        traj = tools_described_once(traj)
    record = formats.writer("openai").write(traj)
    messages: list[dict[str, Any]] = record["messages"]
    if calls_as_text:
        messages = [_calls_in_content(m) for m in messages]
    if not tool_role:
        messages = _fold_tool_turns(messages)
    return messages, record["tools"] or None


def _calls_in_content(m: dict[str, Any]) -> dict[str, Any]:
    calls = m.get("tool_calls")
    if not calls:
        return m
    texts = [call_text(c["function"]["name"], c["function"]["arguments"]) for c in calls]
    out = {k: v for k, v in m.items() if k != "tool_calls"}
    out["content"] = "\n\n".join(t for t in [m["content"], *texts] if t)
    return out


def _fold_tool_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        msg = {"role": "user", "content": m["content"]} if m["role"] == "tool" else dict(m)
        if out and out[-1]["role"] == msg["role"] and msg["role"] in ("user", "assistant"):
            # Templates without a tool role usually insist on alternating user/assistant turns.
            prev = out[-1]
            prev["content"] = MERGE_SEPARATOR.join(x for x in (prev["content"], msg["content"]) if x)
            if msg.get("tool_calls"):
                prev["tool_calls"] = [*prev.get("tool_calls", []), *msg["tool_calls"]]
            continue
        out.append(msg)
    return out
