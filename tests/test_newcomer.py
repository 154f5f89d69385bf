"""Issue 12, a new user's first hour: a missing extra or model folder is one line that says what to do, generated
files stay under out/ or runs/, and summaries explain their reject counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.pipeline.reasons import explain

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    """``agentflan ARGS`` as after ``pip install -e .``: torch cannot be imported."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from agentflan.cli import app\n"
            f"app({list(args)!r}, prog_name='agentflan')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_train_without_the_train_extra_says_what_to_install(tmp_path: Path) -> None:
    done = _without_torch("train", "recipes/train/tiny-cpu.yaml", "--set", f"output_dir={tmp_path}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(_flat(done.stderr)) < 200 and "pip install 'agentflan[train]'" in _flat(done.stderr), lines


def test_eval_with_a_local_model_without_the_eval_extra(tmp_path: Path) -> None:
    done = _without_torch("eval", "run", "--bench", "bfcl.irrelevance", "--limit", "1", "--model", str(tmp_path),
                          "-o", str(tmp_path / "r"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "pip install 'agentflan[eval]'" in _flat(done.stderr)


def test_a_missing_extra_module_anywhere_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from agentflan.cli._common import handle_errors

    @handle_errors
    def needs_peft() -> None:
        raise ModuleNotFoundError("No module named 'peft'", name="peft")

    with pytest.raises(typer.Exit) as exc:
        needs_peft()
    assert exc.value.exit_code == 1
    assert capsys.readouterr().err.strip() == ("error: this command needs the [train] extra (peft not installed): "
                                               "pip install 'agentflan[train]'")

    @handle_errors
    def unrelated() -> None:
        raise ModuleNotFoundError("No module named 'mymodule'", name="mymodule")

    with pytest.raises(ModuleNotFoundError):  # not an extra of ours: a real bug, shown as one
        unrelated()


def test_eval_run_with_a_model_folder_that_is_not_there(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "run", "--bench", "bfcl.irrelevance", "--limit", "1", "--model",
                                 "/nonexistent", "-o", str(tmp_path / "r")])
    out = _flat(result.output)
    assert result.exit_code == 1 and "--model /nonexistent: no such model folder" in out
    assert "repo" not in out.lower() and not (tmp_path / "r").exists()


def test_generated_files_in_examples_go_under_out_or_runs() -> None:
    """Every output path in the commands' --help examples and the docs is under out/, runs/ or a temp folder."""
    import re

    texts = [runner.invoke(app, [*cmd, "--help"]).output for cmd in
             (["convert"], ["build"], ["audit"], ["train"], ["eval", "run"], ["eval", "classify"])]
    texts += [p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]]
    found = []
    for text in texts:
        for m in re.finditer(r"(?:(?<=\s)-o\s+|--output\s+|--labels-html\s+|output_dir=)([^\s`'\"]+)", text):
            target = m.group(1)
            placeholder = target.startswith(("-", "$", "<")) or target.split("/")[0].isupper()
            if not placeholder and not target.startswith(("out/", "runs/", "/tmp/")):
                found.append(target)
    assert found == []


def test_gitignore_covers_generated_files() -> None:
    ignored = subprocess.run(["git", "check-ignore", "out/x.jsonl", "runs/tiny/model", "labels.html"],
                             cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == ["out/x.jsonl", "runs/tiny/model", "labels.html"]


def test_summaries_explain_their_rejects() -> None:
    line = explain({"over_cap": 520}, "out/demo/rejects.jsonl")
    assert "\n" not in line and "cap" in line and "by design" in line and "out/demo/rejects.jsonl" in line
    many = explain({"over_cap": 5, "truncated_json": 3, "invalid_role": 2, "flagged:unknown_tool": 1, "x": 1},
                   "r.jsonl")
    assert many.startswith("rejected 12: over_cap=5") and "cut off" in many and "doubtful calls" in many
    assert "1 more reason" in many
    assert explain({}, "r.jsonl") == "rejected 0"

