"""Done-when checks on the real BFCL v4 files (read in place through the real_data fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapes import SHAPES, gold_calls, render, unsatisfiable

from agentflan.evaluate import bfcl
from agentflan.evaluate.classify import classify
from agentflan.evaluate.run import score

pytestmark = pytest.mark.integration

# possible_answer entries that no reply can satisfy under BFCL's own rules (an empty allowed list, a required
# parameter missing from the answer, or an answer parameter the tool does not declare).
UNSATISFIABLE = {"live_simple_106-63-0", "live_simple_112-68-0", "live_multiple_862-181-3",
                 "live_multiple_964-207-0"}


@pytest.fixture(scope="module")
def samples(real_data: Path) -> dict[str, list]:
    root = real_data / "gorilla" / "bfcl_v4"
    out: dict[str, list] = {}
    for item in bfcl.load_samples(bfcl.CATEGORIES, root):
        assert hasattr(item, "category"), f"rejected BFCL record: {item}"
        out.setdefault(item.category, []).append(item)
    return out


def test_every_category_loads(samples: dict[str, list]) -> None:
    sizes = {c: len(v) for c, v in samples.items()}
    assert sizes == {"irrelevance": 240, "live_irrelevance": 884, "live_relevance": 16, "simple_python": 400,
                     "multiple": 200, "parallel": 200, "parallel_multiple": 200, "live_simple": 258,
                     "live_multiple": 1053, "live_parallel": 16, "live_parallel_multiple": 24}


@pytest.mark.parametrize("shape", SHAPES)
def test_gold_answers_score_100_in_every_shape(samples: dict[str, list], shape: str) -> None:
    records, skipped = [], set()
    for category in bfcl.ACCURACY:
        for s in samples[category]:
            if unsatisfiable(s.expected, s.tools):
                skipped.add(s.id)
                continue
            records.append(score(s, render(gold_calls(s.expected, s.tools), shape)))
    assert skipped == UNSATISFIABLE
    metrics = bfcl.metrics(records)
    wrong = [(r["id"], r["outcome"], r.get("detail")) for r in records if not r["success"]][:5]
    assert all(metrics[c]["accuracy"] == 100.0 for c in bfcl.ACCURACY), wrong
    assert metrics["summary"]["mean_accuracy"] == 100.0


def test_gold_with_a_wrong_value_is_wrong_args(samples: dict[str, list]) -> None:
    s = samples["simple_python"][0]  # calculate_triangle_area(base=10, height=5)
    call = gold_calls(s.expected, s.tools)[0]
    call["arguments"]["base"] = 11
    assert classify(render([call], "json"), s.tools, s.expected).outcome == "call_wrong_args"


@pytest.mark.parametrize("category", bfcl.IRRELEVANCE)
def test_irrelevance_call_versus_refusal(samples: dict[str, list], category: str) -> None:
    offered = [s for s in samples[category] if s.tools]
    calls = [score(s, json.dumps({"name": s.tools[0]["name"], "arguments": {}})) for s in offered]
    refusals = [score(s, "I cannot help with that.") for s in samples[category]]
    assert bfcl.metrics(calls)[category]["no_call_rate"] == 0.0
    assert bfcl.metrics(refusals)[category]["no_call_rate"] == 100.0
    # BFCL's own rule would credit a truncated call as an abstention; ours does not.
    truncated = [score(s, '<tool_call>{"name": "' + s.tools[0]["name"] + '", "arguments": {"') for s in offered]
    m = bfcl.metrics(truncated)[category]
    assert (m["no_call_rate"], m["no_call_rate_bfcl"], m["outcomes"]["malformed"]) == (0.0, 100.0, len(offered))


def test_live_relevance_needs_a_well_formed_call(samples: dict[str, list]) -> None:
    recs = [score(s, render([{"name": s.tools[0]["name"], "arguments": {}}], "hermes"))
            for s in samples["live_relevance"]]
    assert bfcl.metrics(recs)["live_relevance"]["call_rate"] == 100.0
    recs = [score(s, "Sorry, I can't.") for s in samples["live_relevance"]]
    assert bfcl.metrics(recs)["live_relevance"]["call_rate"] == 0.0


@pytest.mark.parametrize("shape", ["hermes", "json", "json_fenced", "parameters"])
def test_truncated_gold_json_is_always_malformed(samples: dict[str, list], shape: str) -> None:
    outcomes = set()
    for category in bfcl.ACCURACY:
        for s in samples[category]:
            text = render(gold_calls(s.expected, s.tools), shape)
            assert isinstance(text, str)
            # Cut half-way through the first call's arguments, as a max-token limit does.
            start = text.index('"arguments"' if shape != "parameters" else '"parameters"')
            end = text.index("\n</tool_call>") if shape == "hermes" else len(text)  # inside the first block
            outcomes.add(classify(text[: start + (end - start) // 2], s.tools).outcome)
    assert outcomes == {"malformed"}
