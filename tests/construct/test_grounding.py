"""Argument grounding: values found in (or following from) the context, one definition for build and audit."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from agentflan.construct.grounding import Context, check, leaves, ungrounded
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory


def test_strings_numbers_dates_and_times() -> None:
    ctx = Context('Book a table for four at "Trattoria Sole" on May 3rd, 2024 at 7:30 pm; budget $1,200.50.')
    for value in ("Trattoria Sole", "trattoria sole", 4, "4", "2024-05-03", "2024-05-03T19:30:00", "19:30",
                  1200.5, "1,200.50", True, None, ""):
        assert ctx.grounded(value), value
    for value in ("user1pass", "Trattoria Luna", 5, "2024-05-04", "2023-05-03", "20:30", "2024-05-03T18:00:00"):
        assert not ctx.grounded(value), value


def test_words_that_parse_as_floats_are_compared_as_words() -> None:
    """``float()`` reads "NaN", "inf" and "Infinity"; as argument values they are words (the audit's grounding
    section stopped on a call with the argument "NaN")."""
    ctx = Context("Set the value to NaN, the limit to inf and the ceiling to -Infinity.")
    for value in ("NaN", "nan", "inf", "Infinity", "-Infinity"):
        assert ctx.grounded(value), value
    for value in ("NaN", "inf", "Infinity"):
        assert not Context("Set the value to 3.").grounded(value), value


def test_date_forms() -> None:
    assert Context("on 3 May 2024").grounded("2024-05-03")
    assert Context("due 05/03/2024").grounded("2024-05-03")
    assert Context("the meeting is on 2024/05/03").grounded("2024-05-03")
    assert not Context("on May 3rd").grounded("2024-05-03")  # the year would be invented
    assert Context("at 7pm").grounded("19:00") and Context("at 7 a.m.").grounded("07:00")


def test_leaves_and_ungrounded_paths() -> None:
    args = {"to": ["sam@example.com"], "meta": {"count": 2, "urgent": True}, "body": "hello there"}
    assert list(leaves(args)) == [("to[0]", "sam@example.com"), ("meta.count", 2), ("body", "hello there")]
    assert ungrounded(args, Context("mail sam@example.com now")) == [("meta.count", 2), ("body", "hello there")]


def test_check_reads_native_calls_and_json_written_in_text() -> None:
    weather = Tool(name="get_weather", description="Weather for a city.",
                   parameters={"type": "object", "properties": {"unit": {"enum": ["celsius", "kelvin"]}}})
    traj = Trajectory(id="t", tools=[weather], messages=[
        Message(role="user", content="Weather in Oslo?"),
        Message(role="assistant", tool_calls=[ToolCall(name="get_weather",
                                                       arguments={"city": "Oslo", "unit": "celsius"})]),
        Message(role="tool", content='{"temp": 8}'),
        Message(role="user", content="And in the capital of Norway, as JSON please?"),
        Message(role="assistant", parts=[Part(text=json.dumps({"name": "get_weather",
                                                               "arguments": {"city": "Bergen", "temp": 8}}))]),
    ])
    checked, found = check(traj)
    # the enum value is in the tool's schema, 8 in an earlier tool result; "Bergen" is nowhere before
    assert checked == 5 and [(f.message, f.path, f.value) for f in found] == [(4, "arguments.city", "Bergen")]


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@given(st.lists(WORDS, min_size=1, max_size=12), st.data())
def test_any_run_of_context_words_is_grounded_and_a_new_word_is_not(words: list[str], data: st.DataObject) -> None:
    context = Context("Please, " + " ".join(words) + "!")
    start = data.draw(st.integers(0, len(words) - 1))
    end = data.draw(st.integers(start + 1, len(words)))
    assert context.grounded(" ".join(words[start:end]).upper())
    new = data.draw(WORDS.filter(lambda w: w not in words and w != "please"))
    assert not context.grounded(f"{words[0]} {new}")


@given(st.integers(-10**6, 10**6))
def test_numbers_written_as_digits_are_grounded(n: int) -> None:
    assert Context(f"I need {n} of them.").grounded(n)
    assert not Context(f"I need {n + 1} of them.").grounded(n)
