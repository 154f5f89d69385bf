"""Validity: counts per rule of `agentflan.validate`'s checks (one checker shared with convert and build),
plus the records the readers rejected because a call's arguments were not JSON."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.pipeline.sources import Reject
from agentflan.validate import (
    ARGS_NOT_JSON,
    ARGS_SCHEMA,
    EMPTY_ASSISTANT,
    ORPHAN_OBSERVATION,
    TRUNCATED,
    UNKNOWN_TOOL,
    call_flags,
    structure_flags,
    with_flags,
)

# The schema problems `toolschema.check_arguments` names; an args_schema flag's detail lists them.
SCHEMA_PROBLEMS = ("missing_required", "wrong_type", "unknown_key", "not_in_enum")
_PROBLEM = re.compile(r"\b(" + "|".join(SCHEMA_PROBLEMS) + r") at ")

RULES = (
    UNKNOWN_TOOL,
    *(f"args_{p}" for p in SCHEMA_PROBLEMS),
    ARGS_NOT_JSON,
    ORPHAN_OBSERVATION,
    EMPTY_ASSISTANT,
    TRUNCATED,
)
CALL_RULES = (UNKNOWN_TOOL, ARGS_SCHEMA, ARGS_NOT_JSON)

DESCRIPTIONS = {
    UNKNOWN_TOOL: "call to a tool missing from the tool list",
    "args_missing_required": "arguments lack a required parameter",
    "args_wrong_type": "an argument has the wrong type",
    "args_unknown_key": "an argument the tool does not declare",
    "args_not_in_enum": "an argument outside the tool's enum",
    ARGS_NOT_JSON: "arguments are not JSON (flagged, or the record was rejected)",
    ORPHAN_OBSERVATION: "tool result with no call before it",
    EMPTY_ASSISTANT: "assistant turn with no text and no call",
    TRUNCATED: "trajectory ends without a final assistant answer",
}


def record_flags(rec: AuditedRecord) -> list[Any]:
    """Every flag of a record: what the reader and the read stage set, plus the structure checks."""
    traj = rec.traj
    flags = with_flags(traj, call_flags(traj) + structure_flags(traj)).flags
    if not any(m.role == "assistant" for m in traj.messages):
        # A question without any reply (an evaluation file) is not a truncated trajectory; negatives counts it.
        flags = [f for f in flags if f.code != TRUNCATED]
    return flags


def rules_of(flag: Any) -> list[str]:
    """The audit rules one flag counts under (a schema flag may break several)."""
    if flag.code == ARGS_SCHEMA:
        found = sorted(set(_PROBLEM.findall(flag.detail)))
        return [f"args_{p}" for p in found] or ["args_schema_other"]
    return [flag.code]


class Validity:
    def __init__(self, examples: int = 5) -> None:
        self.occurrences: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.other: Counter[str] = Counter()
        self.examples = Examples(examples)
        self.details: dict[str, list[dict[str, Any]]] = {}
        self.calls = 0
        self.invalid_calls = 0
        self.rejected_not_json = 0
        self.n = 0

    def add(self, rec: AuditedRecord) -> None:
        self.n += 1
        self.calls += len(rec.traj.calls())
        seen: set[str] = set()
        for flag in record_flags(rec):
            if flag.code in CALL_RULES:
                self.invalid_calls += 1
            for rule in rules_of(flag):
                if rule not in RULES:
                    self.other[rule] += 1
                    continue
                self.occurrences[rule] += 1
                if rule not in seen:
                    seen.add(rule)
                    self.records[rule] += 1
                    if len(self.examples.get(rule)) < self.examples.limit:
                        self.examples.add(rule, rec.id)
                        self.details.setdefault(rule, []).append(
                            {"id": rec.id, "message": flag.message, "detail": flag.detail[:300]})

    def add_reject(self, rej: Reject) -> None:
        if rej.reason == ARGS_NOT_JSON:
            self.rejected_not_json += 1
            self.occurrences[ARGS_NOT_JSON] += 1
            self.records[ARGS_NOT_JSON] += 1
            ref = f"{rej.path}:{rej.line}" if rej.line is not None else f"{rej.path}#{rej.index}"
            if len(self.details.get(ARGS_NOT_JSON, [])) < self.examples.limit:
                self.details.setdefault(ARGS_NOT_JSON, []).append(
                    {"id": None, "rejected": ref + (f" {rej.item}" if rej.item else ""), "detail": rej.detail[:300]})

    def report(self) -> Findings:
        counts, details = self.result()
        return Findings({"validity": counts, "validity_details": details},
                        {"invalid_calls": details["invalid_call_share"],
                         **{rule: info["record_share"] for rule, info in details["rules"].items()}})

    def result(self) -> tuple[dict[str, int], dict[str, Any]]:
        """(count per rule, details: records per rule, rates, examples, the invalid-call rate)."""
        counts = {rule: self.occurrences[rule] for rule in RULES}
        calls = self.calls + self.rejected_not_json
        invalid = self.invalid_calls + self.rejected_not_json
        details = {
            "rules": {
                rule: {
                    "description": DESCRIPTIONS[rule],
                    "occurrences": self.occurrences[rule],
                    "records": self.records[rule],
                    "record_share": share(self.records[rule], self.n + self.rejected_not_json),
                    "examples": self.examples.get(rule),
                    "details": self.details.get(rule, []),
                }
                for rule in RULES
            },
            "calls": calls,
            "invalid_calls": invalid,
            "invalid_call_share": share(invalid, calls),
            "rejected_args_not_json": self.rejected_not_json,
            "other_flags": dict(sorted(self.other.items())),
        }
        return counts, details
