"""Format-following samples (paper §4.1, App. A): single-turn samples made from real tool calls that ask for the
call in an explicitly described format, with the exact target.

Teaching format on purpose, in samples of its own, is what lets the agent samples drop their format keywords.
Three formats: JSON with given (varied) key names, ReAct, and a string template. The target is labelled
``instruction_following`` as a whole: what the sample teaches is producing that exact shape.

>>> # system: "You have access to the following API: - `weather`: ..."
>>> # user:   "Weather in Paris?\\n\\nReply with only a JSON object with the keys \\"tool\\" (the tool name) and ..."
>>> # target: '{"tool": "weather", "params": {"city": "Paris"}}'
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentflan.schema import Message, Part, ToolCall, Trajectory
from agentflan.seeding import rng_for, stable_hash

from .align import describe_tool, strip_format

NAME_KEYS = ("name", "tool", "api", "function", "action", "NAME", "api_name", "tool_name")
ARGS_KEYS = ("arguments", "args", "parameters", "Args", "params", "input", "action_input", "kwargs")
# (description for the user, template); NAME and ARGS are the only placeholders.
STRING_TEMPLATES = (
    ("`<tool>NAME</tool><args>ARGS</args>`", "<tool>{name}</tool><args>{args}</args>"),
    ("`CALL NAME WITH ARGS`", "CALL {name} WITH {args}"),
    ("`NAME: ARGS`", "{name}: {args}"),
    ("`[NAME] ARGS`", "[{name}] {args}"),
    ("`>>> NAME ARGS`", ">>> {name} {args}"),
)
SYSTEM_OPENINGS = (
    "You have access to the following API:",
    "You can call this API:",
    "The following tool is available:",
)


@dataclass(frozen=True)
class CallSource:
    """A real call fit for a format-following sample: the query that caused it, the tool, the thought."""

    key: str
    query: str
    call: ToolCall
    thought: str
    traj: Trajectory


def first_call(key: str, traj: Trajectory) -> CallSource | None:
    """The first call of a trajectory, when its tool is declared and a user query precedes it.

    Only the first call is used: later calls depend on observations that a single-turn sample cannot show.
    """
    if traj.metadata.get("tools_synthesized"):
        return None  # an environment's actions, whose first user turn is the environment's manual
    tools = {t.name: t for t in traj.tools}
    query = None
    for msg in traj.messages:
        if msg.role == "user" and query is None and msg.content.strip():
            query = msg.content.strip()
        if msg.role == "assistant" and msg.tool_calls:
            call = msg.tool_calls[0]
            if query is None or call.name not in tools:
                return None
            thought = strip_format("".join(p.text for p in msg.segments() if p.capability in (None, "reasoning")))[0]
            return CallSource(key, query, call, thought, traj)
        if msg.role in ("tool",):
            return None
    return None


def make_sample(src: CallSource, fmt: str, seed: int) -> Trajectory:
    rng = rng_for(seed, src.key, "instruct")
    tool = next(t for t in src.traj.tools if t.name == src.call.name)
    args = json.dumps(src.call.arguments, ensure_ascii=False)
    if fmt == "json":
        nk = rng.choice(NAME_KEYS)
        ak = rng.choice([k for k in ARGS_KEYS if k.lower() != nk.lower()])
        ask = (f'Reply with only a JSON object with two keys: "{nk}" for the tool name and "{ak}" for its '
               f"arguments as a JSON object.")
        target = json.dumps({nk: src.call.name, ak: src.call.arguments}, ensure_ascii=False)
    elif fmt == "react":
        if src.thought:
            ask = ("Answer in this format and nothing else:\nThought: your reasoning\nAction: the tool name\n"
                   "Action Input: the arguments as JSON")
            target = f"Thought: {src.thought}\nAction: {src.call.name}\nAction Input: {args}"
        else:
            ask = "Answer in this format and nothing else:\nAction: the tool name\nAction Input: the arguments as JSON"
            target = f"Action: {src.call.name}\nAction Input: {args}"
    else:
        shown, template = rng.choice(STRING_TEMPLATES)
        ask = (f"Reply with exactly one line of the form {shown}, where NAME is the tool name and ARGS its "
               "arguments as a JSON object.")
        target = template.format(name=src.call.name, args=args)
    system = rng.choice(SYSTEM_OPENINGS) + "\n" + describe_tool(tool)
    return Trajectory(
        id=f"instruct/{src.key}",
        tools=[tool],
        messages=[
            Message(role="system", content=system),
            Message(role="user", content=f"{src.query}\n\n{ask}"),
            Message(role="assistant", parts=[Part(text=target, capability="instruction_following")]),
        ],
        provenance=src.traj.provenance,
        metadata={"kind": "instruct", "instruct_format": fmt, "from": src.traj.id,
                  "source": src.traj.metadata.get("source")},
    )


def make_samples(sources: list[CallSource], count: int, formats: list[str], seed: int) -> list[Trajectory]:
    """``count`` samples (fewer when fewer calls exist), one per distinct call, formats in equal turns.

    Sequences of one search tree (ToolBench's per-step train_messages) share their first call; a sample is made
    from one of them only, so the output holds no exact duplicates."""
    ranked = sorted(sources, key=lambda s: (stable_hash(seed, s.key, "instruct-pick"), s.key))
    seen: set[str] = set()
    chosen: list[CallSource] = []
    for src in ranked:
        identity = json.dumps([src.query, src.call.name, src.call.arguments], sort_keys=True, ensure_ascii=False)
        if identity in seen:
            continue
        seen.add(identity)
        chosen.append(src)
        if len(chosen) == count:
            break
    return [make_sample(src, formats[i % len(formats)], seed) for i, src in enumerate(chosen)]
