"""Argument grounding: the share of call argument values (strings and numbers) that appear nowhere in the
context the call was made in: the tools, and the text and calls of the turns before it.

Agent trajectories legitimately compose some values (a search query of the model's own wording); a
format-following sample (``kind: instruct``) asks for one call from its prompt alone, so every value its target
does not find there is invented. The check is `construct.grounding`, the one the build selects those samples
with. Calls are native calls and JSON objects written in assistant text (format-following targets, ReAct's
``Action Input``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, share
from agentflan.audit.section import Findings
from agentflan.construct.grounding import check


class ArgumentGrounding:
    def __init__(self, examples: int = 5) -> None:
        self.values: Counter[str] = Counter()
        self.ungrounded: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.records_ungrounded: Counter[str] = Counter()
        self.details: list[dict[str, Any]] = []
        self.limit = examples

    def add(self, rec: AuditedRecord) -> None:
        checked, found = check(rec.traj)
        if not checked:
            return
        kind = rec.traj.kind or "source"
        self.values[kind] += checked
        self.records[kind] += 1
        if not found:
            return
        self.ungrounded[kind] += len(found)
        self.records_ungrounded[kind] += 1
        if sum(1 for d in self.details if d["kind"] == kind) < self.limit:
            f = found[0]
            self.details.append({"id": rec.id, "kind": kind, "message": f.message, "argument": f.path,
                                 "value": str(f.value)[:120], "ungrounded_in_record": len(found)})

    def report(self) -> Findings:
        g = self.result()
        return Findings({"argument_grounding": g}, {"ungrounded_arguments": g["share"],
                                                    "instruct_ungrounded_arguments": g["instruct_ungrounded"]})

    def result(self) -> dict[str, Any]:
        values, ungrounded = sum(self.values.values()), sum(self.ungrounded.values())
        return {
            "values": values,
            "ungrounded": ungrounded,
            "share": share(ungrounded, values),
            "instruct_ungrounded": self.ungrounded["instruct"],
            "by_kind": {k: {"values": n, "ungrounded": self.ungrounded[k], "share": share(self.ungrounded[k], n),
                            "records": self.records[k], "records_ungrounded": self.records_ungrounded[k]}
                        for k, n in sorted(self.values.items())},
            "examples": [d["id"] for d in self.details],
            "details": self.details,
        }
