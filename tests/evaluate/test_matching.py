from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.calls import ParsedCall
from agentflan.evaluate.matching import check_arguments_bfcl, match_calls, standardize_string
from agentflan.toolschema import normalise_schema

# A BFCL-dialect schema, normalised as the readers store it (original types kept in x-original-type).
SCHEMA = normalise_schema({"type": "dict", "required": ["city", "days"], "properties": {
    "city": {"type": "string"}, "days": {"type": "integer"}, "temp": {"type": "float"},
    "point": {"type": "tuple", "items": {"type": "integer"}}, "tags": {"type": "array", "items": {"type": "string"}},
    "extra": {"type": "any"}, "opts": {"type": "dict", "properties": {"unit": {"type": "string"}}},
    "stops": {"type": "array", "items": {"type": "dict"}}}})
ALLOWED = {"city": ["New York, NY", "NYC"], "days": [3], "temp": [20.0, ""], "point": [[1, 2], ""],
           "tags": [["Sunny Day", "rain"], ""], "extra": ["x", ""], "opts": [{"unit": ["celsius", "C"]}, ""],
           "stops": [[{"name": ["A"]}, {"name": ["B"]}], ""]}


@pytest.mark.parametrize(("args", "ok"), [
    ({"city": "new york ny", "days": 3}, True),  # strings normalised
    ({"city": "NYC", "days": 3, "temp": 20}, True),  # int accepted for float
    ({"city": "NYC", "days": 3.0}, False),  # but not float for integer
    ({"city": "NYC", "days": "3"}, False),
    ({"city": "NYC", "days": 3, "point": (1, 2)}, True),  # tuple accepted for tuple
    ({"city": "NYC", "days": 3, "point": [2, 1]}, False),
    ({"city": "NYC", "days": 3, "tags": ["sunny-day", "Rain"]}, True),  # list items normalised
    ({"city": "NYC", "days": 3, "extra": "x"}, True),  # "any" is str
    ({"city": "NYC", "days": 3, "opts": {"unit": "c"}}, True),  # dict values normalised, key by key
    ({"city": "NYC", "days": 3, "opts": {"unit": "kelvin"}}, False),
    ({"city": "NYC", "days": 3, "opts": {"scale": "C"}}, False),
    ({"city": "NYC", "days": 3, "stops": [{"name": "A"}, {"name": "b"}]}, True),
    ({"city": "NYC", "days": 3, "stops": [{"name": "B"}, {"name": "A"}]}, False),  # list of dicts is ordered
    ({"city": "NYC"}, False),  # required missing
    ({"city": "NYC", "days": 3, "nope": 1}, False),  # undeclared
])
def test_bfcl_type_and_value_rules(args: dict, ok: bool) -> None:
    assert (check_arguments_bfcl(args, ALLOWED, SCHEMA) is None) == ok


def test_optional_parameter_without_empty_choice_must_be_given() -> None:
    allowed = {**ALLOWED, "temp": [20.0]}
    assert "temp" in (check_arguments_bfcl({"city": "NYC", "days": 3}, allowed, SCHEMA) or "")


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20))  # ASCII: upper() round-trips
def test_standardize_is_idempotent_and_ignores_case_and_separators(text: str) -> None:
    once = standardize_string(text)
    assert standardize_string(once) == once
    assert standardize_string(text.upper().replace(" ", "-")) == standardize_string(text.lower())


@given(st.permutations([("f", {"a": 1}), ("f", {"a": 2}), ("g", {"b": "x"})]))
def test_parallel_calls_match_in_any_order(order: list) -> None:
    expected = [{"f": {"a": [1]}}, {"f": {"a": [2]}}, {"g": {"b": ["X"]}}]
    calls = [ParsedCall(n, a, "json") for n, a in order]
    assert match_calls(calls, expected).outcome == "call_correct"
    assert match_calls(calls[:2], expected).outcome == "call_wrong_tool"
    wrong = [ParsedCall(c.name, {k: 9 for k in c.arguments}, "json") for c in calls]
    assert match_calls(wrong, expected).outcome == "call_wrong_args"
