"""BFCL multi-turn episodes and BFCL's state/response/irrelevance checks, on a small API of our own (BFCL's
simulated APIs come from a wheel the tests do not download) and on the real question files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentflan.evaluate import bfcl_multi_turn as mt
from agentflan.evaluate.backends import GenerationError


class Tally:
    """A stateful API in BFCL's style: a scenario to load, public state, methods returning dicts."""

    def __init__(self) -> None:
        self.value = 0
        self._calls = 0  # private: never compared

    def _load_scenario(self, config: dict, long_context: bool = False) -> None:
        self.value = config.get("value", 0)

    def add(self, n: int) -> dict[str, int]:
        self._calls += 1
        self.value += n
        return {"value": self.value}

    def read(self) -> dict[str, int]:
        return {"value": self.value}


CLASSES: dict[str, type] = {"Tally": Tally}
TOOLS = {name: {"name": name, "description": f"{name} the tally",
                "parameters": {"type": "object", "properties": {"n": {"type": "integer"}} if name == "add" else {},
                               "required": ["n"] if name == "add" else []}} for name in ("add", "read")}


def entry(ground_truth: list[list[str]], missed: dict[int, list[str]] | None = None, eid: str = "e0") -> mt.Entry:
    turns = [[{"role": "user", "content": f"step {i}"}] for i in range(len(ground_truth))]
    for turn in (missed or {}):
        turns[turn] = []  # BFCL's miss_func turn: no new user message, the functions arrive
    return mt.Entry(id=eid, category="multi_turn_base" if not missed else "multi_turn_miss_func", turns=turns,
                    initial_config={"Tally": {"value": 10}}, classes=["Tally"], tools=dict(TOOLS),
                    ground_truth=ground_truth, missed=missed or {})


class Scripted:
    """Replies from a script: per (entry, turn), the steps' replies in order, then "Done."."""

    name = "scripted"

    def __init__(self, script: dict[tuple[str, int], list[Any]]) -> None:
        self.script = script
        self.seen: list[Any] = []

    def describe(self) -> dict[str, Any]:
        return {}

    def generate(self, samples: list[Any]) -> list[Any]:
        self.seen.extend(samples)
        out = []
        for s in samples:
            eid, turn, step = s.id.rsplit("/", 2)
            steps = self.script.get((eid, int(turn[4:])), [])
            index = int(step[4:])
            out.append(steps[index] if index < len(steps) else "Done.")
        return out


def play(e: mt.Entry, script: dict[tuple[str, int], list[Any]]) -> tuple[dict[str, Any], mt.Episode, Scripted]:
    backend = Scripted(script)
    (episode,) = mt.run_episodes([e], backend, CLASSES)
    return mt.check(episode, CLASSES), episode, backend


def test_replaying_the_ground_truth_is_correct_in_any_call_shape() -> None:
    e = entry([["add(n=2)", "read()"], ["add(5)"]])
    # Python-style, JSON and OpenAI tool_calls replies; positional arguments; several steps in a turn.
    script = {("e0", 0): ['[add(n=2)]', '{"name": "read", "arguments": {}}'],
              ("e0", 1): [{"role": "assistant", "content": None, "tool_calls": [
                  {"id": "x", "type": "function", "function": {"name": "add", "arguments": '{"n": 5}'}}]}]}
    verdict, episode, backend = play(e, script)
    assert verdict == {"valid": True}
    assert episode.results == [['{"value": 12}', '{"value": 12}'], ['{"value": 17}']]
    assert [s["value"] for s in (st["Tally"] for st in episode.states)] == [12, 17]
    # Each step sees the calls and results so far; the turn ends with the plain reply.
    last = backend.seen[-1].messages
    assert [m["role"] for m in last] == ["user", "assistant", "tool", "assistant", "tool", "assistant", "user",
                                         "assistant", "tool"]


def test_each_check_fails_where_bfcl_fails() -> None:
    e = entry([["add(n=2)"], ["add(n=1)"]])
    assert play(e, {("e0", 0): ["[add(n=2)]"]})[0]["error_type"] == "multi_turn:empty_turn_model_response"
    wrong = play(e, {("e0", 0): ["[add(n=3)]"], ("e0", 1): ["[add(n=1)]"]})[0]
    assert wrong["error_type"] == "multi_turn:instance_state_mismatch" and wrong["turn"] == 0
    # The same state (reading changes nothing), but the ground truth's result {"value": 10} was never produced.
    reading = entry([["read()"]])
    detour = play(reading, {("e0", 0): ['{"name": "missing_tool", "arguments": {}}']})[0]
    assert detour["error_type"] == "multi_turn:execution_response_mismatch"


