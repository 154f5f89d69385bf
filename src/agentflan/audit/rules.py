"""``--fail-on`` rules: ``METRIC OP NUMBER`` separated by commas, e.g. ``invalid_calls>0.01,contamination>0``.

A rule *trips* when the comparison holds; any tripped rule makes `agentflan audit` exit 1. Shares are fractions
(0–1); ``5%`` is accepted for 0.05. A rule naming an unknown metric, or that does not parse, is a usage error.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentflan.errors import UsageError
from agentflan.validate import (
    ARGS_NOT_JSON,
    EMPTY_ASSISTANT,
    ORPHAN_OBSERVATION,
    TRUNCATED,
    UNKNOWN_TOOL,
)

METRICS: dict[str, str] = {
    "records": "trajectories audited",
    "rejected": "records that could not be read",
    "rejected_share": "rejected / (audited + rejected)",
    "format_share": "format tokens / supervised tokens",
    "invalid_calls": "share of calls to a missing tool, with schema-breaking or non-JSON arguments",
    UNKNOWN_TOOL: "share of records calling a tool missing from their tool list",
    "args_missing_required": "share of records with a call missing a required argument",
    "args_wrong_type": "share of records with an argument of the wrong type",
    "args_unknown_key": "share of records with an argument the tool does not declare",
    "args_not_in_enum": "share of records with an argument outside the tool's enum",
    ARGS_NOT_JSON: "share of records with arguments that are not JSON",
    ORPHAN_OBSERVATION: "share of records with a tool result and no call before it",
    EMPTY_ASSISTANT: "share of records with an empty assistant turn",
    TRUNCATED: "share of records without a final answer",
    "duplicates": "share of records that are exact or near copies of an earlier one",
    "exact_duplicates": "share of records that are exact copies of an earlier one",
    "near_duplicates": "share of records that are near copies of an earlier one",
    "contamination": "share of records whose queries overlap an --against evaluation set",
    "tool_contamination": "share of records offering a tool (same name and parameters) of an --against set",
    "tools_no_call": "share of samples with tools given where the assistant never calls one",
    "negative_circumstances": "how many of the paper's four circumstances (Fig. 6) occur (0-4)",
    "negative_share": "negatives / agent-side records of built data (the release: 0.022)",
    "format_mismatch": "share of records whose prompt asks for a reply format none of their replies uses",
    "chat_format_mismatch": "chat-aligned records whose prompt asks for a reply format their replies do not use",
    "ungrounded_arguments": "share of call argument values found nowhere in the context before the call",
    "instruct_ungrounded_arguments": "argument values of format-following samples not found in their prompt",
    "negative_reply_repetition": "share of a negative type's samples repeating its most repeated reply sentence",
    "call_phrases": "share of calling turns whose text uses a phrase Agent-H's H_General counts as a call",
    "unfinished": "share of records that give up or end on a call with no answer",
}

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}
_RULE = re.compile(r"^\s*(?P<name>[a-z_]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+]?\d+(?:\.\d+)?|\.\d+)"
                   r"\s*(?P<pct>%)?\s*$")


@dataclass(frozen=True)
class Rule:
    metric: str
    op: str
    value: float
    text: str

    def trips(self, metrics: dict[str, Any]) -> bool:
        return bool(_OPS[self.op](float(metrics[self.metric]), self.value))


def parse_rules(text: str | None) -> list[Rule]:
    """Parse ``--fail-on``; raises `UsageError` naming the bad rule and the metrics that exist."""
    if text is None or not text.strip():
        return []
    rules = []
    for raw in text.split(","):
        if not raw.strip():
            raise UsageError(f"--fail-on {text!r}: empty rule (two commas in a row, or a trailing comma)")
        m = _RULE.match(raw)
        if not m:
            raise UsageError(f"--fail-on: cannot parse {raw.strip()!r}; expected METRIC OP NUMBER such as "
                             f"'invalid_calls>0.01' (OP one of {', '.join(_OPS)})")
        name = m.group("name")
        if name not in METRICS:
            raise UsageError(f"--fail-on: unknown metric {name!r}; known: {', '.join(METRICS)}")
        value = float(m.group("value")) / (100 if m.group("pct") else 1)
        rules.append(Rule(name, m.group("op"), value, raw.strip()))
    return rules


def tripped(rules: list[Rule], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"rule": r.text, "metric": r.metric, "value": metrics[r.metric]} for r in rules if r.trips(metrics)]
