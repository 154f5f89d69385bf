"""Unfinished trajectories: records that give up (``give_up_and_restart``) or stop after a call with no answer.
The paper kept only ToolBench trajectories that end in a final answer. The definition is
`construct.finished`, the one `agent.finished_only` builds with; single-call samples (format-following, xLAM
rows, a search's first step) are counted apart as ``call_only``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.construct.finished import REASONS, UNFINISHED, unfinished


class Unfinished:
    def __init__(self, examples: int = 5) -> None:
        self.examples = Examples(examples)
        self.records = 0
        self.reasons: Counter[str] = Counter()
        self.by_kind: dict[str, Counter[str]] = {}

    def add(self, rec: AuditedRecord) -> None:
        if not any(m.role == "assistant" for m in rec.traj.messages):
            return  # an evaluation question: neither finished nor unfinished
        self.records += 1
        kind = rec.traj.kind or "source"
        counts = self.by_kind.setdefault(kind, Counter())
        counts["records"] += 1
        why = unfinished(rec.traj)
        if why is None:
            return
        self.reasons[why] += 1
        counts[why] += 1
        self.examples.add(why, rec.id)

    def report(self) -> Findings:
        u = self.result()
        return Findings({"unfinished": u}, {"unfinished": u["share"]})

    def result(self) -> dict[str, Any]:
        count = sum(self.reasons[r] for r in UNFINISHED)
        return {
            "records": self.records,
            "unfinished": count,
            "share": share(count, self.records),
            "by_reason": {r: self.reasons[r] for r in REASONS},
            "by_kind": {k: {"records": c["records"], **{r: c[r] for r in REASONS}}
                        for k, c in sorted(self.by_kind.items())},
            "examples": {r: self.examples.get(r) for r in REASONS if self.examples.get(r)},
        }