def test_a_turn_that_needs_no_call_must_get_none() -> None:
    e = entry([["add(n=2)"], [], ["read()"]], missed={2: ["read"]})
    assert e.offered(1) == [TOOLS["add"]] and e.offered(2) == [TOOLS["add"], TOOLS["read"]]
    ok = {("e0", 0): ["[add(n=2)]"], ("e0", 1): ["Which tally should I read? I have no function for it."],
          ("e0", 2): ["[read()]"]}
    verdict, _, backend = play(e, ok)
    assert verdict == {"valid": True}
    # The withheld function arrives with BFCL's prompt, in the turn that had no user message.
    turn2 = next(s for s in backend.seen if "/turn2/" in s.id)
    assert turn2.messages[-1] == {"role": "user", "content": mt.ADDED_FUNCTIONS_PROMPT}
    assert {t["name"] for t in turn2.tools} == {"add", "read"}
    eager = {**ok, ("e0", 1): ["[add(n=0)]"]}
    assert play(e, eager)[0]["error_type"] == "multi_turn:irrelevance_error"


def test_bad_calls_become_error_results_and_failed_requests_are_errors() -> None:
    world = mt.World(entry([["read()"]]), CLASSES)
    assert world.call("nope") == "Error during execution: name 'nope' is not defined"
    assert world.call("add", (), {"n": 1, "m": 2}).startswith("Error during execution:")
    assert world.call_text("add(n=__import__('os'))").startswith("Error during execution: not a literal")
    assert world.state() == {"Tally": {"value": 10}}

    class Failing(Scripted):
        def generate(self, samples: list[Any]) -> list[Any]:
            return [GenerationError("HTTP 500")] * len(samples)

    (episode,) = mt.run_episodes([entry([["read()"]])], Failing({}), CLASSES)
    assert mt.check(episode, CLASSES) == {"valid": False, "error_type": "backend_error", "detail": "HTTP 500"}


def test_steps_per_turn_are_capped() -> None:
    e = entry([["add(n=1)"]])
    verdict, episode, _ = play(e, {("e0", 0): ["[read()]"] * 50})
    assert len(episode.calls[0]) == mt.MAX_STEPS and not verdict["valid"]


@pytest.mark.integration
@pytest.mark.parametrize("category", mt.CATEGORIES)
def test_real_entries_load_with_their_tools(real_data: Path, category: str) -> None:
    entries, rejects = mt.load_entries(category, real_data / "gorilla" / "bfcl_v4")
    assert len(entries) == 200 and not rejects
    for e in entries:
        assert len(e.ground_truth) == len(e.turns)
        assert e.tools and set(e.classes) <= set(mt.API_MODULES)
        for turn, names in e.missed.items():
            before = {t["name"] for t in e.offered(turn - 1)}
            after = {t["name"] for t in e.offered(turn)}
            assert not set(names) & before and set(names) <= after
            assert e.turns[turn] == [] and e.ground_truth[turn - 1] == []
        assert not {t["name"] for t in e.offered(len(e.turns))} & set(e.excluded)


def test_eval_run_scores_episodes_beside_single_turn_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    import json

    from agentflan.evaluate.run import Collected, run

    monkeypatch.setattr(mt, "api_classes", lambda source=None: CLASSES)
    good, bad = entry([["add(n=2)"]], eid="good"), entry([["add(n=2)"]], eid="bad")
    backend = Scripted({("good", 0): ["[add(n=2)]"], ("bad", 0): ["[add(n=3)]"]})
    results = run([], backend, tmp_path, show_progress=False, collected=Collected(episodes=[good, bad]))
    scores = results["benchmarks"]["bfcl"]
    assert scores["multi_turn_base"] == {"n": 2, "accuracy": 50.0,
                                         "failures": {"multi_turn:instance_state_mismatch": 1}}
    assert scores["summary"]["mean_multi_turn_accuracy"] == 50.0
    records = [json.loads(line) for line in (tmp_path / "replies.jsonl").read_text().splitlines()]
    assert [(r["id"], r["outcome"], r["success"]) for r in records] == [
        ("good", "correct", True), ("bad", "multi_turn:instance_state_mismatch", False)]
    assert records[1]["calls"] == [[[{"name": "add", "arguments": {"n": 3}}]]]
    assert "multi_turn:instance_state_mismatch" in (tmp_path / "results.md").read_text()


def test_category_names_select_the_multi_turn_ones() -> None:
    from agentflan.evaluate.bfcl import MULTI_TURN, categories_for

    assert categories_for(["bfcl.multi_turn"]) == list(MULTI_TURN)
    assert "multi_turn_base" not in categories_for(["bfcl"])  # the plain name stays single-turn
    assert categories_for(["bfcl:multi_turn_miss_func"]) == ["multi_turn_miss_func"]
