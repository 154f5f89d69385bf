"""Finished trajectories: the paper kept only ToolBench trajectories that end in a final answer, with no
give-ups (App. B). One definition serves `build` (``agent.finished_only`` leaves the others out, counted by
reason) and `audit` (the ``unfinished`` check), for any corpus.

A trajectory is unfinished when

- ``gave_up``: it gives up anywhere (ToolBench's ``Finish`` with ``give_up_and_restart``, as a call, as ReAct
  text, or as the reader's note on the turn), or
- ``restarted``: it holds a DFS retry prompt ("This is not the first time you try this task …"): the paper
  dropped these too, and the failed attempt before the prompt stays in the history, so without the prompt the
  assistant would seem to repeat itself, or
- ``ends_on_call``: after its last call no assistant answer follows (the last turn is a call or a tool result),
  or
- ``no_answer``: no assistant turn says anything.

A source record whose one call is its last turn, with no tool result anywhere (an xLAM or BFCL call-prediction
row, the first step of a ToolBench search), and a built format-following sample are ``call_only``: samples that
teach one call, not trajectories that stopped half-way, so the audit does not count them as unfinished; they do
not end in an answer either, so ``agent.finished_only`` leaves them out of a build. A built conversation
(``agent``, ``react``, ``negative``) that ends on a call is ``ends_on_call`` whatever its length.

Environment episodes (AgentInstruct's ALFWorld, WebShop, Mind2Web, whose actions the reader turned into calls
of synthesised tools) end on an action by nature: the environment, not a reply, closes the episode, so ending
on a call does not make them unfinished.
"""

from __future__ import annotations

import json
import re

from agentflan.callsyntax import react_sections
from agentflan.schema import Message, Trajectory

from .prompts import RETRY_PROMPT

GIVE_UP = "give_up_and_restart"
UNFINISHED = ("gave_up", "restarted", "ends_on_call", "no_answer")
REASONS = (*UNFINISHED, "call_only")
DETAILS = {
    "gave_up": "the trajectory gives up (give_up_and_restart)",
    "restarted": "the trajectory restarts after a failed attempt (a DFS retry prompt)",
    "ends_on_call": "no answer after the last call",
    "no_answer": "no assistant turn says anything",
    "call_only": "one call and no answer: a step, not a trajectory that ends in an answer",
}
_GIVE_UP_TEXT = re.compile(r"give_up_and_restart|\bI give up and restart\b", re.I)
_ANSWER_ACTIONS = frozenset({"finish", "answer", "final answer", "final_answer"})


def _gives_up(msg: Message) -> bool:
    if msg.metadata.get("finish") == GIVE_UP:
        return True
    if any(GIVE_UP in json.dumps(c.arguments, ensure_ascii=False) for c in msg.tool_calls):
        return True
    return bool(_GIVE_UP_TEXT.search(msg.content))


def _is_call(msg: Message) -> bool:
    """An assistant turn that acts: native calls, or ReAct text whose last section is an action."""
    if msg.tool_calls:
        return True
    sections = [name for name, body, _, _ in react_sections(msg.content) if name != "preamble" or body.strip()]
    if "final_answer" in sections or "action" not in sections:
        return False
    action = next(body for name, body, _, _ in reversed(react_sections(msg.content)) if name == "action")
    head = action.strip().split("[", 1)[0].strip().lower()
    return head not in _ANSWER_ACTIONS


def unfinished(traj: Trajectory) -> str | None:
    """Why ``traj`` does not end in an answer (one of `REASONS`), or None when it does (or has no replies at
    all: an evaluation question is neither finished nor unfinished)."""
    assistant = [m for m in traj.messages if m.role == "assistant"]
    if not assistant:
        return None
    if any(_gives_up(m) for m in assistant):
        return "gave_up"
    if any(m.role == "user" and (m.metadata.get("dfs_recovery") or RETRY_PROMPT.search(m.content))
           for m in traj.messages):
        return "restarted"
    if traj.environment_actions:
        return None
    last = next(i for i in range(len(traj.messages) - 1, -1, -1) if traj.messages[i].role in ("assistant", "tool"))
    if traj.messages[last].role == "tool" or _is_call(traj.messages[last]):
        # One call at the end, no tool result anywhere: a call-prediction sample (its earlier assistant turns,
        # if any, are conversation before the call).
        single = (not any(m.role == "tool" or m.metadata.get("observation") for m in traj.messages)
                  and not any(_is_call(m) for m in assistant[:-1]))
        if single and traj.kind in (None, "instruct"):
            return "call_only"
        return "ends_on_call"
    if not any(m.content.strip() or m.tool_calls for m in assistant):
        return "no_answer"
    return None
