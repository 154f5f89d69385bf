"""Checks that flag doubtful-but-parseable content of a trajectory.

One implementation serves `convert` (flags kept in the record), `build` (drops flagged records when asked) and
`audit` (counts per rule). Each check returns `Flag`s; none raises.
"""

from __future__ import annotations

from agentflan.schema import Flag, Trajectory
from agentflan.toolschema import check_arguments

# Codes of the call checks. Readers add "args_not_json" themselves (the raw string is gone after parsing).
UNKNOWN_TOOL = "unknown_tool"
ARGS_SCHEMA = "args_schema"
ARGS_NOT_JSON = "args_not_json"
ORPHAN_OBSERVATION = "orphan_observation"
EMPTY_ASSISTANT = "empty_assistant"
TRUNCATED = "truncated"


def call_flags(traj: Trajectory) -> list[Flag]:
    """Calls to tools missing from the tool list, and arguments that break the tool's schema.

    Trajectories with no tool list (e.g. AgentInstruct environments whose actions are not declared as
    functions) are not checked for unknown tools: there is nothing to check against.
    """
    flags: list[Flag] = []
    tools = {t.name: t for t in traj.tools}
    for index, call in traj.calls():
        if not tools:
            continue
        tool = tools.get(call.name)
        if tool is None:
            flags.append(Flag(code=UNKNOWN_TOOL, message=index, detail=f"call to {call.name!r} not in tools"))
            continue
        problems = check_arguments(call.arguments, tool.parameters)
        if problems:
            flags.append(
                Flag(code=ARGS_SCHEMA, message=index, detail=f"{call.name}: " + "; ".join(map(str, problems[:5])))
            )
    return flags


def structure_flags(traj: Trajectory) -> list[Flag]:
    """Observations with no preceding call, empty assistant turns, trajectories that end without a reply."""
    flags: list[Flag] = []
    seen_call = False
    for index, msg in enumerate(traj.messages):
        if msg.role == "assistant":
            if msg.tool_calls:
                seen_call = True
            elif not msg.content.strip():
                flags.append(Flag(code=EMPTY_ASSISTANT, message=index, detail="assistant turn with no text and no call"))
        elif msg.role == "tool" and not seen_call:
            flags.append(Flag(code=ORPHAN_OBSERVATION, message=index, detail="tool result with no call before it"))
    last_assistant = next((m for m in reversed(traj.messages) if m.role == "assistant"), None)
    if last_assistant is None or last_assistant.tool_calls or traj.messages[-1].role == "tool":
        flags.append(Flag(code=TRUNCATED, detail="no final assistant answer"))
    return flags


def with_flags(traj: Trajectory, flags: list[Flag]) -> Trajectory:
    """The trajectory with ``flags`` added, skipping any it already carries (idempotent on re-conversion)."""
    existing = {(f.code, f.message, f.detail) for f in traj.flags}
    new = [f for f in flags if (f.code, f.message, f.detail) not in existing]
    if not new:
        return traj
    return traj.model_copy(update={"flags": [*traj.flags, *new]})
