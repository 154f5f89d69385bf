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
