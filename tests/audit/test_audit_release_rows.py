"""The audit reads rows in the layout of InternLM's Agent-FLAN release (``{id, conversation: [{role, content,
loss}]}``, the `agentflan` export's layout too): their calls, ReAct text and negatives, through the `agentflan`
reader. The fixture is written in the release's row layout (not copied from it): one row per release file
kind, ids numbered as the release numbers them."""

from __future__ import annotations

from pathlib import Path

from agentflan.audit.run import AuditOptions, run_audit

RELEASE = Path(__file__).resolve().parents[1] / "formats" / "fixtures" / "agentflan_release" / "rows.jsonl"


def test_release_rows_have_format_capabilities_and_negatives(tmp_path: Path) -> None:
    r = run_audit([RELEASE], tmp_path, AuditOptions(show_progress=False)).report
    assert r["records"] == 6 and r["rejected"] == 0
    # Format: the ReAct row's keywords and JSON punctuation, the format-following target; the Agent-FLAN
    # conversation rows teach none. (Before the reader read these rows: 0.0, every token "answer".)
    kinds = r["format"]["by_kind"]
    assert kinds["agent"]["format_share"] == 0.0 and kinds["instruct"]["format_share"] == 1.0
    assert 0.3 < kinds["react"]["format_share"] < 0.5
    assert 0.2 < r["format_share"] < 0.35
    tokens = r["capability_balance"]["tokens"]
    assert all(tokens[c] > 0 for c in ("reasoning", "retrieval", "understanding", "answer", "abstain"))
    # The release masks per turn: the tool-naming turn of the first row is left out of the loss.
    assert r["capability_balance"]["kept_fraction"]["retrieval"] < 1.0
    assert r["capability_balance"]["kept_fraction"]["reasoning"] == 1.0
    # Negatives: four rows call (Agent-FLAN conversation twice, ReAct, the format-following target), the two
    # negatives decline, one with no tools and one with tools that do not fit. (Before: 1 circumstance.)
    n = r["negative_coverage"]
    assert (n["tools_call"], n["tools_no_call"], n["no_tools_call"], n["no_tools_no_call"]) == (4, 1, 0, 1)
    assert n["circumstances"] == {"tools_tool_query": 5, "tools_general_query": 0, "no_tools_tool_query": 1,
                                  "no_tools_general_query": 0}
    assert n["negative_types"] == {"irrelevant_tools_needs_tool": 1, "no_tools_needs_tool": 1}
    assert n["agent_side"] == 6 and r["metrics"]["negative_share"] == 0.3333
    # The other checks see the calls too.
    assert r["validity_details"]["calls"] == 2 and r["metrics"]["invalid_calls"] == 0.0
    assert r["argument_grounding"]["values"] > 0 and r["unfinished"]["unfinished"] == 0
    assert r["phrasing"]["call_turns"] == 3  # the two calling replies and the ReAct turn that names its tool
