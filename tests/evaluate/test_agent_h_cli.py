from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.evaluate import agent_h
from agentflan.evaluate.classify import classify

runner = CliRunner()


def _rec(category: str, fmt: str, outcome: str, text: str = "") -> dict:
    return {"category": category, "meta": {"format": fmt}, "outcome": outcome, "text": text}


def test_hscore_matches_the_paper() -> None:
    # Table 3, Agent-FLAN: H_ReAct 9.9, H_General 11.9 → 89.1 (the paper's Eq. 1 with its typo fixed).
    assert agent_h.hscore(9.9, 11.9) == 89.1
    assert agent_h.hscore(None, 1.0) is None


def test_keyword_rule_and_strict_classes_both_count() -> None:
    recs = [
        _rec("b", "react", "abstain", "Paris is in France."),
        _rec("c", "react", "abstain", "Thought: no tool fits."),  # keyword only: the paper's rule
        _rec("d", "react", "malformed", '{"name": "x", "argu'),  # a broken call: ours
        _rec("d", "react", "abstain", "Sure."),
        _rec("b", "general", "abstain", "I will use my knowledge: Paris."),  # the keyword rule's false positive
        _rec("c", "general", "abstain", "I cannot book flights."),
        _rec("a", "general", "call_correct"),
        _rec("a", "react", "call_wrong_args"),
    ]
    for r in recs:  # the fixture's outcomes are what the classifier gives its texts (no call scored abstain)
        if r["text"]:
            assert classify(r["text"], None).outcome == r["outcome"], r
    m = agent_h.metrics(recs)
    assert (m["H_ReAct"], m["H_General"], m["HScore"]) == (50.0, 50.0, 50.0)
    assert (m["react_keyword_rate"], m["react_strict_no_call_rate"]) == (25.0, 75.0)
    assert (m["call_accuracy"], m["call_accuracy_general"], m["call_accuracy_react"]) == (50.0, 100.0, 0.0)
    assert m["by_circumstance_format"]["d/react"]["outcomes"]["malformed"] == 1


@pytest.mark.integration
def test_build_is_seeded_and_complete(real_data: Path, tmp_path: Path) -> None:
    args = ["eval", "build-agent-h", "--data", str(real_data), "--limit", "20", "-q"]
    for name, seed in (("one", "1"), ("two", "1"), ("other", "2")):
        result = runner.invoke(app, [*args, "--seed", seed, "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    one = (tmp_path / "one" / "agent_h.jsonl").read_bytes()
    assert one == (tmp_path / "two" / "agent_h.jsonl").read_bytes()
    assert one != (tmp_path / "other" / "agent_h.jsonl").read_bytes()
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["by_circumstance_format"] == {f"{c}/{f}": 20 for c in "abcd" for f in ("react", "general")}
    assert not [i for i in manifest["inputs"] if i.get("missing")]
    samples = [json.loads(line) for line in one.decode().splitlines()]
    by_id = {s["id"]: s for s in samples}
    # The same query is posed at both format levels; a has the BFCL gold answer, b-d expect no call.
    for s in samples:
        twin = by_id[s["id"].replace("/react/", "/general/") if "/react/" in s["id"] else
                     s["id"].replace("/general/", "/react/")]
        assert twin["messages"][1] == s["messages"][1]
        assert (s["expected"] != []) == (s["category"] == "a")
        assert bool(s["tools"]) == (s["category"] in "ab")
        assert ("Thought:" in s["messages"][0]["content"]) == (s["meta"]["format"] == "react")


def test_classify_command_with_rejects(tmp_path: Path) -> None:
    weather = {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                 "required": ["city"]}}
    lines = [
        json.dumps({"id": "1", "reply": "No tool needed.", "tools": [weather]}),
        json.dumps({"id": "2", "reply": '<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>',
                    "tools": [weather], "expected": [{"name": "weather", "arguments": {"city": "Paris"}}]}),
        json.dumps({"id": "3", "reply": 'weather(city="Paris")', "tools": [weather], "expected": []}),
        '{"id": "4", "reply": ',  # undecodable
        json.dumps({"id": "5"}),  # no reply
        json.dumps({"id": "6", "reply": "x", "tools": "weather"}),  # tools of the wrong type
    ]
    src = tmp_path / "replies.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "read 6 = written 3 + rejected 3" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["outcome"]) for r in rows] == [("1", "abstain"), ("2", "call_correct"),
                                                      ("3", "call_wrong_tool")]
    assert rows[1]["calls"] == [{"name": "weather", "arguments": {"city": "Paris"}}]
    assert rows[2]["hallucination"] is True
    rejects = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [(4, "truncated_json"), (5, "missing_field"),
                                                          (6, "wrong_type")]
    assert all(r["source"] == str(src) for r in rejects)


