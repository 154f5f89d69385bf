"""Prompt/reply format mismatch: records whose system or user turns ask for a reply format (ReAct keywords,
JSON, AutoGPT's ``Finish`` rules, retry prompts quoting calls) that none of their replies uses.

A model trained on such records learns that instructions about format may be ignored. The detection is
`construct.prompts`, the same definition the build's cleaning uses. Counted per *rendering*: ``chat``
(Agent-FLAN conversation, must be 0), ``react`` (the 10% kept in ReAct with their original prompts), the
other built kinds (``instruct``, ``negative``, ``general``) and ``source`` (records not built by agentflan).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.construct.prompts import KINDS, mismatches
from agentflan.formats.react import render_react


def rendering(rec: AuditedRecord) -> str:
    meta = rec.traj.metadata
    return str(meta.get("rendering") or meta.get("kind") or "source")


class FormatMismatch:
    def __init__(self, examples: int = 5) -> None:
        self.examples = Examples(examples)
        self.records: Counter[str] = Counter()
        self.mismatched: Counter[str] = Counter()
        self.by_format: Counter[str] = Counter()
        self.details: list[dict[str, Any]] = []
        self.limit = examples

    def add(self, rec: AuditedRecord) -> None:
        group = rendering(rec)
        self.records[group] += 1
        # Replies as the model sees them: a ReAct corpus's reader keeps the thought and the call, not the keywords.
        found = mismatches(render_react(rec.traj) if rec.view == "react" else rec.traj)
        if not found:
            return
        self.mismatched[group] += 1
        for fmt in sorted({f for _, f in found}):
            self.by_format[fmt] += 1
            self.examples.add(fmt, rec.id)
        if len(self.details) < 4 * self.limit:
            index, fmt = found[0]
            self.details.append({"id": rec.id, "rendering": group, "message": index, "format": fmt,
                                 "role": rec.traj.messages[index].role,
                                 "text": " ".join(rec.traj.messages[index].content.split())[:200]})

    def report(self) -> Findings:
        m = self.result()
        return Findings({"format_mismatch": m}, {"format_mismatch": m["share"],
                                                 "chat_format_mismatch": m["chat_mismatched"]})

    def result(self) -> dict[str, Any]:
        records, mismatched = sum(self.records.values()), sum(self.mismatched.values())
        return {
            "records": records,
            "mismatched": mismatched,
            "share": share(mismatched, records),
            "chat_mismatched": self.mismatched["chat"],
            "by_rendering": {g: {"records": n, "mismatched": self.mismatched[g],
                                 "share": share(self.mismatched[g], n)} for g, n in sorted(self.records.items())},
            "by_format": {f: self.by_format[f] for f in KINDS},
            "examples": {f: self.examples.get(f) for f in KINDS if self.examples.get(f)},
            "details": self.details,
        }
