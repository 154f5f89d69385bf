"""`agentflan convert --from auto` on every real BFCL v4 question file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.formats.bfcl import bfcl_category
from agentflan.pipeline.convert import convert
from agentflan.pipeline.read import read_file
from agentflan.schema import Trajectory

pytestmark = pytest.mark.integration

# Records per question file (data README / MANIFEST.tsv).
EXPECTED = {"irrelevance": 240, "live_irrelevance": 884, "live_relevance": 16, "simple_python": 400, "multiple": 200,
            "parallel": 200, "parallel_multiple": 200, "live_simple": 258, "live_multiple": 1053,
            "live_parallel": 16, "live_parallel_multiple": 24, "multi_turn_base": 200, "multi_turn_miss_func": 200,
            "multi_turn_miss_param": 200}


def test_convert_auto_every_question_file(real_file, tmp_path: Path) -> None:
    files = sorted(real_file("gorilla/bfcl_v4").glob("BFCL_v4_*.json"))
    assert {bfcl_category(f) for f in files} == set(EXPECTED)
    result = convert(files, "auto", "canonical", tmp_path / "bfcl.jsonl", show_progress=False)
    for s in result.manifest["inputs"]:
        category = bfcl_category(s["path"])
        assert s["format"] == "bfcl", s["path"]
        assert s["read"] == EXPECTED[category]
        assert s["accepted"] / s["read"] >= 0.99, (category, s["rejects_by_reason"])
    rows = [json.loads(line) for line in result.output.read_text().splitlines()]
    with_truth = {r["metadata"]["bfcl"]["category"] for r in rows if "ground_truth" in r["metadata"]["bfcl"]}
    answered = {bfcl_category(p) for p in (files[0].parent / "possible_answer").glob("BFCL_v4_*.json")}
    assert with_truth == answered
    assert sum(1 for r in rows if not r.get("tools")) == 4  # live_irrelevance entries with no tools


def test_load_bfcl_multi_turn(real_file) -> None:
    trajs = [t for t in read_file(real_file("gorilla/bfcl_v4/BFCL_v4_multi_turn_base.json"), "bfcl")
             if isinstance(t, Trajectory)]
    assert len(trajs) == 200
    t = trajs[0]
    assert t.tools and all(tool.parameters.get("type") == "object" for tool in t.tools)
    truth = t.metadata["bfcl"]["ground_truth"]
    assert len(truth) == len({m.metadata["bfcl_turn"] for m in t.messages}) or len(truth) >= 1
    excluded = set(t.metadata["bfcl"].get("excluded_function", []))
    assert not excluded & t.tool_names()
