"""`agentflan audit` on every real corpus and on an `agentflan build` output: the report shows the differences
the paper predicts (observations 1 and 3). Reads the corpora in place through the `real_data` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentflan.audit.run import AuditOptions, run_audit
from agentflan.cli import app

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REACT: dict[str, str | tuple[str, ...]] = {
    "agentinstruct": "agent-data-protocol",
    "fireact": "FireAct/gpt_format",
    "toolllama": "ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json",
}
FUNCTION_CALL: dict[str, str | tuple[str, ...]] = {
    "toolbench": "ToolBench/data_example/answer",
    "stabletoolbench": "StableToolBench/data_example/answer",
    "tooltalk": ("ToolTalk/data/tooltalk", "ToolTalk/data/easy"),  # not data/databases: tool state, no dialogues
    "apibank": "api-bank/lv1-lv2-samples",
}
BFCL = "gorilla/bfcl_v4/BFCL_v4_simple_python.json"
GENERAL = "self-instruct"


def _audit(paths: list[Path], out: Path, **kw: Any) -> dict[str, Any]:
    return run_audit(paths, out, AuditOptions(show_progress=False, **kw)).report


@pytest.fixture(scope="module")
def reports(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("audit-real")
    corpora = {**REACT, **FUNCTION_CALL, "bfcl": BFCL, "general": GENERAL}
    return {name: _audit([real_data / r for r in ((rel,) if isinstance(rel, str) else rel)], out / name)
            for name, rel in corpora.items()}


@pytest.fixture(scope="module")
def build_dir(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The paper's construction: `agentflan build recipes/agent-flan.yaml`."""
    out = tmp_path_factory.mktemp("build")
    result = CliRunner().invoke(app, ["build", str(REPO / "recipes" / "agent-flan.yaml"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def built(real_data: Path, build_dir: Path) -> dict[str, Any]:
    """The build, audited."""
    return _audit([build_dir / "canonical.jsonl"], build_dir / "audit",
                  against=(real_data / "gorilla/bfcl_v4/BFCL_v4_simple_python.json",))


def test_every_corpus_is_read_and_counts_add_up(reports: dict[str, dict[str, Any]]) -> None:
    for name, r in reports.items():
        assert r["records"] > 0, name
        assert r["rejected"] == sum(r["rejects_by_reason"].values()), name
        assert r["read"] == sum(i["read"] for i in r["inputs"]), name
        # ToolBench has two answer files without train_messages (a real defect), 2 of 54
        assert r["rejected"] <= 0.05 * r["read"], (name, r["rejects_by_reason"])
        assert r["view_errors"]["count"] == 0, (name, r["view_errors"])


def test_react_corpora_have_a_high_format_share(reports: dict[str, dict[str, Any]],
                                                built: dict[str, Any]) -> None:
    for name in REACT:
        r = reports[name]
        views = next(iter(r["format"]["by_source"].values()))["views"]
        assert set(views) == {"react"}, (name, views)
        assert r["format_share"] >= 0.12, (name, r["format_share"])
        # the built Agent-FLAN data entangles format several times less
        assert built["format_share"] * 3 < r["format_share"], (name, r["format_share"], built["format_share"])
    for name in ("toolbench", "stabletoolbench"):
        assert reports[name]["format_share"] >= 0.12, (name, reports[name]["format_share"])
    assert reports["general"]["format_share"] == 0.0
    assert built["format_share"] < 0.06
    kinds = built["format"]["by_kind"]
    assert kinds["instruct"]["format_share"] > 0.5 and kinds["agent"]["format_share"] < 0.02


def test_raw_corpora_lack_negatives_and_the_build_has_all_four(reports: dict[str, dict[str, Any]],
                                                               built: dict[str, Any]) -> None:
    for name in {**REACT, **FUNCTION_CALL}:
        n = reports[name]["negative_coverage"]
        assert n["negative_types"] == {}, name
        assert n["circumstances"]["no_tools_tool_query"] == 0 and n["circumstances_present"] <= 2, (name, n)
        assert n["tools_no_call_share"] < 0.2, (name, n["tools_no_call_share"])
    n = built["negative_coverage"]
    assert n["circumstances_present"] == 4
    assert all(n[c] > 0 for c in ("tools_call", "tools_no_call", "no_tools_no_call"))
    assert {"tools_given_no_need", "no_tools_needs_tool", "irrelevant_tools_needs_tool"} <= set(n["negative_types"])
    # Offering tools without a call: the negatives that decline (and a few answers). ReAct records and
    # format-following samples call in their text, and count as calls.
    assert 0 < built["metrics"]["tools_no_call"] < 0.05
    assert n["negative_types"]["irrelevant_tools_needs_tool"] <= n["tools_no_call"]
    assert abs(n["negative_share"] - 0.022) < 0.002  # the release's share of the agent side


def test_capability_balance_reflects_the_paper_weights(reports: dict[str, dict[str, Any]],
                                                       built: dict[str, Any]) -> None:
    # Raw ReAct data carries all capabilities at their natural ratio; the build masks retrieval to 0.25 and
    # understanding to 0.75 of their tokens, so their ratios to reasoning drop.
    raw = reports["fireact"]["capability_balance"]["tokens"]
    assert raw["reasoning"] > 0 and raw["retrieval"] > 0 and raw["understanding"] > 0
    tokens = built["capability_balance"]["tokens"]
    assert tokens["abstain"] > 0 and tokens["general"] > 0
    assert built["capability_balance"]["ratio_to_reasoning"]["retrieval"] < 0.25


def test_validity_finds_real_defects(reports: dict[str, dict[str, Any]]) -> None:
    # ToolBench answer trees contain calls to a tool category name that is not in the tool list.
    tb = reports["toolbench"]
    assert tb["validity"]["unknown_tool"] >= 1
    example = tb["validity_details"]["rules"]["unknown_tool"]["examples"][0]
    assert example in tb["examples"] and tb["examples"][example]["source"].endswith(".json")
    # Per-step training sequences end on a call: truncated by the rule.
    assert tb["validity"]["truncated"] > 0


def test_duplicates_across_fireact_files(reports: dict[str, dict[str, Any]]) -> None:
    # FireAct's multitask file repeats many hotpotqa trajectories verbatim.
    d = reports["fireact"]["duplicates"]
    assert d["exact"]["duplicate_records"] > 100
    ids = d["exact"]["examples"][0]["ids"]
    assert any(i.startswith("hotpotqa") for i in ids) and any(i.startswith("multitask") for i in ids)


def test_bfcl_questions_have_no_replies_and_contamination_is_found(real_data: Path, tmp_path: Path,
                                                                    reports: dict[str, dict[str, Any]],
                                                                    built: dict[str, Any]) -> None:
    bfcl = reports["bfcl"]
    assert bfcl["negative_coverage"]["no_reply"] == bfcl["records"]
    against = _audit([real_data / BFCL], tmp_path / "self", against=(real_data / BFCL,))
    assert against["contamination"]["share"] == 1.0
    clean = _audit([real_data / "FireAct/gpt_format"], tmp_path / "fa", against=(real_data / BFCL,))
    assert clean["contamination"]["contaminated"] == 0
    # FireAct's multitask file reuses HotpotQA questions: audited against hotpotqa as if it were the eval set.
    fa = _audit([real_data / "FireAct/gpt_format/multitask.jsonl"], tmp_path / "mt",
                against=(real_data / "FireAct/gpt_format/hotpotqa.jsonl",))["contamination"]
    assert fa["contaminated"] > 100 and fa["overlaps"][0]["against_id"].startswith("hotpotqa:")
    # Every overlap the build output has names a record of the build and one of BFCL.
    c = built["contamination"]
    assert c["checked"] and c["against"] == {str(real_data / BFCL): 400}
    for o in c["overlaps"]:
        assert o["id"] in built["examples"] and o["against_id"].startswith("simple_python_")


def test_evaluation_tools_are_found_and_the_recipe_keeps_them_out(real_data: Path, tmp_path: Path,
                                                                  built: dict[str, Any]) -> None:
    # Every BFCL question offers its own functions, so BFCL audited against itself offers them all.
    itself = _audit([real_data / BFCL], tmp_path / "self", against=(real_data / BFCL,))["contamination"]["tools"]
    assert itself["share"] == 1.0 and itself["distinct_tools"] > 300
    # The shipped recipe's negatives draw tools from the agent corpora only: nothing of BFCL's.
    assert built["contamination"]["tools"]["records"] == 0
    # Drawing irrelevant tools from a BFCL file, as the recipe once did, shows up as tool contamination.
    irrelevance = real_data / "gorilla/bfcl_v4/BFCL_v4_irrelevance.json"
    out = tmp_path / "pooled"
    result = CliRunner().invoke(app, ["build", str(REPO / "recipes" / "agent-flan.yaml"), "-o", str(out), "-q",
                                      "--set", "negatives.tool_pools=[{path: gorilla/bfcl_v4/BFCL_v4_irrelevance.json, "
                                      "name: bfcl-irrelevance}]"])
    assert result.exit_code == 0, result.output
    tools = _audit([out / "canonical.jsonl"], out / "audit", against=(irrelevance,))["contamination"]["tools"]
    assert tools["records"] > 5 and tools["by_against"] == {str(irrelevance): tools["records"]}
    assert all(o["id"].startswith("negative/") and o["against_id"].startswith("irrelevance_")
               for o in tools["overlaps"])


def test_raw_corpora_ask_for_the_format_they_use_and_toolbench_steps_are_unfinished(
        reports: dict[str, dict[str, Any]]) -> None:
    # A source's prompt and its replies agree (ReAct manuals with ReAct replies, AutoGPT's rules with function
    # calls): the mismatch check finds nothing in raw data, only in renderings that change the replies.
    for name in {**REACT, **FUNCTION_CALL}:
        assert reports[name]["format_mismatch"]["mismatched"] == 0, (name, reports[name]["format_mismatch"])
    # ToolBench's per-step sequences stop after a call, give up or restart; the other corpora end in answers.
    tb = reports["toolbench"]["unfinished"]["by_reason"]
    assert tb["ends_on_call"] > 0 and tb["gave_up"] > 0 and tb["restarted"] > 0
    assert reports["fireact"]["unfinished"]["unfinished"] == 0 and reports["tooltalk"]["unfinished"]["unfinished"] == 0
    # FireAct's search queries are the model's own words: many values are not in the question.
    assert reports["fireact"]["argument_grounding"]["share"] > 0.3


def test_the_agentflan_export_audits_like_the_build(build_dir: Path, built: dict[str, Any]) -> None:
    # The same records in the release's row layout (what XTuner trains on): the reader gives back their calls,
    # labels and kinds, so the audit agrees with the build's canonical records.
    export = _audit([build_dir / "agentflan.jsonl"], build_dir / "audit-agentflan")
    assert export["records"] == built["records"] and export["rejected"] == 0
    assert abs(export["format_share"] - built["format_share"]) < 0.01
    assert export["format"]["by_kind"]["instruct"]["format_share"] == 1.0
    assert export["format"]["by_kind"]["react"]["format_share"] > 0.2
    n, b = export["negative_coverage"], built["negative_coverage"]
    for key in ("tools_call", "tools_no_call", "no_tools_call", "no_tools_no_call", "circumstances",
                "negative_types"):
        assert n[key] == b[key], key
    assert abs(n["negative_share"] - b["negative_share"]) < 0.002
    tokens, canonical = export["capability_balance"]["tokens"], built["capability_balance"]["tokens"]
    assert tokens["instruction_following"] == canonical["instruction_following"]
    assert tokens["abstain"] == canonical["abstain"]
    # One loss flag per turn: the masks balancing put on a tool choice or its arguments inside a supervised
    # turn are trained anyway (the manifest's `masks_not_held`), and the audit says so.
    kept = export["capability_balance"]["kept_relative_to_reasoning"]
    assert kept["retrieval"] > 0.5 > built["capability_balance"]["kept_relative_to_reasoning"]["retrieval"]
    m, c = export["metrics"], built["metrics"]
    for metric in ("unfinished", "chat_format_mismatch", "instruct_ungrounded_arguments",
                   "negative_reply_repetition", "call_phrases", "ungrounded_arguments", "truncated"):
        assert m[metric] == c[metric], metric
