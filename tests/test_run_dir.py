"""Issue 12, outputs: nothing clobbered, nothing left behind, reproducible bytes, and a kill at any point of
moving the outputs into place leaves the old complete state or the new one (`agentflan.pipeline.run`)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.pipeline import executors
from agentflan.pipeline import run as rundir
from agentflan.pipeline.run import RunDir, recover
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, ToolCall, Trajectory
from kills import run_killed

runner = CliRunner()


def _traj(i: int) -> str:
    return Trajectory(id=f"t{i}", messages=[
        Message(role="user", content=f"Weather {i}?"),
        Message(role="assistant", tool_calls=[ToolCall(id="c", name="weather", arguments={"city": f"C{i}"})]),
        Message(role="tool", content="{}", tool_call_id="c", name="weather"),
        Message(role="assistant", content=f"Sunny in C{i}.")]).to_json()


def _input(path: Path, n: int, bad: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([_traj(i) for i in range(n)] + ["{broken"] * bad) + "\n")
    return path


def _convert(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["convert", *args, "-q"])
    return result.exit_code, " ".join(result.output.split())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- refusals ------------------------------------------------------------------------------------------------

def test_convert_never_overwrites_its_input(tmp_path: Path) -> None:
    src = _input(tmp_path / "x.jsonl", 3)
    before = src.read_bytes()
    code, out = _convert(str(src), "--to", "canonical", "-o", str(src))
    assert code == 2 and "is the input" in out and "Traceback" not in out
    assert src.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]
    # Nor its rejects or manifest sidecar, nor a file inside an input folder.
    code, out = _convert(str(tmp_path / "x.jsonl"), "-o", str(tmp_path / "x"))
    assert code == 0
    code, _ = _convert(str(tmp_path / "x.rejects.jsonl"), "-o", str(tmp_path / "x"))
    assert code == 2
    code, out = _convert(str(tmp_path), "-o", str(tmp_path / "all.jsonl"))
    assert code == 2 and "inside the input folder" in out
    # --overwrite says the user means it: the file becomes its own conversion.
    code, _ = _convert(str(src), "--to", "canonical", "-o", str(src), "--overwrite")
    assert code == 0 and src.read_bytes() != before
    assert json.loads(src.with_name("x.jsonl.manifest.json").read_text())["read"] == 4


def test_convert_replaces_only_its_own_earlier_output(tmp_path: Path) -> None:
    src = _input(tmp_path / "in" / "x.jsonl", 3)
    mine = tmp_path / "mine.jsonl"
    mine.write_text("precious\n")
    code, out = _convert(str(src), "-o", str(mine))
    assert code == 2 and "--overwrite" in out and mine.read_text() == "precious\n"
    target = tmp_path / "out.jsonl"
    assert _convert(str(src), "-o", str(target)) == (0, "")
    assert _convert(str(src), "-o", str(target))[0] == 0  # an earlier convert output: replaced
    build_manifest = tmp_path / "b.jsonl.manifest.json"
    build_manifest.write_text(json.dumps({"agentflan_version": "0", "command": "build"}))
    assert _convert(str(src), "-o", str(tmp_path / "b.jsonl"))[0] == 2  # another command's output


@pytest.mark.parametrize("target", ["existing_dir", "under_a_file"])
def test_bad_output_paths_are_usage_errors(tmp_path: Path, target: str) -> None:
    src = _input(tmp_path / "x.jsonl", 2)
    (tmp_path / "existing_dir").mkdir()
    out = tmp_path / "existing_dir" if target == "existing_dir" else src / "out.jsonl"
    result = runner.invoke(app, ["convert", str(src), "-o", str(out)])
    assert result.exit_code == 2 and "usage error" in result.output and "Traceback" not in result.output


# -- stale temporaries, reproducible bytes, the manifest -------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    src = _input(tmp_path / "in" / "x.jsonl", 2)
    out = tmp_path / "out.jsonl"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead, dead2 = _dead_pid(), _dead_pid()
    (tmp_path / f".out.jsonl.tmp-{dead}").write_bytes(b"x" * 1000)  # what an old killed RecordSink left
    (tmp_path / f".out.jsonl.rejects.jsonl.tmp-{dead}").write_text("x")
    (tmp_path / f".out.jsonl.tmp-{dead2}").mkdir()  # a dead run's folder, without a manifest
    try:
        (tmp_path / f".out.jsonl.tmp-{live.pid}").write_text("a run still writing")
        (tmp_path / ".other.jsonl.tmp-1").write_text("not this output's")
        assert _convert(str(src), "-o", str(out))[0] == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
            "in", "out.jsonl", "out.jsonl.rejects.jsonl", "out.jsonl.manifest.json", f".out.jsonl.tmp-{live.pid}",
            ".other.jsonl.tmp-1"])
    finally:
        live.kill()
        live.wait()


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    src = _input(tmp_path / "x.jsonl", 50)
    a, b = tmp_path / "a" / "o.jsonl.gz", tmp_path / "b" / "o.jsonl.gz"
    assert _convert(str(src), "-o", str(a))[0] == 0
    time.sleep(1.1)  # a header with a time in it would differ now
    assert _convert(str(src), "-o", str(b))[0] == 0
    data = a.read_bytes()
    assert data == b.read_bytes()
    assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"  # no FNAME flag, mtime 0
    assert len(gzip.decompress(data).splitlines()) == 50


def test_the_manifest_says_what_ran_and_what_was_read(tmp_path: Path) -> None:
    from agentflan.pipeline.convert import convert

    fixtures = Path(__file__).parent / "formats" / "fixtures" / "fc" / "bfcl"
    result = convert([fixtures / "BFCL_v4_demo_simple.json"], "auto", "openai", tmp_path / "o.jsonl",
                     show_progress=False, argv=["convert", "x"])
    m = result.manifest
    assert (m["command"], m["argv"], m["agentflan_version"]) == ("convert", ["convert", "x"], "0.1.0")
    assert m["output"]["path"] == "o.jsonl" and [o["path"] for o in m["outputs"]] == ["o.jsonl", "o.jsonl.rejects.jsonl"]
    answers = fixtures / "possible_answer" / "BFCL_v4_demo_simple.json"
    assert m["side_files"] == [{"path": str(answers), "sha256": _sha(answers)}]
    assert m["inputs"][0]["side_files"] == 1
    assert json.loads(result.manifest_path.read_text()) == m


def test_runs_that_fail_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), RunDir(tmp_path / "out", "build") as run:
        run.sink("a.jsonl").write({"a": 1})
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_record_that_is_not_strict_json_is_rejected_not_written(tmp_path: Path) -> None:
    with RunDir(tmp_path / "out", "test") as run:
        sink = run.sink("a.jsonl")
        sink.write({"a": 1})
        with pytest.raises(ValueError, match="non_finite_number"):
            sink.write({"a": float("nan")})
        with pytest.raises(ValueError, match="lone_surrogate"):
            sink.write({"a": "\ud800"})
        run.manifest()
    assert (tmp_path / "out" / "a.jsonl").read_text() == '{"a":1}\n'
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["outputs"][0]["records"] == 1


def test_the_counts_must_add_up(tmp_path: Path) -> None:
    from agentflan.errors import AgentflanError

    with pytest.raises(AgentflanError, match="internal error"), RunDir(tmp_path / "o", "test") as run:
        run.manifest(read=3, written=1, rejected=1)
    assert not (tmp_path / "o").exists()


# -- kills at every rename point ---------------------------------------------------------------------------------

def _file_state(out: Path, old: dict[str, str], new: dict[str, str]) -> str:
    names = [out.name, f"{out.name}.rejects.jsonl"]
    shas = {n: _sha(out.parent / n) for n in names if (out.parent / n).exists()}
    manifest = out.with_name(f"{out.name}.manifest.json")
    if manifest.exists():
        # A manifest present always describes the outputs beside it.
        listed = {o["path"]: o["sha256"] for o in json.loads(manifest.read_text())["outputs"]}
        assert listed == shas
    if shas == old and manifest.exists():
        return "old"
    if shas == new and manifest.exists():
        return "new"
    return "incomplete"


def test_a_convert_killed_at_every_rename_point_leaves_old_or_new(tmp_path: Path) -> None:
    old_in, new_in = _input(tmp_path / "old.jsonl", 3, bad=1), _input(tmp_path / "new.jsonl", 5, bad=2)
    states = {}
    for name, src in (("old", old_in), ("new", new_in)):
        ref = tmp_path / name / "out.jsonl"
        assert _convert(str(src), "-o", str(ref))[0] == 0
        states[name] = {ref.name: _sha(ref), f"{ref.name}.rejects.jsonl": _sha(ref.with_name("out.jsonl.rejects.jsonl"))}
    assert states["old"] != states["new"]
    n = 1
    seen = []
    while True:
        folder = tmp_path / f"kill{n}"
        out = folder / "out.jsonl"
        assert _convert(str(old_in), "-o", str(out))[0] == 0
        code = run_killed(tmp_path, n, ["convert", str(new_in), "-o", str(out), "-q"])
        before = _file_state(out, states["old"], states["new"])
        recover(out, file=True)  # what the next run does first
        after = _file_state(out, states["old"], states["new"])
        assert after in ("old", "new"), (n, before)
        assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
        seen.append((before, after))
        if code == 0:
            break
        n += 1
    # 5 steps: remove the old manifest, move the output, move the rejects, move the manifest, remove the folder.
    assert n == 6
    assert seen == [("old", "old"), ("incomplete", "new"), ("incomplete", "new"), ("incomplete", "new"),
                    ("new", "new"), ("new", "new")]


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    src = _input(tmp_path / "x.jsonl", 30_000)
    proc = subprocess.Popen([sys.executable, "-m", "agentflan", "convert", str(src), "-o", str(tmp_path / "o.jsonl"),
                             "--workers", "3", "-q"], env={**os.environ, executors.ALWAYS_ENV: "1"})
    # --workers 3: this process and two spawned ones
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while len(workers) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the workers never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 20
    while any(_running(w) for w in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_running(w) for w in workers)
    # The next run cleans up the killed run's temporary folder.
    assert runner.invoke(app, ["convert", str(src), "-o", str(tmp_path / "o.jsonl"), "-q"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl", "o.jsonl.manifest.json",
                                                          "o.jsonl.rejects.jsonl", "x.jsonl"]


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (spawned workers may sit under a resource tracker)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*/children") if Path(f"/proc/{p}").exists() else []:
            for child in task.read_text().split():
                found.append(int(child))
                todo.append(int(child))
    return [c for c in found if "resource_tracker" not in _cmdline(c)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    return rundir.pid_alive(pid)


def test_reject_paths_are_the_inputs_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _input(Path("data/x.jsonl"), 2, bad=1)
    assert _convert("data", "-o", "o.jsonl")[0] == 0
    (rej,) = [json.loads(line) for line in Path("o.jsonl.rejects.jsonl").read_text().splitlines()]
    assert rej["source"] == "data/x.jsonl"
    rows = [json.loads(line) for line in Path("o.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rows} == {"t0", "t1"}
    assert Reject("a", "r").to_dict()["source"] == "a"
