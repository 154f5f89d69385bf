"""The Agent-FLAN conversation shape: tool-naming sentences are recognised from the phrasing pools themselves."""

from __future__ import annotations

import json

import pytest
from jinja2 import Environment, meta

from agentflan.calls import parse_reply
from agentflan.calls.conversation import tool_naming_pools
from agentflan.evaluate.classify import classify
from agentflan.phrasing import POOLS, render

TOOLS = [{"name": "get_current_weather", "parameters": {"type": "object", "properties": {
    "location": {"type": "string"}}, "required": ["location"]}},
         {"name": "search", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}]
SCHEMAS = {t["name"]: t["parameters"] for t in TOOLS}
ARGS = {"location": "Paris, France"}
BLOCK = f"```json\n{json.dumps(ARGS)}\n```"
NAMING = [(pool, t) for pool, templates in tool_naming_pools().items() for t in templates]


def _variables(template: str) -> set[str]:
    return meta.find_undeclared_variables(Environment().parse(template))


def test_some_pool_names_tools() -> None:
    assert NAMING, "no pool of phrasing.POOLS is recognised as tool-naming sentences"


@pytest.mark.parametrize(("pool", "template"), NAMING)
def test_every_tool_naming_template_reads_back(pool: str, template: str) -> None:
    sentence = render(template, name="get_current_weather")
    expected = [{"name": "get_current_weather", "arguments": ARGS}]
    for reply in ([sentence, BLOCK],  # the agentflan export: one turn each
                  ["I need the weather in Paris.", sentence, BLOCK],
                  f"I need the weather in Paris.\n\n{sentence}\n{BLOCK}",  # one message
                  f"{sentence}\n{json.dumps(ARGS)}",  # a bare argument object
                  f"{sentence.lower()}\n\n{BLOCK}"):
        parsed = parse_reply(reply, SCHEMAS)
        assert (parsed.syntax, parsed.malformed) == ("agentflan", []), (reply, parsed)
        assert [c.to_dict() for c in parsed.calls] == expected
    # Named for a tool that is not offered: still a call (to an invented tool), never an abstention.
    assert classify([render(template, name="book_flight"), BLOCK], TOOLS).outcome == "call_invented_tool"


@pytest.mark.parametrize(("pool", "template"), NAMING)
def test_a_tool_naming_sentence_without_arguments_is_malformed(pool: str, template: str) -> None:
    sentence = render(template, name="get_current_weather")
    for expected in (None, []):
        result = classify(["I need the weather in Paris.", sentence], TOOLS, expected=expected)
        assert (result.outcome, result.safety_rule) == ("malformed", True)
    parsed = parse_reply(sentence, SCHEMAS)
    assert parsed.dangling  # eval run asks the backend for the next turn
    assert not parse_reply(f"{sentence} Actually, I know this: it is sunny.", SCHEMAS).dangling


@pytest.mark.parametrize(("pool", "template"), NAMING)
def test_a_sentence_that_goes_on_past_the_template_is_not_one(pool: str, template: str) -> None:
    """"`x` can do this once I know the city." asks back; it only begins like "`x` can do this." (a pool
    sentence of issue 13's rewrite)."""
    sentence = render(template, name="get_current_weather").rstrip(".")
    assert classify(f"{sentence} once I know the location. Which city?", TOOLS).outcome == "abstain"


def test_several_calls_named_then_given() -> None:
    first, second = (render(t, name=n) for (_, t), n in zip(NAMING * 2, ("get_current_weather", "search"),
                                                           strict=False))
    turns = [f"{first} {second}",
             "```json\n" + json.dumps({"name": "get_current_weather", "arguments": ARGS}) + "\n```",
             "```json\n" + json.dumps({"name": "search", "arguments": {"query": "Paris"}}) + "\n```"]
    parsed = parse_reply(turns, SCHEMAS)
    assert parsed.syntax == "agentflan" and not parsed.malformed
    assert [c.name for c in parsed.calls] == ["get_current_weather", "search"]
    waiting = parse_reply(turns[:2], SCHEMAS)  # the second call's block has not come yet
    assert waiting.malformed and waiting.dangling and [c.name for c in waiting.calls] == ["get_current_weather"]


def test_pools_that_name_a_tool_beside_other_facts_are_not_calls() -> None:
    """Asking back for a missing argument, or declining with the tools that do not fit, names a tool too."""
    values = {"name": "get_current_weather", "param": "location", "question": "Which city do you mean?",
              "tools": "`get_current_weather`, `search`", "task": "get the weather", "given": ""}
    checked = 0
    for pool, templates in POOLS.items():
        if pool in tool_naming_pools():
            continue
        for template in templates:
            if not _variables(template) <= set(values):
                continue
            text = render(template, **{k: v for k, v in values.items() if k in _variables(template)})
            if "`get_current_weather`" not in text:
                continue
            checked += 1
            for expected in (None, []):
                assert classify(text, TOOLS, expected=expected).outcome == "abstain", (pool, text)
    assert checked, "no pool names a tool beside other facts (nothing to check)"


@pytest.mark.parametrize(("reply", "outcome"), [
    ("`get_current_weather` fits this request:\n" + BLOCK, "call"),  # a paraphrase naming an offered tool
    ("The `search` tool cannot tell the weather, so I won't use it.", "abstain"),  # named, no arguments
    ("I'd rather not call `search` here.\n\n```python\nprint('hi')\n```", "abstain"),  # a code block, not args
    ("Maybe `search`:\n```json\n{\"query\": \"Par", "malformed"),  # arguments cut off
    ("Use `json.dumps` for that:\n" + BLOCK, "abstain"),  # a backticked name that is no offered tool
])
def test_paraphrases(reply: str, outcome: str) -> None:
    assert classify(reply, TOOLS).outcome == outcome


def test_fences_inside_argument_values_are_text() -> None:
    args = {"location": "```json\n{\"x\": 1}", "note": "`search`"}
    sentence = render(NAMING[0][1], name="get_current_weather")
    parsed = parse_reply([sentence, "```json\n" + json.dumps(args) + "\n```"], SCHEMAS)
    assert (parsed.malformed, [c.arguments for c in parsed.calls]) == ([], [args])
