"""``python -m agentflan`` is the ``agentflan`` command (for machines where only the package path is set)."""

from __future__ import annotations

import subprocess
import sys

from agentflan import __version__


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "agentflan", "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_python_dash_m_bad_usage_exits_2():
    done = subprocess.run([sys.executable, "-m", "agentflan", "no-such-command"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2


def test_main_leaves_what_the_imports_made_to_the_exit(monkeypatch):
    """The command's objects are frozen out of the interpreter's last collection (about 35 ms of every command),
    whether the command succeeded or failed."""
    import gc

    import pytest

    from agentflan.cli import main

    for argv, code in ((["agentflan", "--version"], 0), (["agentflan", "no-such-command"], 2)):
        monkeypatch.setattr(sys, "argv", argv)
        gc.unfreeze()
        try:
            with pytest.raises(SystemExit) as exc:
                main()
            assert (exc.value.code or 0) == code
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()


def test_python_dash_m_writes_its_output_whole(tmp_path):
    """Nothing the command wrote is lost to the quick exit: the output, its rejects and manifest are complete."""
    import json

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                    {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                           for i in range(50)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-m", "agentflan", "convert", str(src), "--to", "openai", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 50
    assert json.loads(out.with_name("out.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert "50" in done.stdout + done.stderr


def test_a_named_command_runs_from_an_app_that_holds_it_alone():
    import typer.main

    from agentflan.cli import COMMANDS, app, for_args

    for args in ([], ["--help"], ["--version", "convert"], ["convrt", "x"], ["-h", "build"]):
        assert for_args(args) is app
    for name in COMMANDS:
        solo = for_args([name, "--help"])
        assert solo is not app
        assert list(typer.main.get_command(solo).commands) == [name]  # type: ignore[attr-defined]


def test_a_command_explains_and_refuses_itself_the_same_alone():
    from typer.testing import CliRunner

    from agentflan.cli import COMMANDS, app, for_args

    runner = CliRunner()
    lines = [[name, "--help"] for name in COMMANDS] + [["eval", "classify", "--help"], ["convert", "--no-such"],
                                                       ["build"], ["eval", "nosuch"]]
    for args in lines:
        whole = runner.invoke(app, args, prog_name="agentflan")
        alone = runner.invoke(for_args(args), args, prog_name="agentflan")
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args