def test_exit_codes(tmp_path: Path) -> None:
    assert runner.invoke(app, ["eval", "classify", str(tmp_path / "missing.jsonl"), "-o",
                               str(tmp_path / "o.jsonl")]).exit_code == 1
    assert runner.invoke(app, ["eval", "run", "--bench", "nope", "--model", "x", "-o", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["eval", "run", "--bench", "agent-h", "-o", str(tmp_path),
                               "--agent-h", str(tmp_path)]).exit_code == 1  # no agent_h.jsonl there
    assert runner.invoke(app, ["eval", "compare", str(tmp_path / "none")]).exit_code == 1
    for cmd in ("classify", "build-agent-h", "run", "compare"):
        result = runner.invoke(app, ["eval", cmd, "--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_classify_default_output_name(tmp_path: Path) -> None:
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": "1", "reply": "search[x]"}) + "\n")
    assert runner.invoke(app, ["eval", "classify", str(src), "-q"]).exit_code == 0
    row = json.loads((tmp_path / "replies.classified.jsonl").read_text())
    assert (row["outcome"], row["calls"]) == ("call", [{"name": "search", "arguments": {"input": "x"}}])


def _queries(path: Path) -> set[str]:
    return {json.loads(line)["messages"][1]["content"] for line in path.read_text().splitlines()}


@pytest.mark.integration
def test_exclude_leaves_out_every_training_query(real_data: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    assert runner.invoke(app, ["eval", "build-agent-h", "--data", str(real_data), "-q", "-o", str(plain)]).exit_code == 0
    samples = [json.loads(line) for line in (plain / "agent_h.jsonl").read_text().splitlines()]
    general = next(s["messages"][1]["content"] for s in samples if s["category"] == "d")
    # Training data of our own that asks one of Agent-H's general queries, inside a longer message.
    training = tmp_path / "train.jsonl"
    training.write_text(json.dumps({"messages": [{"role": "user", "content": f"Please help. {general}"},
                                                 {"role": "assistant", "content": "Done."}]}) + "\n")
    out = tmp_path / "excluded"
    result = runner.invoke(app, ["eval", "build-agent-h", "--data", str(real_data), "-o", str(out),
                                 "--exclude", str(training)])
    assert result.exit_code == 0, result.output
    assert "left out as seen in training (1 training records): " in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["excluded"]["dropped"] >= 1 and manifest["excluded"]["training_records"] == 1
    assert manifest["excluded"]["dropped"] == sum(i.get("excluded", 0) for i in manifest["inputs"])
    assert general in _queries(plain / "agent_h.jsonl") and general not in _queries(out / "agent_h.jsonl")


def test_exclude_of_a_missing_path_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "build-agent-h", "--data", str(tmp_path), "-o", str(tmp_path / "o"),
                                 "--exclude", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "nope.jsonl: no such file or folder" in " ".join(result.output.split())


@pytest.mark.integration
def test_agent_h_built_against_the_agent_flan_build_is_clean(real_data: Path, tmp_path: Path) -> None:
    from agentflan.audit.run import AuditOptions, run_audit

    build = tmp_path / "build"
    repo = Path(__file__).resolve().parents[2]
    assert runner.invoke(app, ["build", str(repo / "recipes" / "agent-flan.yaml"), "-o", str(build), "-q"]).exit_code == 0
    plain, clean = tmp_path / "plain", tmp_path / "clean"
    for out, extra in ((plain, []), (clean, ["--exclude", str(build)])):
        result = runner.invoke(app, ["eval", "build-agent-h", "--data", str(real_data), "-q", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output

    def overlap(agent_h_dir: Path) -> float:
        report = run_audit([agent_h_dir / "agent_h.jsonl"], agent_h_dir / "audit",
                           AuditOptions(show_progress=False, against=(build / "canonical.jsonl",))).report
        return report["contamination"]["share"]

    # The corpora the recipe trains on (self-instruct, ToolTalk, API-Bank) also feed Agent-H's b, c and d.
    assert overlap(plain) > 0.3
    assert overlap(clean) == 0.0
    manifest = json.loads((clean / "manifest.json").read_text())
    excluded = {i["path"]: i.get("excluded", 0) for i in manifest["inputs"]}
    assert excluded["api-bank/lv1-lv2-samples"] > 200 and excluded["self-instruct/seed_tasks.jsonl"] > 100
    assert manifest["by_circumstance"]["a"] == 400  # BFCL's gold calls are not in the training data


def test_run_exclude_needs_an_agent_h_built_on_the_fly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(tmp_path), "--exclude",
                                 str(tmp_path), "--endpoint", "http://localhost:1", "--model-name", "m",
                                 "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "build-agent-h --exclude" in " ".join(result.output.split())
