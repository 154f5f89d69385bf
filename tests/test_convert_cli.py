"""`agentflan convert` as a user runs it: exit codes, rejects with file/line/reason, counts that add up."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentflan.cli import app

runner = CliRunner()


def _flat(text: str) -> str:
    """Rich wraps messages at the terminal width, which differs between a terminal and CI."""
    return " ".join(text.split())

GOOD = {"messages": [{"role": "user", "content": "Weather in Paris?"},
                     {"role": "assistant", "content": "", "tool_calls": [
                         {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
                     {"role": "tool", "tool_call_id": "c1", "content": "21"},
                     {"role": "assistant", "content": "It is 21 °C."}],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}


def _bad_args() -> dict:
    rec = json.loads(json.dumps(GOOD))
    rec["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"city": '
    return rec


def _unknown_tool() -> dict:
    rec = json.loads(json.dumps(GOOD))
    rec["messages"][1]["tool_calls"][0]["function"]["name"] = "forecast"
    return rec


def test_bad_records_are_rejected_and_the_rest_converted(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [json.dumps(GOOD), json.dumps(GOOD)[:40], json.dumps(_bad_args()), json.dumps(_unknown_tool()),
             '{"messages": "not a list"}']
    src.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(src), "--from", "openai", "--to", "canonical", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out.jsonl.manifest.json").read_text())
    rejects = [json.loads(x) for x in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert manifest["read"] == 6 == manifest["written"] + manifest["rejected"]
    assert len(written) == manifest["written"] == 2
    assert {r["line"]: r["reason"] for r in rejects} == {2: "truncated_json", 3: "args_not_json",
                                                        5: "wrong_type", 6: "invalid_utf8"}
    assert all(r["source"] == str(src) for r in rejects)
    assert manifest["rejects_by_reason"] == {"args_not_json": 1, "invalid_utf8": 1, "truncated_json": 1,
                                             "wrong_type": 1}
    # The call to a tool that is not offered parses, so it is kept and flagged, not rejected.
    assert [f["code"] for f in written[1]["flags"]] == ["unknown_tool"]
    assert manifest["flags_by_code"] == {"unknown_tool": 1}
    assert manifest["inputs"][0]["sha256"] and manifest["inputs"][0]["format"] == "openai"


def test_usage_and_input_errors_have_their_exit_codes(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(GOOD) + "\n")
    missing = runner.invoke(app, ["convert", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o.jsonl")])
    assert missing.exit_code == 1 and "no such file" in _flat(missing.output)
    bad_format = runner.invoke(app, ["convert", str(src), "--from", "bogus", "-o", str(tmp_path / "o.jsonl")])
    assert bad_format.exit_code == 2 and "unknown input format" in _flat(bad_format.output)
    no_output = runner.invoke(app, ["convert", str(src)])
    assert no_output.exit_code == 2
    assert not (tmp_path / "o.jsonl").exists()


def test_empty_file_is_one_reject(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    out = tmp_path / "o.jsonl"
    assert runner.invoke(app, ["convert", str(src), "-o", str(out), "-q"]).exit_code == 0
    manifest = json.loads((tmp_path / "o.jsonl.manifest.json").read_text())
    assert (manifest["read"], manifest["written"], manifest["rejects_by_reason"]) == (1, 0, {"empty_file": 1})


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["convert", "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_a_quiet_command_never_imports_rich_and_a_loud_one_prints(tmp_path: Path) -> None:
    """rich is a sixth of a command's start-up: a quiet run whose stderr is no terminal prints nothing through
    it, so it never imports it; a run that prints its summary or an error still does."""
    import subprocess
    import sys

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(GOOD) + "\n")

    def run(*args: str) -> list[str]:
        code = ("import sys\nfrom agentflan.cli import app\n"
                f"try:\n    app({list(args)!r}, prog_name='agentflan')\nexcept SystemExit:\n    pass\n"
                "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'rich'))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        return [done.stdout.splitlines()[-1], _flat(done.stdout + done.stderr)]

    quiet = run("convert", str(src), "--to", "openai", "-o", str(tmp_path / "q.jsonl"), "-q")
    assert quiet[0] == "[]" and (tmp_path / "q.jsonl").is_file()
    loud = run("convert", str(src), "--to", "openai", "-o", str(tmp_path / "l.jsonl"))
    assert "'rich.console'" in loud[0] and "written 1" in loud[1]
    failed = run("convert", str(tmp_path / "missing.jsonl"), "--to", "openai", "-o", str(tmp_path / "m.jsonl"), "-q")
    assert "'rich.console'" in failed[0] and "error:" in failed[1] and "missing.jsonl" in failed[1]
