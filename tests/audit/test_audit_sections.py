"""Unit tests of the audit sections on small canonical records."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from audit_fixtures import WEATHER, built_agent, built_negative, call_traj
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.audit.contamination import Contamination, EvalIndex, ngrams, tool_key
from agentflan.audit.duplicates import Duplicates, MinHasher, jaccard_estimate
from agentflan.audit.entanglement import FORMAT, call_pieces, json_pieces, model_view, view_of
from agentflan.audit.negatives import NegativeCoverage, makes_call
from agentflan.audit.record import AuditedRecord
from agentflan.schema import Message, Provenance, Trajectory
from agentflan.tokens import approx_count

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=5))
@settings(max_examples=200, deadline=None)
def test_json_pieces_reassemble_the_serialisation(arguments: dict) -> None:
    pieces = list(json_pieces(arguments))
    assert "".join(text for _, text in pieces) == json.dumps(arguments, ensure_ascii=False)
    assert {cap for cap, _ in pieces} <= {FORMAT, "understanding"}


def test_call_pieces_label_name_values_and_scaffolding() -> None:
    pieces = call_pieces("weather", {"city": "Paris", "days": 2}, 1)
    assert "".join(p.text for p in pieces) == json.dumps({"name": "weather", "arguments": {"city": "Paris",
                                                                                            "days": 2}})
    by_cap: dict[str, str] = {}
    for p in pieces:
        by_cap[p.capability] = by_cap.get(p.capability, "") + p.text
    assert by_cap["retrieval"] == "weather"
    assert by_cap["understanding"] == "Paris2"
    assert '"city"' in by_cap[FORMAT] and '"arguments"' in by_cap[FORMAT]


def test_view_depends_on_provenance_and_kind() -> None:
    assert view_of(call_traj(fmt="openai")) == "function_call"
    assert view_of(call_traj(fmt="bfcl")) == "function_call"
    assert view_of(built_agent()) == "built"  # kind wins over the source format
    chat = Trajectory(id="c", messages=[Message(role="user", content="hi"), Message(role="assistant", content="yo")],
                      provenance=Provenance(source="x", format="sharegpt_general"))
    assert view_of(chat) == "text"


def test_function_call_view_counts_scaffolding_and_keeps_text() -> None:
    view, spans = model_view(call_traj())
    caps = Counter(s.capability for s in spans)
    assert view == "function_call"
    assert caps[FORMAT] > 0 and caps["retrieval"] == 1
    texts = [s.text for s in spans]
    assert "I should look up the weather." in texts and "It is 21 °C in Paris." in texts
    assert '{"city": "Paris"}' not in texts  # replaced by its labelled pieces, not counted twice


def test_built_sample_uses_its_own_labels() -> None:
    view, spans = model_view(built_agent())
    assert view == "built"
    assert {s.capability for s in spans} == {"reasoning", "retrieval", "understanding", "answer"}
    assert not any(s.capability == FORMAT for s in spans)


def _rec(traj: Trajectory, source: str = "s") -> AuditedRecord:
    view, spans = model_view(traj)
    return AuditedRecord(traj, source, view, spans, Counter())


def test_negative_coverage_cells_and_circumstances() -> None:
    cov = NegativeCoverage()
    no_tools_call = call_traj("ntc", tools=[])
    plain = Trajectory(id="plain", messages=[Message(role="user", content="hi"),
                                             Message(role="assistant", content="hello")])
    question = Trajectory(id="q", tools=[WEATHER], messages=[Message(role="user", content="weather?")])
    for t in [call_traj("a"), built_negative("b", "tools_given_no_need", True),
              built_negative("c", "no_tools_needs_tool", False), no_tools_call, plain, question]:
        cov.add(_rec(t))
    r = cov.result()
    assert (r["tools_call"], r["tools_no_call"], r["no_tools_call"], r["no_tools_no_call"]) == (1, 1, 1, 2)
    assert r["no_reply"] == 1 and r["samples"] == 5
    assert r["circumstances"] == {"tools_tool_query": 1, "tools_general_query": 1, "no_tools_tool_query": 2,
                                  "no_tools_general_query": 1}
    assert r["circumstances_present"] == 4
    assert r["examples"]["tools_no_call"] == ["b"]
    assert r["tools_no_call_share"] == 0.5


def test_calls_written_in_text_are_calls() -> None:
    def built(kind: str, reply: str, tools: bool = True) -> Trajectory:
        return Trajectory(id=kind, tools=[WEATHER] if tools else [], metadata={"kind": kind}, messages=[
            Message(role="user", content="Weather in Paris?"), Message(role="assistant", content=reply)])

    react = 'Thought: I need the weather.\nAction: weather\nAction Input: {"city": "Paris"}'
    conversation = 'This calls for `weather`.\n```json\n{"city": "Paris"}\n```'
    assert makes_call(built("react", react)) and makes_call(built("agent", conversation))
    # A format-following reply is a call in the format its prompt asks for, whatever that format is.
    assert makes_call(built("instruct", '{"NAME": "weather", "Args": {"city": "Paris"}}'))
    assert not makes_call(built("react", react.replace("weather", "forecast")))  # no such tool offered
    assert not makes_call(built("react", react, tools=False))
    assert not makes_call(built("agent", "It is sunny in Paris."))
    cov = NegativeCoverage()
    cov.add(_rec(built("react", react)))
    assert cov.result()["tools_call"] == 1 and cov.result()["circumstances"]["tools_tool_query"] == 1


def test_minhash_estimates_jaccard() -> None:
    h = MinHasher(num_perm=256)
    words = [f"w{i}" for i in range(200)]
    a = " ".join(words[:150])
    b = " ".join(words[50:])
    sa, sb = h.shingles(a), h.shingles(b)
    true = len(sa & sb) / len(sa | sb)
    assert abs(jaccard_estimate(h.signature(a), h.signature(b)) - true) < 0.1
    assert jaccard_estimate(h.signature(a), h.signature(a)) == 1.0
    assert h.signature(a).dtype == np.uint32


def test_duplicates_exact_and_near() -> None:
    long_query = ("Find the cheapest direct flight from Lisbon to Oslo next Friday morning, with one checked bag "
                  "and a window seat, and tell me the total price including all taxes and fees.")
    d = Duplicates(threshold=0.7)
    d.add(_rec(call_traj("a", query=long_query)))
    d.add(_rec(call_traj("a-copy", query=long_query)))
    d.add(_rec(call_traj("a-near", query=long_query.replace("next Friday", "this Friday"))))
    d.add(_rec(call_traj("other", query="Translate good morning into Japanese and explain the politeness level.")))
    r = d.result()
    assert r["exact"]["duplicate_records"] == 1 and r["exact"]["examples"][0]["ids"] == ["a", "a-copy"]
    assert r["near"]["duplicate_records"] == 1
    assert set(r["near"]["examples"][0]["ids"]) == {"a", "a-near"}
    assert r["duplicate_share"] == 0.5


def test_contamination_ngrams_and_short_queries() -> None:
    assert ngrams("a b c", 8) == {"\x00a b c"}
    assert len(ngrams(" ".join("abcdefghij"), 8)) == 3
    index = EvalIndex(n=5)
    index.add("eval.json", Trajectory(id="e1", messages=[Message(
        role="user", content="What is the boiling point of water at the top of Mount Everest?")]))
    index.add("eval.json", Trajectory(id="e2", messages=[Message(role="user", content="Ping")]))
    c = Contamination(index)
    c.add(_rec(call_traj("hit", query="Tell me: what is the BOILING point of water at the top of a mountain?")))
    c.add(_rec(call_traj("short", query="ping!")))
    c.add(_rec(call_traj("clean", query="How tall is Mount Everest in metres?")))
    r = c.result()
    assert r["contaminated"] == 2
    assert [o["id"] for o in r["overlaps"]] == ["hit", "short"]
    assert r["overlaps"][0]["against_id"] == "e1"
    assert r["share"] == round(2 / 3, 4)


def test_tool_contamination_needs_the_same_name_and_parameters() -> None:
    index = EvalIndex(n=8)
    index.add("eval.json", Trajectory(id="e1", tools=[WEATHER], messages=[Message(role="user", content="Rain?")]))
    reworded = WEATHER.model_copy(update={"description": "Another description of the same function."})
    renamed = WEATHER.model_copy(update={"name": "forecast"})
    other_schema = WEATHER.model_copy(update={"parameters": {"type": "object", "properties": {
        "town": {"type": "string"}}, "required": ["town"]}})
    c = Contamination(index)
    c.add(_rec(call_traj("same", tools=[WEATHER])))
    c.add(_rec(call_traj("reworded", tools=[reworded])))
    c.add(_rec(call_traj("renamed", tools=[renamed], name="forecast")))
    c.add(_rec(call_traj("other-schema", tools=[other_schema])))
    tools = c.result()["tools"]
    assert [o["id"] for o in tools["overlaps"]] == ["same", "reworded"]  # descriptions do not count
    assert tools["records"] == 2 and tools["share"] == 0.5 and tools["distinct_tools"] == 1
    assert tools["overlaps"][0] == {"id": "same", "source": "s", "tool": "weather", "tools_shared": 1,
                                    "against": "eval.json", "against_id": "e1"}
    assert tools["by_against"] == {"eval.json": 2}
    assert c.result()["contaminated"] == 0  # no query overlaps: the two checks are separate


def test_tool_key_ignores_key_order_in_the_schema() -> None:
    reordered = WEATHER.model_copy(update={"parameters": dict(reversed(list(WEATHER.parameters.items())))})
    assert tool_key(reordered) == tool_key(WEATHER)
    assert tool_key(WEATHER.model_copy(update={"name": "w2"})) != tool_key(WEATHER)


@pytest.mark.parametrize("text", ["It is sunny.", '{"a": [1, 2]}'])
def test_token_counts_of_pieces_add_up(text: str) -> None:
    # The format share is only meaningful if counting pieces separately does not invent tokens.
    pieces = [t for _, t in json_pieces({"q": text})]
    assert sum(approx_count(p) for p in pieces) == approx_count("".join(pieces))


def test_contamination_ignores_evaluation_boilerplate() -> None:
    index = EvalIndex(n=4)
    for i in range(3):
        index.add("eval.json", Trajectory(id=f"e{i}", messages=[
            Message(role="user", content=f"Question {i}: who painted picture number {i}?"),
            Message(role="user", content="Observation: Episode finished, reward = True")]))
    c = Contamination(index)
    c.add(_rec(call_traj("boiler", query="Observation: Episode finished, reward = True")))
    c.add(_rec(call_traj("real", query="Tell me who painted picture number 2 please")))
    r = c.result()
    assert [o["id"] for o in r["overlaps"]] == ["real"] and r["overlaps"][0]["against_id"] == "e2"
    assert r["boilerplate_ngrams_ignored"] >= 1
