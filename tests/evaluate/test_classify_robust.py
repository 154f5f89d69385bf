"""`eval classify` continues past any bad reply (issue 12): each defect found by fuzzing, reproduced, plus a
property over arbitrary replies. Whitespace-only replies are `empty`, not `abstain`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agentflan.calls import parse_reply
from agentflan.cli import app
from agentflan.evaluate import agent_h, bfcl
from agentflan.evaluate.classify import OUTCOMES, classify
from tool_naming import tool_naming

runner = CliRunner()
WEATHER = {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                             "required": ["city"]}}
DEEP = 5000  # far beyond the interpreter's recursion limit (1000)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("reply", [
    "f(x=" + "-" * DEEP + "1)",  # RecursionError in ast (issue 12)
    "weather(city=" + _nested(DEEP) + ")",
    '{"name": "weather", "arguments": {"city": ' + _nested(DEEP) + "}}",  # RecursionError in json
    '<tool_call>{"name": "weather", "arguments": ' + "{\"a\": " * DEEP + "1" + "}" * DEEP + "}</tool_call>",
    "Thought: x\nAction: weather\nAction Input: " + _nested(DEEP),
    "[" + "weather(city='x'), " * 3 + "a." * DEEP + "b()]",
    {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "weather",
                                                                         "arguments": _nested(DEEP)}}]},
])
def test_deep_nesting_is_malformed_not_a_crash(reply: object) -> None:
    for expected in (None, []):
        result = classify(reply, [WEATHER], expected=expected)  # type: ignore[arg-type]
        assert result.outcome == "malformed", result


@pytest.mark.parametrize(("content", "text"), [
    ([{"type": "text", "text": 5}], ""),  # a part whose text is not a string (a TypeError before)
    (["Paris ", {"type": "text", "text": "is sunny."}], "Paris is sunny."),  # strings are parts too
    ([None, 3, {"type": "image_url"}], ""),
])
def test_content_as_a_list_of_parts(content: list, text: str) -> None:
    reply = {"role": "assistant", "content": content}
    assert parse_reply(reply).text == text
    assert classify(reply, [WEATHER]).outcome == ("abstain" if text else "empty")


@pytest.mark.parametrize("reply", ["\n" * 48, "", "  \t\n ", {"role": "assistant", "content": "\n\n"},
                                   {"role": "assistant", "content": None}, None, ["", "\n"]])
def test_whitespace_only_is_empty_not_abstain(reply: object) -> None:
    result = classify(reply, [WEATHER], expected=[])  # type: ignore[arg-type]
    assert result.outcome == "empty"
    assert not result.hallucination  # it calls nothing...
    assert not bfcl.success("irrelevance", result.outcome)  # ...but it does not abstain either
    assert not agent_h.hallucinated("\n" * 48, "general", result.outcome)


def test_empty_is_counted_apart_in_the_metrics() -> None:
    recs = [{"category": "irrelevance", "outcome": o} for o in ("abstain", "empty", "malformed", "call")]
    m = bfcl.metrics(recs)["irrelevance"]
    assert (m["no_call_rate"], m["no_call_rate_bfcl"], m["outcomes"]["empty"]) == (25.0, 75.0, 1)


replies = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
              st.sampled_from(["<tool_call>", "[TOOL_CALLS]", "```json\n", "Action: ", "Action Input: {", "`weather`",
                               "I'll use `weather`.", "weather(", "API-Request: [", "<|python_tag|>", "✿FUNCTION✿",
                               "<function=weather>", "<<function>>", "functools[", "{\"name\": \"weather\""])),
    lambda inner: st.one_of(st.lists(inner, max_size=4).map(lambda xs: "".join(map(str, xs))),
                            st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["role", "content", "tool_calls", "function",
                                                             "function_call", "name", "arguments", "value"]),
                                            inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=replies, expected=st.sampled_from([None, [], [{"name": "weather", "arguments": {"city": "x"}}]]))
def test_any_reply_gets_an_outcome(reply: object, expected: list | None) -> None:
    result = classify(reply, [WEATHER], expected=expected)  # type: ignore[arg-type]
    assert result.outcome in OUTCOMES
    json.dumps(result.to_dict())  # the output line can be written


def test_classify_file_continues_past_every_bad_reply(tmp_path: Path) -> None:
    """The whole-file aborts of issue 12 (RecursionError on f(x=----…1), deeply nested arguments, a content
    that is a list), and the 48-newline reply scored as abstain."""
    lines = [
        {"id": "minus", "reply": "f(x=" + "-" * DEEP + "1)"},
        {"id": "deep-args", "reply": '{"name": "weather", "arguments": {"city": ' + _nested(DEEP) + "}}"},
        {"id": "list-content", "reply": {"role": "assistant", "content": [{"type": "text", "text": 5}]}},
        {"id": "newlines", "reply": "\n" * 48},
        {"id": "int-content", "reply": {"role": "assistant", "content": 42}},
        {"id": "turns", "reply": ["I need the weather.", tool_naming("weather"),
                                  '```json\n{"city": "Paris"}\n```']},
        {"id": "ok", "reply": "It is sunny."},
    ]
    src = tmp_path / "replies.jsonl"
    src.write_text("".join(json.dumps({**line, "tools": [WEATHER]}) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "read 7 = written 6 + rejected 1" in result.output
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "minus": "malformed", "deep-args": "malformed", "list-content": "empty", "newlines": "empty",
        "turns": "call", "ok": "abstain"}
    assert rows["turns"]["syntax"] == "agentflan"
    (reject,) = map(json.loads, (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines())
    assert (reject["line"], reject["reason"], reject["field"]) == (5, "wrong_type", "reply.content")


def test_a_line_nested_too_deeply_is_rejected(tmp_path: Path) -> None:
    src = tmp_path / "replies.jsonl"
    src.write_text('{"id": 1, "reply": "x", "meta": ' + _nested(DEEP) + "}\n" + json.dumps({"reply": "ok"}) + "\n")
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0 and "read 2 = written 1 + rejected 1" in result.output, result.output


def test_recursion_limit_is_untouched() -> None:
    before = sys.getrecursionlimit()
    classify("f(x=" + "-" * DEEP + "1)", [WEATHER])
    assert sys.getrecursionlimit() == before
