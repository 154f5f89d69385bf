"""The whole pipeline on small files: counts that add up, byte-identical reruns, seeds that matter, atomic
output, endpoint replies and failures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from construct_fixtures import assert_balanced, recipe_dict
from fake_endpoint import fake_endpoint

from agentflan.config import validate
from agentflan.construct.build import build
from agentflan.construct.recipe import NEGATIVE_KINDS, Recipe
from agentflan.files import sha256_file


def _build(out: Path, **overrides: Any) -> dict[str, Any]:
    return build(validate(Recipe, recipe_dict(**overrides), "test"), out, show_progress=False)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_manifest_counts_add_up(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    m = _build(out)
    records = _lines(out / "canonical.jsonl")
    assert m["records"] == len(records) == sum(m["by_kind"].values()) == sum(m["by_source"].values())
    assert all(m["by_kind"][k] > 0 for k in ("agent", "react", "instruct", "negative", "general"))
    assert Counter(r["metadata"]["kind"] for r in records) == {k: v for k, v in m["by_kind"].items() if v}
    assert m["negatives"] == {k: m["negatives_requested"][k] for k in NEGATIVE_KINDS}
    assert Counter(r["metadata"]["negative"] for r in records if r["metadata"]["kind"] == "negative") == \
        m["negatives"]
    assert all("reply_source" in r["metadata"] for r in records if r["metadata"]["kind"] == "negative")
    for entry in m["inputs"]:
        assert entry["read"] == entry["used"] + entry["rejected"], entry
        assert entry["rejected"] == sum(entry["rejects_by_reason"].values())
        assert len(entry["sha256"]) == 64 and entry["licence"] is None  # no LICENSE beside test files
    questions = next(e for e in m["inputs"] if e["name"] == "questions")
    assert questions["rejects_by_reason"] == {"general:no_reply": 3}  # questions without answers, no endpoint
    rejects = _lines(out / "rejects.jsonl")
    assert len(rejects) == m["rejected"] == sum(m["rejects_by_reason"].values())
    for o in m["outputs"]:
        assert sha256_file(out / o["path"]) == o["sha256"]
    assert {o["path"] for o in m["outputs"]} >= {"canonical.jsonl", "agentflan.jsonl", "openai.jsonl",
                                                  "rejects.jsonl"}
    assert m["react_fraction"]["actual"] == 0.25 and m["seed"] == 0
    assert_balanced(m["capability_tokens"])
    assert m["capability_tokens"]["counted_with"].startswith("approx-regex")
    assert m["mix"]["general_used"] == m["by_kind"]["general"]


def test_every_record_has_labelled_supervised_parts(data_dir: Path, tmp_path: Path) -> None:
    from agentflan.capabilities import spans
    from agentflan.schema import Trajectory

    _build(tmp_path / "out")
    for row in _lines(tmp_path / "out" / "canonical.jsonl"):
        traj = Trajectory.from_dict(row)
        for m in traj.messages:
            if m.role == "assistant":
                assert all(p.capability for p in m.parts or []), traj.id
        assert any(True for _ in spans(traj, supervised_only=False)), traj.id


def test_rerun_is_byte_identical_and_a_new_seed_is_not(data_dir: Path, tmp_path: Path) -> None:
    a = _build(tmp_path / "a")
    b = _build(tmp_path / "b")
    c = _build(tmp_path / "c", seed=1)
    assert [o["sha256"] for o in a["outputs"]] == [o["sha256"] for o in b["outputs"]]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    sha_a = {o["path"]: o["sha256"] for o in a["outputs"]}
    sha_c = {o["path"]: o["sha256"] for o in c["outputs"]}
    assert sha_a["canonical.jsonl"] != sha_c["canonical.jsonl"] and sha_a["openai.jsonl"] != sha_c["openai.jsonl"]


def test_a_failed_build_leaves_no_directory_that_looks_complete(data_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    _build(out)
    before = (out / "manifest.json").read_bytes()
    from agentflan import formats

    real = formats.writer("openai")

    def broken(traj: Any) -> dict[str, Any]:
        raise KeyboardInterrupt  # an interruption in the middle of writing

    monkeypatch.setattr(type(real), "write", property(lambda self: broken), raising=False)
    with pytest.raises(KeyboardInterrupt):
        _build(out, seed=5)
    assert (out / "manifest.json").read_bytes() == before  # the previous complete output is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    new = tmp_path / "new"
    with pytest.raises(KeyboardInterrupt):
        _build(new, seed=5)
    assert not new.exists()


def test_endpoint_answers_questions_and_writes_negative_replies(data_dir: Path, tmp_path: Path) -> None:
    with fake_endpoint(default=(200, "A calm, plain answer.")) as srv:
        m = _build(tmp_path / "out", negatives={
            "counts": {"no_tools_needs_tool": 2},
            "tool_pools": [{"path": "pool/pool.jsonl", "format": "canonical", "name": "pool"}],
            "endpoint": {"base_url": srv["url"], "model": "m", "retries": 0}}, general={
            "inputs": [{"path": "general/questions.jsonl", "name": "questions"}], "ratio": 1.0})
    assert m["reply_sources"] == {"endpoint": 2}
    assert m["by_kind"]["general"] == 3
    rows = _lines(tmp_path / "out" / "canonical.jsonl")
    general = [r for r in rows if r["metadata"]["kind"] == "general"]
    assert all(r["metadata"]["reply_source"] == "endpoint" for r in general)
    assert all(r["messages"][-1]["content"] == "A calm, plain answer." for r in general)


def test_endpoint_failing_mid_run_rejects_records_and_finishes(data_dir: Path, tmp_path: Path) -> None:
    # The probe succeeds, then every call fails: each negative is retried, then rejected with the reason.
    with fake_endpoint([(200, "OK")], default=(500, "overloaded")) as srv:
        m = _build(tmp_path / "out", negatives={
            "counts": {"no_tools_needs_tool": 2},
            "tool_pools": [{"path": "pool/pool.jsonl", "format": "canonical", "name": "pool"}],
            "endpoint": {"base_url": srv["url"], "model": "m", "retries": 1, "backoff_s": 0}})
    assert m["negatives"]["no_tools_needs_tool"] == 0
    assert m["rejects_by_reason"]["negative:no_tools_needs_tool:endpoint_failed"] > 0
    assert (tmp_path / "out" / "manifest.json").exists()


def test_caps_and_drop_flags_are_counted(data_dir: Path, tmp_path: Path) -> None:
    m = _build(tmp_path / "out", agent={"inputs": [{"path": "agent/agent.jsonl", "format": "canonical",
                                                    "name": "agent", "cap": 10}]})
    agent = next(e for e in m["inputs"] if e["name"] == "agent")
    assert agent["rejects_by_reason"]["over_cap"] == 14 and agent["used"] == 10


def test_exports_carry_the_masks(data_dir: Path, tmp_path: Path) -> None:
    _build(tmp_path / "out")
    rows = _lines(tmp_path / "out" / "agentflan.jsonl")
    assert all(t["role"] in ("system", "user", "assistant") for r in rows for t in r["messages"])
    # Whole turns hold only per-turn masks: what balancing masked inside a supervised turn is counted.
    masks = {o.get("format"): o.get("masks") for o in json.loads((tmp_path / "out" / "manifest.json").read_text())["outputs"]}
    assert masks["agentflan"]["held"] == "turns" and masks["agentflan"]["masked_spans"] > 0
    assert masks["openai"]["masked_spans_trained"] == masks["openai"]["masked_spans"]  # labels TRL ignores
    assert 0 <= masks["agentflan"]["masked_spans_trained"] <= masks["agentflan"]["masked_spans"]
    openai = _lines(tmp_path / "out" / "openai.jsonl")
    assert any(m.get("tool_calls") for r in openai for m in r["messages"])


def test_a_named_local_tokenizer_counts_the_tokens(data_dir: Path, tmp_path: Path) -> None:
    from agentflan.train.config import TinyModel
    from agentflan.train.synthetic import synthetic_corpus
    from agentflan.train.tiny import train_tokenizer

    tok_dir = tmp_path / "tok"
    train_tokenizer(synthetic_corpus(50), TinyModel(vocab_size=400)).save_pretrained(tok_dir)
    m = _build(tmp_path / "out", tokenizer=str(tok_dir))
    cap = m["capability_tokens"]
    assert cap["counted_with"] == f"tokenizer:{tok_dir}"
    approx = _build(tmp_path / "approx")["capability_tokens"]
    assert cap["before"] != approx["before"]  # really counted by the tokenizer, not the approximation
    assert_balanced(cap)


def test_an_unloadable_tokenizer_fails_before_any_work(data_dir: Path, tmp_path: Path) -> None:
    from agentflan.errors import ConfigError

    with pytest.raises(ConfigError, match="tokenizer: cannot load"):
        _build(tmp_path / "out", tokenizer=str(tmp_path / "no-such-tokenizer"))
    assert not (tmp_path / "out").exists()


def test_a_record_that_cannot_be_aligned_is_counted_once(data_dir: Path, tmp_path: Path) -> None:
    from construct_fixtures import write_jsonl

    from agentflan.schema import Message, Trajectory

    bad = Trajectory(id="only-user", messages=[Message(role="user", content="hello?")])
    write_jsonl(data_dir / "agent" / "bad.jsonl", [bad.to_dict()])
    m = _build(tmp_path / "out", agent={"inputs": [
        {"path": "agent/agent.jsonl", "format": "canonical", "name": "agent"},
        {"path": "agent/bad.jsonl", "format": "canonical", "name": "bad"}]})
    entry = next(e for e in m["inputs"] if e["name"] == "bad")
    assert (entry["read"], entry["used"], entry["rejected"]) == (1, 0, 1)
    assert entry["rejects_by_reason"] == {"align:no_assistant_turn": 1}
    rejects = _lines(tmp_path / "out" / "rejects.jsonl")
    assert [r["reason"] for r in rejects if r.get("item") == "only-user"] == ["align:no_assistant_turn"]
    assert len(rejects) == m["rejected"]


def test_general_data_in_openai_and_sharegpt_form(data_dir: Path, tmp_path: Path) -> None:
    from construct_fixtures import write_jsonl

    write_jsonl(data_dir / "chat" / "openai.jsonl", [
        {"messages": [{"role": "user", "content": f"Say {i}."}, {"role": "assistant", "content": f"{i}!"}]}
        for i in range(5)])
    write_jsonl(data_dir / "chat" / "sharegpt.jsonl", [
        {"conversations": [{"from": "human", "value": f"Echo {i}"}, {"from": "gpt", "value": f"Echo {i}"}]}
        for i in range(5)])
    m = _build(tmp_path / "out", general={"inputs": [{"path": "chat/openai.jsonl", "name": "oa"},
                                                      {"path": "chat/sharegpt.jsonl", "name": "sg"}], "ratio": 10})
    general = [r for r in _lines(tmp_path / "out" / "canonical.jsonl") if r["metadata"]["kind"] == "general"]
    # all used (the ratio asks for more than exist); by_source also counts negatives made from their queries
    assert Counter(r["metadata"]["source"] for r in general) == {"oa": 5, "sg": 5}
    assert m["mix"]["general_used"] == 10 and m["mix"]["general_wanted"] > 10
    assert {p["capability"] for r in general for msg in r["messages"] for p in msg.get("parts", [])} == {"general"}


def test_output_does_not_depend_on_input_order(data_dir: Path, tmp_path: Path) -> None:
    a = _build(tmp_path / "a")
    agent_file = data_dir / "agent" / "agent.jsonl"
    lines = agent_file.read_text(encoding="utf-8").splitlines(keepends=True)
    agent_file.write_text("".join(reversed(lines)), encoding="utf-8")
    b = _build(tmp_path / "b")
    sha = {o["path"]: o["sha256"] for o in a["outputs"]}
    assert {o["path"]: o["sha256"] for o in b["outputs"]}["canonical.jsonl"] == sha["canonical.jsonl"]
    assert {o["path"]: o["sha256"] for o in b["outputs"]}["openai.jsonl"] == sha["openai.jsonl"]


def test_finished_only_leaves_out_unfinished_trajectories_by_reason(data_dir: Path, tmp_path: Path) -> None:
    from construct_fixtures import agent_traj, write_jsonl

    from agentflan.schema import Message, ToolCall

    full = agent_traj(90)
    give_up = Message(role="assistant", tool_calls=[ToolCall(name="Finish",
                                                             arguments={"return_type": "give_up_and_restart"})])
    write_jsonl(data_dir / "agent" / "steps.jsonl", [
        full.model_copy(update={"id": "cut", "messages": full.messages[:4]}).to_dict(),
        full.model_copy(update={"id": "first-step", "messages": full.messages[:2]}).to_dict(),
        full.model_copy(update={"id": "gave-up", "messages": [*full.messages[:3], give_up]}).to_dict(),
        full.model_copy(update={"id": "whole"}).to_dict()])
    inputs = [{"path": "agent/agent.jsonl", "format": "canonical", "name": "agent"},
              {"path": "agent/steps.jsonl", "format": "canonical", "name": "steps"}]
    kept = _build(tmp_path / "all", agent={"inputs": inputs})
    m = _build(tmp_path / "finished", agent={"inputs": inputs, "finished_only": True})
    steps = next(e for e in m["inputs"] if e["name"] == "steps")
    assert steps["rejects_by_reason"] == {"unfinished:call_only": 1, "unfinished:ends_on_call": 1,
                                          "unfinished:gave_up": 1}
    assert steps["read"] == 4 and steps["used"] == 1
    assert next(e for e in kept["inputs"] if e["name"] == "steps")["used"] == 4
    rejects = {r["item"]: r["reason"] for r in _lines(tmp_path / "finished" / "rejects.jsonl") if r.get("item")}
    assert rejects["cut"] == "unfinished:ends_on_call" and rejects["gave-up"] == "unfinished:gave_up"


def test_manifest_reports_rewrites_grounding_and_the_negative_share(data_dir: Path, tmp_path: Path) -> None:
    from construct_fixtures import agent_traj, write_jsonl

    from agentflan.schema import Message

    react_prompt = Message(role="system", content="Answer in this format:\nThought: ...\nAction: ...")
    write_jsonl(data_dir / "agent" / "agent.jsonl", [
        agent_traj(i).model_copy(update={"messages": [react_prompt, *agent_traj(i).messages]}).to_dict()
        for i in range(24)])
    m = _build(tmp_path / "out", alignment={"react_fraction": 0.0},
               negatives={"share": 0.2, "kinds": {"no_tools_needs_tool": 1, "irrelevant_tools_needs_tool": 1},
                          "tool_pools": [{"path": "pool/pool.jsonl", "format": "canonical", "name": "pool"}]})
    assert m["prompt_rewrites"] == {"system:format_instructions": 24}
    assert m["instruct"]["made"] == 6 and m["instruct"]["ungrounded"] == 0
    agent_side = m["by_kind"]["agent"] + m["by_kind"]["react"] + m["by_kind"]["instruct"]
    assert sum(m["negatives_requested"].values()) == round(0.2 / 0.8 * agent_side)
    assert m["negative_share"]["actual"] == round(m["by_kind"]["negative"] / (agent_side + m["by_kind"]["negative"]),
                                                  4)
    assert m["negatives"]["no_tools_needs_tool"] == m["negatives"]["irrelevant_tools_needs_tool"] > 0
    assert m["negatives_skipped"] == {}  # every fixture query is distinct and usable
    for row in _lines(tmp_path / "out" / "canonical.jsonl"):
        if row["metadata"].get("rendering") == "chat":
            assert "Thought:" not in row["messages"][0]["content"]
