"""Every validity rule: one record that breaks it, one that does not."""

from __future__ import annotations

from collections import Counter

import pytest
from audit_fixtures import WEATHER, call_traj

from agentflan.audit.record import AuditedRecord
from agentflan.audit.validity import RULES, Validity, record_flags, rules_of
from agentflan.pipeline.sources import Reject
from agentflan.schema import Flag, Message, ToolCall, Trajectory


def _rules(traj: Trajectory) -> Counter[str]:
    rec = AuditedRecord(traj, "s", "function_call", [], Counter())
    return Counter(rule for flag in record_flags(rec) for rule in rules_of(flag))


def _msgs(*messages: Message) -> Trajectory:
    return Trajectory(id="t", tools=[WEATHER], messages=list(messages))


USER = Message(role="user", content="Weather in Paris?")
CALL = Message(role="assistant", content="", tool_calls=[ToolCall(id="c", name="weather", arguments={"city": "P"})])
RESULT = Message(role="tool", content="21", tool_call_id="c")
ANSWER = Message(role="assistant", content="21 °C.")

CASES = {
    # rule: (record that breaks it, record that does not)
    "unknown_tool": (call_traj(name="forecast"), call_traj()),
    "args_missing_required": (call_traj(arguments={"unit": "C"}), call_traj(arguments={"city": "Rome"})),
    "args_wrong_type": (call_traj(arguments={"city": "Rome", "days": "two"}),
                        call_traj(arguments={"city": "Rome", "days": 2})),
    "args_unknown_key": (call_traj(arguments={"city": "Rome", "zip": "00100"}),
                         call_traj(arguments={"city": "Rome", "unit": "C"})),
    "args_not_in_enum": (call_traj(arguments={"city": "Rome", "unit": "K"}),
                         call_traj(arguments={"city": "Rome", "unit": "F"})),
    "args_not_json": (call_traj().model_copy(update={"flags": [Flag(code="args_not_json", message=1,
                                                                   detail="{city: Paris")]}), call_traj()),
    "orphan_observation": (_msgs(USER, RESULT, ANSWER), _msgs(USER, CALL, RESULT, ANSWER)),
    "empty_assistant": (_msgs(USER, Message(role="assistant", content="  "), ANSWER), _msgs(USER, ANSWER)),
    "truncated": (_msgs(USER, CALL, RESULT), _msgs(USER, CALL, RESULT, ANSWER)),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_breaks_and_holds(rule: str) -> None:
    bad, good = CASES[rule]
    assert _rules(bad)[rule] >= 1, f"{rule} not reported on a record that breaks it"
    assert _rules(good)[rule] == 0, f"{rule} reported on a record that keeps it"


def test_a_question_without_reply_is_not_truncated() -> None:
    question = Trajectory(id="q", tools=[WEATHER], messages=[USER])
    assert _rules(question)["truncated"] == 0


def test_counts_rates_examples_and_rejected_not_json() -> None:
    v = Validity(examples=2)
    for i, traj in enumerate([call_traj("a", name="x"), call_traj("b", name="y"), call_traj("c", name="z"),
                              call_traj("d")]):
        v.add(AuditedRecord(traj.model_copy(update={"id": f"r{i}"}), "s", "function_call", [], Counter()))
    v.add_reject(Reject("f.jsonl", "args_not_json", "arguments are not JSON", line=7))
    v.add_reject(Reject("f.jsonl", "invalid_json", "truncated", line=8))
    counts, details = v.result()
    assert counts["unknown_tool"] == 3
    assert counts["args_not_json"] == 1
    assert details["rules"]["unknown_tool"]["examples"] == ["r0", "r1"]  # capped at the example limit
    assert details["rules"]["unknown_tool"]["record_share"] == round(3 / 5, 4)
    assert details["calls"] == 5 and details["invalid_calls"] == 4
    assert details["rules"]["args_not_json"]["details"][0]["rejected"] == "f.jsonl:7"
