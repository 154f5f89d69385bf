"""Held-out benchmarks and the pretraining corpus, on small hand-made records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.errors import RecordError
from agentflan.evaluate.classify import classify
from agentflan.experiment.heldout import call_metrics, call_sample, call_samples, loss_sets, round_robin
from agentflan.experiment.pretrain import texts_of, write_corpus
from agentflan.schema import Message, Tool, ToolCall, Trajectory

TOOL = Tool(name="lookup", description="Look a word up.",
            parameters={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]})


def _agent(i: int, source: str = "s1", calls: bool = True, system: str = "Use Thought:/Action: format.") -> Trajectory:
    messages = [Message(role="system", content=system), Message(role="user", content=f"Define word{i}?"),
                Message(role="assistant", content="Which language?"), Message(role="user", content="English.")]
    if calls:
        messages += [Message(role="assistant", content="Looking.",
                             tool_calls=[ToolCall(id="c", name="lookup", arguments={"word": f"word{i}"})]),
                     Message(role="tool", content="a meaning", tool_call_id="c", name="lookup"),
                     Message(role="assistant", content="It means a meaning.")]
    else:
        messages.append(Message(role="assistant", content="No idea."))
    return Trajectory(id=f"{source}/{i}", tools=[TOOL], messages=messages,
                      metadata={"kind": "agent", "source": source})


def _general(i: int, reply: bool = True) -> Trajectory:
    messages = [Message(role="user", content=f"Say hi {i}")]
    if reply:
        messages.append(Message(role="assistant", content=f"Hi {i}!"))
    return Trajectory(id=f"g/{i}", messages=messages, metadata={"kind": "general", "source": "g"})


def test_call_sample_asks_for_the_first_call_without_the_source_system_prompt() -> None:
    sample = call_sample(_agent(1))
    assert [m["role"] for m in sample.messages] == ["user", "assistant", "user"]
    assert "Thought" not in json.dumps(sample.messages)  # the source's format prompt is not shown
    assert sample.expected == [{"name": "lookup", "arguments": {"word": "word1"}}] and sample.native_tools
    assert sample.bench == "held-out" and sample.category == "s1"
    # Scored with eval's own classifier: the right call is correct, the right tool with other arguments is not.
    right = classify('{"name": "lookup", "arguments": {"word": "word1"}}', sample.tools, sample.expected).outcome
    wrong = classify('{"name": "lookup", "arguments": {"word": "other"}}', sample.tools, sample.expected).outcome
    assert (right, wrong) == ("call_correct", "call_wrong_args")
    with pytest.raises(RecordError) as err:
        call_sample(_agent(2, calls=False))
    assert err.value.reason == "no_call"


def test_call_samples_alternate_sources_and_count_what_they_skip() -> None:
    held = [*(_agent(i, "big") for i in range(10)), _agent(50, "small"), _agent(51, "small"),
            _agent(60, "none", calls=False), _general(1)]
    samples, manifest = call_samples(held, limit=4, seed=0)
    assert [s.category for s in samples].count("small") == 2  # not crowded out by the large source
    assert manifest["skipped"] == {"no_call": 1} and manifest["candidates"] == 12
    assert manifest["by_source"] == {"big": 2, "small": 2}
    assert [s.id for s in call_samples(held, 4, 0)[0]] == [s.id for s in samples]
    assert [s.id for s in call_samples(held, 4, 1)[0]] != [s.id for s in samples]


def test_round_robin_takes_each_source_in_turn() -> None:
    items = [(f"a{i}", "a") for i in range(5)] + [("b0", "b")]
    picked = round_robin(items, lambda it: it[1], seed=0, purpose="x", limit=3)
    assert sorted(src for _, src in picked) == ["a", "a", "b"]
    assert len(round_robin(items, lambda it: it[1], 0, "x", None)) == 6


def test_loss_sets_take_agent_trajectories_with_calls_and_answered_general_questions() -> None:
    held = [_agent(1), _agent(2, calls=False), _general(1), _general(2, reply=False)]
    sets = loss_sets(held, agent=5, general=5, seed=0)
    assert [t.id for t in sets["agent"]] == ["s1/1"] and [t.id for t in sets["general"]] == ["g/1"]
    assert loss_sets(held, agent=0, general=1, seed=0)["agent"] == []


def test_call_metrics_separate_call_and_tool_accuracy() -> None:
    recs = [{"bench": "held-out", "category": "s", "outcome": o}
            for o in ("call_correct", "call_wrong_args", "abstain", "malformed")]
    recs.append({"bench": "agent-h", "category": "a", "outcome": "call_correct"})
    m = call_metrics(recs)
    assert (m["n"], m["call_accuracy"], m["tool_accuracy"]) == (4, 25.0, 50.0)
    assert m["outcomes"]["malformed"] == 1 and m["by_source"]["s"]["n"] == 4


def test_pretraining_texts_leave_out_format_and_fine_tuning_targets() -> None:
    agent = _agent(1)
    assert sorted(texts_of(agent, {"general", "user", "observation"})) == [
        ("observation", "a meaning"), ("user", "Define word1?"), ("user", "English.")]
    general = _general(3)
    assert sorted(texts_of(general, {"general"})) == [("general", "Hi 3!"), ("general", "Say hi 3")]
    react = agent.model_copy(update={"metadata": {"kind": "react"}})
    assert list(texts_of(react, {"general", "user", "observation"})) == []
    assert list(texts_of(agent, {"general"})) == []


def test_corpus_is_deduplicated_ordered_by_hash_and_all_supervised(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    records = [_agent(1), _agent(1).model_copy(update={"id": "copy"}), _general(1)]
    (build / "canonical.jsonl").write_text("".join(t.to_json() + "\n" for t in records), encoding="utf-8")
    counts = write_corpus(build, ["general", "user", "observation"], tmp_path / "corpus.jsonl")
    assert counts["documents"] == {"general": 2, "observation": 1, "user": 2}
    rows = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert [r["id"].rsplit("/", 1)[1] for r in rows] == sorted(r["id"].rsplit("/", 1)[1] for r in rows)
    assert all([m["role"] for m in r["messages"]] == ["assistant"] and r["metadata"]["kind"] == "general"
               for r in rows)
    reversed_build = tmp_path / "rev"
    reversed_build.mkdir()
    (reversed_build / "canonical.jsonl").write_text("".join(t.to_json() + "\n" for t in reversed(records)),
                                                    encoding="utf-8")
    write_corpus(reversed_build, ["general", "user", "observation"], tmp_path / "corpus2.jsonl")
    assert (tmp_path / "corpus.jsonl").read_bytes() == (tmp_path / "corpus2.jsonl").read_bytes()
