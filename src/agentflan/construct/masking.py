"""Function masking (Hammer, Lin et al., ICLR 2025; beyond Agent-FLAN): some agent trajectories get their tools'
names, and optionally their parameters' names, replaced by meaningless identifiers, consistently in the tool
list, the calls, their arguments and the tool results, so that the model learns to choose and fill a tool from
its description rather than from a name it has seen before. Descriptions are kept: they are what remains to
read.

Before / after (one call, parameters masked too)::

    tools: weather(city: string) "Current weather for a city."   call: weather({"city": "Paris"})
    tools: fn_k3x9qa(arg_p0w2me: string) "Current weather for a city."   call: fn_k3x9qa({"arg_p0w2me": "Paris"})

Only trajectories where this can be done exactly are masked. A trajectory is left as it is, with the reason
counted, when it makes no call (``no_calls``), calls a tool it does not offer (``unknown_tool``), passes an
argument its tool does not declare (``argument_not_in_schema``), or names one of its tools anywhere in its text
(``name_in_text``): a thought such as "I should use `weather`" would keep the real name beside the masked one.
The new names depend on the seed, the trajectory id and the old name only.
"""

from __future__ import annotations

import re
import string
from typing import Any

from agentflan.schema import Message, Tool, ToolCall, Trajectory
from agentflan.seeding import stable_hash

_ALPHABET = string.ascii_lowercase + string.digits


def _identifier(prefix: str, seed: int, traj_id: str, name: str, taken: set[str]) -> str:
    n = stable_hash(seed, traj_id, "mask", name)
    while True:
        digits = []
        for _ in range(6):
            n, r = divmod(n, len(_ALPHABET))
            digits.append(_ALPHABET[r])
        candidate = f"{prefix}_{''.join(digits)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        n = stable_hash(seed, traj_id, "mask", candidate)  # a collision within one trajectory: draw again


def _texts(traj: Trajectory) -> list[str]:
    out: list[str] = []
    for m in traj.messages:
        out.append(m.content)
        if m.parts is not None:
            out.extend(p.text for p in m.parts)
    return out


def ineligible(traj: Trajectory) -> str | None:
    """Why a trajectory cannot be masked exactly, or None when it can."""
    calls = traj.calls()
    if not calls:
        return "no_calls"
    tools = {t.name: t for t in traj.tools}
    for _, call in calls:
        tool = tools.get(call.name)
        if tool is None:
            return "unknown_tool"
        declared = tool.parameters.get("properties")
        if isinstance(declared, dict) and any(key not in declared for key in call.arguments):
            return "argument_not_in_schema"
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(n) for n in sorted(tools, key=len, reverse=True))
                         + r")(?![\w])")
    if any(pattern.search(text) for text in _texts(traj) if text):
        return "name_in_text"
    return None


def mask(traj: Trajectory, seed: int, parameters: bool = True) -> Trajectory:
    """The trajectory with its tools' names (and parameter names) masked; call `ineligible` first."""
    taken: set[str] = set()
    names = {t.name: _identifier("fn", seed, traj.id, t.name, taken) for t in traj.tools}
    params: dict[str, dict[str, str]] = {}
    for tool in traj.tools:
        declared = tool.parameters.get("properties")
        keys = list(declared) if parameters and isinstance(declared, dict) else []
        params[tool.name] = {k: _identifier("arg", seed, traj.id, f"{tool.name}.{k}", taken) for k in keys}
    tools = [_masked_tool(t, names[t.name], params[t.name]) for t in traj.tools]
    messages = [_masked_message(m, names, params) for m in traj.messages]
    meta = {**traj.metadata, "masked": {"functions": len(names),
                                        "parameters": sum(len(p) for p in params.values())}}
    return traj.model_copy(update={"tools": tools, "messages": messages, "metadata": meta})


def _masked_tool(tool: Tool, name: str, params: dict[str, str]) -> Tool:
    schema: dict[str, Any] = dict(tool.parameters)
    if params:
        schema["properties"] = {params.get(k, k): v for k, v in schema["properties"].items()}
        if isinstance(schema.get("required"), list):
            schema["required"] = [params.get(k, k) for k in schema["required"]]
    return tool.model_copy(update={"name": name, "parameters": schema})


def _masked_message(message: Message, names: dict[str, str], params: dict[str, dict[str, str]]) -> Message:
    update: dict[str, Any] = {}
    if message.tool_calls:
        update["tool_calls"] = [_masked_call(c, names, params) for c in message.tool_calls]
    if message.role == "tool" and message.name in names:
        update["name"] = names[message.name]
    return message.model_copy(update=update) if update else message


def _masked_call(call: ToolCall, names: dict[str, str], params: dict[str, dict[str, str]]) -> ToolCall:
    renamed = params.get(call.name, {})
    arguments = {renamed.get(k, k): v for k, v in call.arguments.items()}
    return call.model_copy(update={"name": names[call.name], "arguments": arguments})
