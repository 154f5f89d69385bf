"""Negative coverage (paper observation 3, Fig. 6): are there samples that teach *not* calling a tool?

Two views. The observed 2×2 (tools given or not × the assistant calls or not) needs no labels and works on any
corpus. The paper's four circumstances (tools given or not × the query needs a tool or not) need to know whether
the query needs a tool: a call answers yes; a built negative says which circumstance it is; otherwise an
unanswered query is counted as not needing one (the observed view cannot tell more).

A call is a native call, a call to an offered tool written in an assistant turn's text (ReAct, the Agent-FLAN
conversation: built ReAct records and release rows keep their calls there), read by `agentflan.calls`, or the
reply of a format-following sample (a call in the format its prompt asks for, whatever that format is).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.schema import Trajectory

CELLS = ("tools_call", "tools_no_call", "no_tools_call", "no_tools_no_call")
AGENT_SIDE = frozenset({"agent", "react", "instruct", "negative"})
CIRCUMSTANCES = ("tools_tool_query", "tools_general_query", "no_tools_tool_query", "no_tools_general_query")

# `build`'s negative types (construct/negatives.py) and whether their query needs a tool.
NEGATIVE_TYPES_NEED_TOOL = {
    "tools_given_no_need": False,
    "no_tools_needs_tool": True,
    "irrelevant_tools_needs_tool": True,
    "missing_argument": True,
    "distractor_tools": True,
}


def negative_type(traj: Trajectory) -> str | None:
    """The negative type a built record declares in its metadata, wherever `build` put it."""
    for key in ("negative", "negative_type", "circumstance"):
        value = traj.metadata.get(key)
        if isinstance(value, dict):
            value = value.get("type") or value.get("circumstance")
        if isinstance(value, str) and value in NEGATIVE_TYPES_NEED_TOOL:
            return value
    return None


def makes_call(traj: Trajectory) -> bool:
    """Whether an assistant turn calls a tool (see the module docstring)."""
    if traj.calls() or traj.kind == "instruct":
        return True
    if not traj.tools:
        return False
    from agentflan.calls import parse_reply  # imported here: the reply parser is not needed for most audits

    offered = {t.name: t.parameters for t in traj.tools}
    return any(c.name in offered for m in traj.messages if m.role == "assistant" and m.content
               for c in parse_reply(m.content, offered).calls)


def cell(traj: Trajectory, calls: bool | None = None) -> str:
    tools = "tools" if traj.tools else "no_tools"
    calls = makes_call(traj) if calls is None else calls
    return f"{tools}_call" if calls else f"{tools}_no_call"


def needs_tool(traj: Trajectory, calls: bool | None = None) -> bool:
    if makes_call(traj) if calls is None else calls:
        return True
    ntype = negative_type(traj)
    return NEGATIVE_TYPES_NEED_TOOL.get(ntype, False) if ntype else False


class NegativeCoverage:
    def __init__(self, examples: int = 5) -> None:
        self.cells: Counter[str] = Counter()
        self.circumstances: Counter[str] = Counter()
        self.by_source: dict[str, Counter[str]] = {}
        self.negative_types: Counter[str] = Counter()
        self.examples = Examples(examples)
        self.records = 0
        self.agent_side = 0  # built records of the agent side: agent, react, instruct, negative

    def add(self, rec: AuditedRecord) -> None:
        traj = rec.traj
        if traj.kind in AGENT_SIDE:
            self.agent_side += 1
        if not any(m.role == "assistant" for m in traj.messages):
            # An evaluation question with no reply (BFCL) teaches nothing either way; counted apart.
            self.cells["no_reply"] += 1
            self.by_source.setdefault(rec.source, Counter())["no_reply"] += 1
            self.examples.add("no_reply", rec.id)
            return
        self.records += 1
        calls = makes_call(traj)
        c = cell(traj, calls)
        self.cells[c] += 1
        self.by_source.setdefault(rec.source, Counter())[c] += 1
        self.examples.add(c, rec.id)
        tools = "tools" if traj.tools else "no_tools"
        circ = f"{tools}_tool_query" if needs_tool(traj, calls) else f"{tools}_general_query"
        self.circumstances[circ] += 1
        self.examples.add(circ, rec.id)
        ntype = negative_type(traj)
        if ntype:
            self.negative_types[ntype] += 1

    def report(self) -> Findings:
        n = self.result()
        return Findings({"negative_coverage": n}, {"tools_no_call": n["tools_no_call_share"],
                                                   "negative_circumstances": n["circumstances_present"],
                                                   "negative_share": n["negative_share"]})

    def result(self) -> dict[str, Any]:
        with_tools = self.cells["tools_call"] + self.cells["tools_no_call"]
        return {
            **{c: self.cells[c] for c in CELLS},
            "no_reply": self.cells["no_reply"],
            "samples": self.records,
            # The paper's missing case: tools offered, and the right reply is not to call one.
            "tools_no_call_share": share(self.cells["tools_no_call"], with_tools),
            "circumstances": {c: self.circumstances[c] for c in CIRCUMSTANCES},
            "circumstances_present": sum(1 for c in CIRCUMSTANCES if self.circumstances[c]),
            "negative_types": dict(sorted(self.negative_types.items())),
            # Built data only: negatives among the agent side (the release: 761 of 34,442 rows, 2.2%).
            "agent_side": self.agent_side,
            "negative_share": share(sum(self.negative_types.values()), self.agent_side),
            "by_source": {s: {c: n[c] for c in (*CELLS, "no_reply")} for s, n in self.by_source.items()},
            "examples": {k: self.examples.get(k) for k in (*CELLS, "no_reply", *CIRCUMSTANCES)
                         if self.examples.get(k)},
        }
