from __future__ import annotations

import pytest

from agentflan.audit.rules import METRICS, parse_rules, tripped
from agentflan.errors import UsageError


def test_parse_and_trip() -> None:
    rules = parse_rules("invalid_calls>0.01, contamination>0,format_share<=50%")
    assert [(r.metric, r.op, r.value) for r in rules] == [("invalid_calls", ">", 0.01), ("contamination", ">", 0.0),
                                                          ("format_share", "<=", 0.5)]
    metrics = {"invalid_calls": 0.02, "contamination": 0.0, "format_share": 0.7}
    assert [t["metric"] for t in tripped(rules, metrics)] == ["invalid_calls"]
    assert parse_rules(None) == [] and parse_rules("  ") == []


@pytest.mark.parametrize("text", ["invalid_calls", "invalid_calls>>1", "bogus>1", "a>1,,b>2", "records>x",
                                  "records>1,"])
def test_bad_rules_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_rules(text)


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="invalid_calls"):
        parse_rules("invalid_call>0")
    assert "negative_circumstances" in METRICS
