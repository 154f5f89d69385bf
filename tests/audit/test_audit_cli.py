"""`agentflan audit` end to end on a small fixture corpus: reports, exit codes, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from audit_fixtures import built_agent, built_negative, call_traj, write_jsonl
from typer.testing import CliRunner

from agentflan.cli import app

runner = CliRunner()


def _audit(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.output


def test_help_has_an_example() -> None:
    code, out = _audit("--help")
    assert code == 0 and "Example" in out and "agentflan audit" in out


def test_report_json_and_html(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    code, text = _audit(str(corpus), "-o", str(out), "-q")
    assert code == 0, text
    report = json.loads((out / "report.json").read_text())
    for key in ("format_share", "capability_tokens", "negative_coverage", "validity", "duplicates",
                "contamination", "records", "rejected"):
        assert key in report
    assert report["records"] == 5 and report["rejected"] == 2 and report["read"] == 7
    assert set(report["rejects_by_reason"]) == {"truncated_json", "invalid_json"}
    assert 0 < report["format_share"] < 1
    assert {"tools_call", "tools_no_call", "no_tools_call", "no_tools_no_call"} <= set(report["negative_coverage"])
    assert report["validity"]["unknown_tool"] == 1 and report["validity"]["args_missing_required"] == 1
    assert report["duplicates"]["exact"]["duplicate_records"] == 1
    # every example id named by a finding resolves to where it came from
    assert report["validity_details"]["rules"]["unknown_tool"]["examples"] == ["unknown"]
    assert report["examples"]["unknown"]["line"] == 1 and "Paris" in report["examples"]["unknown"]["query"]
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 4
    # self-contained: nothing fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    assert 'href="#ex-' in html and 'id="ex-' in html


def test_fail_on_trips_and_passes(corpus: Path, tmp_path: Path) -> None:
    code, text = _audit(str(corpus), "-o", str(tmp_path / "a"), "-q", "--fail-on", "invalid_calls>0.01")
    assert code == 1 and "invalid_calls>0.01" in text
    tripped = json.loads((tmp_path / "a" / "report.json").read_text())["fail_on"]["tripped"]
    assert tripped == [{"rule": "invalid_calls>0.01", "metric": "invalid_calls", "value": 0.4}]
    code, text = _audit(str(corpus), "-o", str(tmp_path / "b"), "-q", "--fail-on", "invalid_calls>0.5")
    assert code == 0, text


def test_usage_errors_exit_2(corpus: Path, tmp_path: Path) -> None:
    code, text = _audit(str(corpus), "-o", str(tmp_path / "c"), "--fail-on", "invalid_calls>>1")
    assert code == 2 and "cannot parse" in text
    assert not (tmp_path / "c").exists()  # nothing read or written before the rule was checked
    code, _ = _audit(str(corpus), "-o", str(tmp_path / "d"), "--from", "no-such-format")
    assert code == 2


def test_missing_input_exits_1(tmp_path: Path) -> None:
    code, text = _audit(str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "e"))
    assert code == 1 and "no such file" in " ".join(text.split())


def test_against_lists_overlapping_ids(corpus: Path, tmp_path: Path) -> None:
    evalset = write_jsonl(tmp_path / "eval.jsonl", [call_traj("eval-1", query="What is the weather in Paris "
                                                                             "today? Answer briefly.")])
    code, text = _audit(str(corpus), "-o", str(tmp_path / "f"), "-q", "--against", str(evalset), "--ngram", "6",
                        "--fail-on", "contamination>0")
    assert code == 1, text
    c = json.loads((tmp_path / "f" / "report.json").read_text())["contamination"]
    assert c["checked"] and c["contaminated"] == 4  # the Paris queries, not the Berlin one
    assert {o["against_id"] for o in c["overlaps"]} == {"eval-1"}


def test_built_output_has_all_circumstances_and_low_format(tmp_path: Path) -> None:
    built = write_jsonl(tmp_path / "canonical.jsonl", [
        built_agent("a1"), built_agent("a2"),
        built_negative("n1", "tools_given_no_need", tools=True),
        built_negative("n2", "no_tools_needs_tool", tools=False),
        built_negative("n3", "irrelevant_tools_needs_tool", tools=True),
    ])
    raw = write_jsonl(tmp_path / "raw.jsonl", [call_traj("r1"), call_traj("r2", arguments={"city": "Oslo"})])
    general = tmp_path / "general.jsonl"
    general.write_text(json.dumps({"id": "g1", "metadata": {"kind": "general"}, "messages": [
        {"role": "user", "parts": [{"text": "Write a haiku about rain."}]},
        {"role": "assistant", "parts": [{"text": "Soft rain on the roof"}]}]}) + "\n")
    code, text = _audit(str(built), str(general), str(raw), "-o", str(tmp_path / "g"), "-q")
    assert code == 0, text
    r = json.loads((tmp_path / "g" / "report.json").read_text())
    built_src = next(s for s in r["format"]["by_source"] if s.endswith("canonical.jsonl"))
    raw_src = next(s for s in r["format"]["by_source"] if s.endswith("raw.jsonl"))
    assert r["format"]["by_source"][built_src]["format_share"] < 0.05
    assert r["format"]["by_source"][raw_src]["format_share"] > 0.3
    assert r["negative_coverage"]["circumstances_present"] == 4
    assert r["negative_coverage"]["negative_types"] == {"irrelevant_tools_needs_tool": 1, "no_tools_needs_tool": 1,
                                                        "tools_given_no_need": 1}
    assert r["capability_tokens"]["general"] > 0 and r["capability_tokens"]["abstain"] > 0


def test_every_listed_example_id_resolves(corpus: Path, tmp_path: Path) -> None:
    _audit(str(corpus), "-o", str(tmp_path / "h"), "-q")
    r = json.loads((tmp_path / "h" / "report.json").read_text())
    listed = set(r["negative_coverage"]["examples"]["tools_call"]) | set(r["format"]["examples"])
    listed |= {i for g in r["duplicates"]["exact"]["examples"] for i in g["ids"]}
    assert listed and listed <= set(r["examples"])


def test_a_renderer_failure_is_counted_not_fatal(corpus: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import agentflan.audit.run as run_module

    real = run_module.model_view

    def flaky(traj):  # type: ignore[no-untyped-def]
        if traj.id == "unknown":
            raise ValueError("renderer bug")
        return real(traj)

    monkeypatch.setattr(run_module, "model_view", flaky)
    report = run_module.run_audit([corpus], tmp_path / "v", run_module.AuditOptions(show_progress=False)).report
    assert report["records"] == 5
    assert report["view_errors"]["count"] == 1
    assert report["view_errors"]["examples"] == {"ValueError: renderer bug": ["unknown"]}
    assert "unknown" in report["examples"]
    assert "renderer bug" in (tmp_path / "v" / "report.html").read_text()
