"""BFCL v4 question files on hand-written fixtures in BFCL's folder layout."""

from __future__ import annotations

from pathlib import Path

from agentflan.formats.bfcl import bfcl_category
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

ROOT = Path(__file__).parent / "fixtures" / "fc" / "bfcl"


def test_category_from_file_name() -> None:
    assert bfcl_category("x/BFCL_v4_live_parallel_multiple.json") == "live_parallel_multiple"
    assert bfcl_category("BFCL_v3_simple.jsonl") == "simple"
    assert bfcl_category("other.json") == "other"


def test_single_turn_file_with_answers_and_defects() -> None:
    stats = InputStats("f", "-")
    out = list(read_file(ROOT / "BFCL_v4_demo_simple.json", "auto", stats))
    assert stats.format == "bfcl"
    good = [t for t in out if isinstance(t, Trajectory)]
    assert [t.id for t in good] == ["demo_simple_0", "demo_simple_1"]
    t = good[0]
    assert [m.role for m in t.messages] == ["system", "user"]
    params = t.tools[0].parameters
    assert params["type"] == "object"
    assert params["properties"]["side"]["type"] == "number"
    assert "type" not in params["properties"]["unit"]  # "any": unconstrained
    assert params["properties"]["dims"]["type"] == "array"
    assert t.metadata["bfcl"] == {"category": "demo_simple",
                                  "ground_truth": [{"area.square": {"side": [3, 3.0], "unit": ["m", ""]}}]}
    assert good[1].tools == [] and "ground_truth" not in good[1].metadata["bfcl"]
    assert [(r.line, r.reason) for r in out if isinstance(r, Reject)] == [
        (3, "invalid_role"), (4, "wrong_type"), (5, "missing_field"), (6, "truncated_json")]
    assert stats.read == 6 == stats.accepted + stats.rejected


def test_multi_turn_tools_from_function_docs() -> None:
    out = list(read_file(ROOT / "BFCL_v4_demo_multi_turn.json"))
    t, rej = out
    assert isinstance(t, Trajectory) and isinstance(rej, Reject)
    assert [tool.name for tool in t.tools] == ["add"]  # sqrt is excluded
    assert t.tools[0].parameters["properties"]["a"]["type"] == "number"
    assert [(m.content, m.metadata["bfcl_turn"]) for m in t.messages] == [("Add 1 and 2.", 0),
                                                                           ("Now its square root.", 2)]
    bfcl = t.metadata["bfcl"]
    assert bfcl["ground_truth"] == [["add(a=1,b=2)"], [], ["sqrt(x=3)"]]
    assert bfcl["involved_classes"] == ["MathAPI"] and bfcl["missed_function"] == {"1": ["sqrt"]}
    assert rej.reason == "func_doc_missing" and "NoSuchAPI" in rej.detail
