from __future__ import annotations

import json
import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.callsyntax import parse_arguments, parse_bracket_call, parse_python_call, parse_react
from agentflan.errors import RecordError

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=20))
arg_dicts = st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), json_scalars, max_size=4)


def test_react_turn() -> None:
    step = parse_react("Thought: need data\nAction: get_x\nAction Input: {\"a\": 1}")
    assert (step.thought, step.action, step.action_input) == ("need data", "get_x", '{"a": 1}')


def test_react_without_keywords_is_rejected() -> None:
    with pytest.raises(RecordError) as exc:
        parse_react("just some prose")
    assert exc.value.reason == "unparseable_react"


@given(arg_dicts)
def test_arguments_json_round_trip(args: dict) -> None:
    assert parse_arguments(json.dumps(args)) == args
    assert parse_arguments(json.dumps(json.dumps(args))) == args  # double-encoded


identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))


@given(identifiers, arg_dicts.map(lambda d: {k: v for k, v in d.items() if not keyword.iskeyword(k)}))
def test_python_call_round_trip(name: str, args: dict) -> None:
    text = f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
    assert parse_python_call(text) == (name, args)


def test_python_call_never_evaluates() -> None:
    with pytest.raises(ValueError):
        parse_python_call("f(x=__import__('os').system('true'))")
    assert parse_python_call("not a call") is None


def test_bracket_and_bad_arguments() -> None:
    assert parse_bracket_call("click[Buy Now]") == ("click", "Buy Now")
    with pytest.raises(RecordError):
        parse_arguments('{"a": ')


DEEP = 5000  # beyond the interpreter's recursion limit


def test_deep_nesting_is_a_reason_not_a_crash() -> None:
    from agentflan.callsyntax import TOO_DEEP, json_values, parse_python_calls

    with pytest.raises(ValueError, match=TOO_DEEP):
        parse_python_call("f(x=" + "-" * DEEP + "1)")
    with pytest.raises(ValueError, match=TOO_DEEP):
        parse_python_calls("[f(x=" + "not " * DEEP + "1)]")
    with pytest.raises(RecordError, match=TOO_DEEP):
        parse_arguments("[" * DEEP + "]" * DEEP)
    # A value too deep to decode is skipped whole (not retried at every inner bracket), the rest still found.
    text = "[" * DEEP + "]" * DEEP + ' then {"a": 1}'
    assert [v for v, _, _ in json_values(text)] == [{"a": 1}]
    for depth in (900, DEEP):  # a long dotted name: read, or too deep for `ast`, never a RecursionError
        try:
            assert parse_python_call("a." * depth + "b(x=1)") == ("a." * depth + "b", {"x": 1})
        except ValueError as exc:
            assert str(exc) == TOO_DEEP


def test_react_steps_may_be_numbered() -> None:
    step = parse_react("Thought 1: I need to search Badr Hari.\nAction 1: Search[Badr Hari]")
    assert (step.thought, step.action) == ("I need to search Badr Hari.", "Search[Badr Hari]")
