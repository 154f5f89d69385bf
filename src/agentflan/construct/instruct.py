"""Format-following samples (paper §4.1, App. A): samples made from real tool calls that ask for the call in an
explicitly described format, with the exact target. The prompt is the context the call was made in; only calls
whose argument values that context grounds are used.

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

from agentflan.errors import RecordError
from agentflan.phrasing import describe_tool
from agentflan.schema import Message, Part, ToolCall, Trajectory
from agentflan.seeding import ranked, rng_for

from . import grounding
from .align import render_chat

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
    """A real call fit for a format-following sample, with the context it was made in: the conversation before
    it (user turns, prompts cleaned, and the assistant's text turns, as aligned), ending with the user turn the
    call answers."""

    key: str
    history: tuple[Message, ...]
    call: ToolCall
    thought: str
    traj: Trajectory

    @property
    def query(self) -> str:
        return self.history[-1].content


def first_call(key: str, traj: Trajectory, seed: int = 0) -> CallSource | None:
    """The first call of a trajectory with the conversation before it, when its tool is declared and a user
    turn precedes it. The context is taken from the chat rendering, so its prompts are cleaned the same way.

    Only the first call is used: later calls depend on tool results that a format-following sample does not
    show. The call may come several turns in ("delete my account" … "my username is …"): the whole exchange
    before it is the sample's prompt, not only the first user turn.
    """
    if traj.environment_actions:
        return None  # an environment's actions, whose first user turn is the environment's manual
    tools = {t.name for t in traj.tools}
    try:
        aligned = render_chat(traj, seed)
    except RecordError:
        return None
    history: list[Message] = []
    for msg in aligned.messages:
        if msg.role == "tool":
            return None
        if msg.role == "assistant" and msg.tool_calls:
            call = msg.tool_calls[0]
            if call.name not in tools or not history or history[-1].role != "user":
                return None
            thought = "".join(p.text for p in msg.parts or [] if p.capability == "reasoning").strip()
            return CallSource(key, tuple(history), call, thought, traj)
        if msg.role == "user":
            history.append(Message(role="user", content=msg.content.strip()))
        elif msg.role == "assistant" and msg.content.strip():
            # Context, not a target: the sample supervises only the formatted call.
            history.append(Message(role="assistant", content=msg.content.strip(), loss=False))
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
            *src.history[:-1],
            Message(role="user", content=f"{src.query}\n\n{ask}"),
            Message(role="assistant", parts=[Part(text=target, capability="instruction_following")]),
        ],
        provenance=src.traj.provenance,
        metadata={"kind": "instruct", "instruct_format": fmt, "from": src.traj.id,
                  "source": src.traj.metadata.get("source")},
    )


def make_samples(sources: list[CallSource], count: int, formats: list[str],
                 seed: int) -> tuple[list[Trajectory], dict[str, int]]:
    """``count`` samples (fewer when fewer calls qualify), one per distinct call, formats in equal turns, and
    how the candidates fared (``candidates``, ``made``, ``ungrounded``, ``duplicate``, ``not_needed``).

    A call is used only when every argument value is grounded in the sample's own prompt (`grounding`, the
    check `agentflan audit` runs): a target with a value the prompt does not contain ("delete my account" →
    ``{"password": "user1pass"}``) would teach the model to invent arguments. Sequences of one search tree
    (ToolBench's per-step train_messages) share their first call; a sample is made from one of them only, so
    the output holds no exact duplicates."""
    order = ranked(sources, seed, "instruct-pick", key=lambda s: s.key)
    seen: set[str] = set()
    made: list[Trajectory] = []
    report = {"candidates": len(sources), "made": 0, "ungrounded": 0, "duplicate": 0, "not_needed": 0}
    for src in order:
        if len(made) == count:
            report["not_needed"] += 1
            continue
        identity = json.dumps([[m.content for m in src.history], src.call.name, src.call.arguments],
                              sort_keys=True, ensure_ascii=False)
        if identity in seen:
            report["duplicate"] += 1
            continue
        seen.add(identity)
        sample = make_sample(src, formats[len(made) % len(formats)], seed)
        if grounding.check(sample)[1]:
            report["ungrounded"] += 1
            continue
        made.append(sample)
    report["made"] = len(made)
    return made, report
