from __future__ import annotations

import json
import keyword

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapes import SHAPES, render

from agentflan.calls import parse_reply
from agentflan.evaluate.classify import classify
from tool_naming import tool_naming

WEATHER = {"name": "weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                          "required": ["city"]}}
SEARCH = {"name": "search", "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                                           "required": ["query"]}}
TOOLS = [WEATHER, SEARCH]

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,6})?", fullmatch=True).filter(
    lambda n: not any(keyword.iskeyword(part) for part in n.split(".")))  # "if(...)" is no Python call
scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=15),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=2))
keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: not keyword.iskeyword(k))
arg_dicts = st.dictionaries(keys, values, max_size=4)
calls_st = st.lists(st.fixed_dictionaries({"name": names, "arguments": arg_dicts}), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(calls_st, st.sampled_from(SHAPES))
def test_round_trip_every_shape(calls: list[dict], shape: str) -> None:
    parsed = parse_reply(render(calls, shape))
    assert parsed.malformed == []
    assert [c.to_dict() for c in parsed.calls] == calls


@settings(max_examples=300, deadline=None)
@given(calls_st, st.sampled_from(["hermes", "json", "json_fenced", "parameters", "python", "openai"]),
       st.data())
def test_truncated_calls_are_malformed(calls: list[dict], shape: str, data: st.DataObject) -> None:
    rendered = render(calls, shape)
    if shape == "openai":
        assert isinstance(rendered, dict)
        args = rendered["tool_calls"][0]["function"]["arguments"]
        cut = data.draw(st.integers(1, len(args) - 1))
        rendered["tool_calls"][0]["function"]["arguments"] = args[:cut]
        outcome = classify(rendered, None).outcome
    else:
        assert isinstance(rendered, str)
        # Cut inside the first call's arguments (after its name), as a length limit does.
        token = calls[0]["name"] + "(" if shape == "python" else json.dumps(calls[0]["name"])
        start = rendered.index(token) + len(token)
        end = len(rendered) - 1
        if shape == "json_fenced":
            end = rendered.rindex("]")
        elif shape == "hermes":  # a complete first block is a complete call: cut before its JSON's last brace
            end = rendered.index("\n</tool_call>") - 1
        if end <= start:
            return
        cut = data.draw(st.integers(start, end - 1))
        outcome = classify(rendered[:cut], None).outcome
    assert outcome == "malformed", (rendered, cut)


@pytest.mark.parametrize(("reply", "outcome"), [
    ("The weather in Paris is usually mild.", "abstain"),
    ("I cannot help with that.", "abstain"),
    ('{"name": "weather", "arguments": {"city": "Paris"}}', "call"),
    ('<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>', "call"),
    ('<tool_call>\n{"name": "weather", "arguments": {"city": "Par', "malformed"),
    ('<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}', "call"),  # stop sequence stripped
    ("Thought: I need the weather.\nAction: weather\nAction Input: {\"city\": \"Paris\"}", "call"),
    ("Thought: I need the weather.\nAction: weather\nAction Input: {\"city\": ", "malformed"),
    ("Thought: x\nAction: weather\nAction Input: {\"city\": \"Paris\"}\nObservation: sunny", "call"),
    ("Thought: I know this.\nAction: Finish\nAction Input: {\"answer\": \"42\"}", "abstain"),
    ("search[best kick boxer]", "call"),
    ("Action: search[best kick boxer]", "call"),
    ("weather(city='Paris', days=3)", "call"),
    ("weather(city='Par", "malformed"),
    ("[weather(city='Paris'), search(query='x')]", "call"),
    ("weather(city=os.environ)", "malformed"),
    ("Sure, I'll check.\n```python\nweather(city='Paris')\n```", "call"),
    ("You can print it with\n```python\nprint('hi')\n```\nin any script.", "abstain"),
    ("weather(town='Paris')", "args_invalid"),
    ('{"name": "weather", "arguments": {"days": 2}}', "args_invalid"),
    ('{"name": "book_flight", "arguments": {"to": "Rome"}}', "call_invented_tool"),
    ("Here is data: {\"name\": \"Alice\", \"age\": 3}", "abstain"),
    ('Here: {"name": "weather", "arguments": {"city"', "malformed"),
    ("[]", "abstain"),
    ('{"name": "John", "age": 30}', "abstain"),  # a data object, not a call
    ('{"name": "John"}', "abstain"),
    ('{"name": "search"}', "args_invalid"),  # an offered tool named alone: a call with no arguments
    ("max(3, 5) is 5, and print(x) prints x.", "abstain"),  # prose that opens like a call
    ("max(3, 5) isn't 6", "abstain"),  # an apostrophe after the call closed is prose, not an open string
    ("a(_='0000000)", "malformed"),  # cut off inside a string: its ")" closes nothing (found by hypothesis)
    ("Thought: x\nAction: weather\nAction Input: {\"city\": \"Paris\"}\n\nI hope this helps.", "call"),
    ("Thought: x\nAction: weather\nAction Input: ```json\n{\"city\": \"Paris\"}\n```", "call"),
    ("Thought: x\nAction: weather\nAction Input: city=Paris", "malformed"),
    ({"role": "assistant", "content": "No tool needed."}, "abstain"),
    ({"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]}, "call"),
    ({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": "{"}}]},
     "malformed"),
    ({"role": "assistant", "function_call": {"name": "weather", "arguments": "{\"city\": \"Rome\"}"}}, "call"),
    ("\n" * 48, "empty"),  # issue 12: whitespace is not an abstention
    (tool_naming("weather"), "malformed"),  # named as the tool to use, no arguments ever (safety rule)
    ([tool_naming("weather", 1), '```json\n{"city": "Paris"}\n```'], "call"),  # the arguments in the next turn
    ("weather[Par", "malformed"),  # an offered tool opened in call-like syntax (safety rule)
    ('I can look it up with weather(city="Paris") if you like.', "malformed"),
])
def test_outcomes(reply: str | dict | list, outcome: str) -> None:
    assert classify(reply, TOOLS).outcome == outcome


def test_malformed_is_never_abstain_even_when_no_call_is_expected() -> None:
    result = classify('<tool_call>{"name": "weather", "arg', TOOLS, expected=[])
    assert result.outcome == "malformed"
    assert result.hallucination


def test_expected_refines_calls() -> None:
    exp = [{"name": "weather", "arguments": {"city": "Paris"}}]
    assert classify('weather(city="paris")', TOOLS, exp).outcome == "call_correct"  # BFCL string normalisation
    assert classify('weather(city="Rome")', TOOLS, exp).outcome == "call_wrong_args"
    assert classify('search(query="Paris")', TOOLS, exp).outcome == "call_wrong_tool"
    assert classify("It is sunny.", TOOLS, exp).outcome == "abstain"
    none = classify('weather(city="Paris")', TOOLS, expected=[])
    assert (none.outcome, none.hallucination) == ("call_wrong_tool", True)
    assert not classify("No.", TOOLS, expected=[]).hallucination


def test_parallel_calls_match_in_any_order() -> None:
    exp = [{"weather": {"city": ["Paris"]}}, {"weather": {"city": ["Rome"]}}]
    reply = json.dumps([{"name": "weather", "arguments": {"city": "Rome"}},
                        {"name": "weather", "arguments": {"city": "Paris"}}])
    assert classify(reply, TOOLS, exp).outcome == "call_correct"
    one = json.dumps({"name": "weather", "arguments": {"city": "Rome"}})
    assert classify(one, TOOLS, exp).outcome == "call_wrong_tool"  # a missing call changes the set of tools called


def test_underscore_spelling_of_dotted_names() -> None:
    tools = [{"name": "math.factorial", "parameters": {"type": "dict", "properties": {"number": {"type": "integer"}},
                                                       "required": ["number"]}}]
    result = classify('{"name": "math_factorial", "arguments": {"number": 5}}', tools,
                      [{"math.factorial": {"number": [5]}}])
    assert result.outcome == "call_correct"
    assert result.calls == [{"name": "math.factorial", "arguments": {"number": 5}}]
