"""Issue 13's acceptance on the real corpora: `agentflan audit` of the `recipes/agent-flan.yaml` build passes
every check of what the method removes, and the same checks find each defect of the build as it was (the old
settings, the old prompt handling, the old format-following prompts, the old elicit sentences), so they are
shown to bite. Reads the corpora in place through the `real_data` fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentflan import phrasing
from agentflan.audit.run import AuditOptions, run_audit
from agentflan.cli import app
from agentflan.construct import instruct, prompts
from agentflan.schema import Message, Trajectory

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RECIPE = str(REPO / "recipes" / "agent-flan.yaml")
OLD_SETTINGS = ["agent.finished_only=false", "balance.target=share", "negatives.share=null", "negatives.kinds={}",
                "negatives.counts={tools_given_no_need: 60, no_tools_needs_tool: 60, "
                "irrelevant_tools_needs_tool: 60, missing_argument: 40, distractor_tools: 40}"]
OLD_ELICIT = ("I will use the `{{ name }}` tool.", "I'll call `{{ name }}` for this.",
              "The right tool here is `{{ name }}`.", "Let me use `{{ name }}`.",
              "I am going to call the `{{ name }}` tool.", "To do that, I'll use `{{ name }}`.",
              "I need the `{{ name }}` tool now.", "I will take the `{{ name }}` action.")


def _build_and_audit(out: Path, overrides: list[str] = ()) -> dict[str, Any]:
    args = ["build", RECIPE, "-o", str(out), "-q", *(a for o in overrides for a in ("--set", o))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return run_audit([out], out.parent / f"{out.name}-audit", AuditOptions(show_progress=False)).report


@pytest.fixture(scope="module")
def new(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build_and_audit(tmp_path_factory.mktemp("new") / "build")


def test_the_paper_recipe_passes_every_check(new: dict[str, Any]) -> None:
    m = new["metrics"]
    assert m["chat_format_mismatch"] == 0 and new["format_mismatch"]["by_rendering"]["chat"]["records"] > 500
    assert m["instruct_ungrounded_arguments"] == 0 and new["argument_grounding"]["by_kind"]["instruct"]["values"] > 100
    assert m["negative_reply_repetition"] <= 0.05
    kept = new["capability_balance"]["kept_relative_to_reasoning"]
    assert abs(kept["retrieval"] - 0.25) <= 0.05 * 0.25 and abs(kept["understanding"] - 0.75) <= 0.05 * 0.75
    assert m["unfinished"] == 0 and new["unfinished"]["records"] > 1000
    assert abs(m["negative_share"] - 0.022) < 0.002
    # The elicit sentences never use Agent-H's phrases; what is left are source thoughts ("Let me call ...").
    assert m["call_phrases"] < 0.02


def test_the_old_settings_are_caught(tmp_path: Path, new: dict[str, Any]) -> None:
    old = _build_and_audit(tmp_path / "old", OLD_SETTINGS)
    by_kind = old["unfinished"]["by_kind"]
    assert by_kind["agent"]["ends_on_call"] >= 40 and by_kind["agent"]["gave_up"] >= 1  # ToolBench's steps
    assert old["metrics"]["unfinished"] > 0.02
    assert old["capability_balance"]["kept_relative_to_reasoning"]["retrieval"] > 0.4  # "share" keeps ~50%
    assert old["metrics"]["negative_share"] > 0.15
    # 60 template replies per kind still repeat no sentence in more than 5% of them: the bank holds at scale.
    replies = old["phrasing"]["replies"]
    assert replies["no_tools_needs_tool"]["samples"] == 60 and old["metrics"]["negative_reply_repetition"] <= 0.05


def test_prompts_kept_as_the_old_build_kept_them_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompts, "clean", lambda text, role, rewrites: text)
    monkeypatch.setattr(prompts, "clean_tools", lambda tools, called, rewrites: tools)
    old = _build_and_audit(tmp_path / "kept", ["agent.finished_only=false"])
    f = old["format_mismatch"]
    assert f["chat_mismatched"] > 80  # AgentInstruct manuals, AutoGPT prompts, retry prompts
    assert f["by_format"]["react"] >= 20 and f["by_format"]["function_rules"] >= 40
    assert f["by_format"]["quoted_calls"] >= 5


def test_format_following_prompts_from_the_first_user_turn_are_caught(real_data: Path, tmp_path: Path,
                                                                      new: dict[str, Any]) -> None:
    """The old samples took the first user turn as the prompt, wherever the call was made."""
    from agentflan.pipeline.read import InputStats, read_file

    old_style: list[Trajectory] = []
    for path in sorted((real_data / "api-bank/lv1-lv2-samples").rglob("*.jsonl"))[:120]:
        for rec in read_file(path, "auto", InputStats(str(path), "-")):
            src = instruct.first_call(rec.id, rec) if isinstance(rec, Trajectory) else None
            if src is not None:
                first = next(m for m in rec.messages if m.role == "user")
                old_src = instruct.CallSource(src.key, (Message(role="user", content=first.content),), src.call,
                                              src.thought, src.traj)
                old_style.append(instruct.make_sample(old_src, "json", 0))
    out = tmp_path / "old.jsonl"
    out.write_text("".join(json.dumps(t.to_dict()) + "\n" for t in old_style), encoding="utf-8")
    report = run_audit([out], tmp_path / "audit", AuditOptions(show_progress=False)).report
    g = report["argument_grounding"]["by_kind"]["instruct"]
    assert g["records_ungrounded"] > 0.3 * g["records"] and report["metrics"]["instruct_ungrounded_arguments"] > 20
    assert new["metrics"]["instruct_ungrounded_arguments"] == 0


def test_old_elicit_sentences_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(phrasing.POOLS, "elicit", OLD_ELICIT)
    old = _build_and_audit(tmp_path / "elicit")
    assert old["metrics"]["call_phrases"] > 0.5
