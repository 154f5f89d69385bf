"""`convert --workers N`: the same bytes as one process, whatever the containers, formats and rejects."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.pipeline import executors, machine
from agentflan.pipeline.convert import convert_batch
from agentflan.schema import Message, ToolCall, Trajectory

runner = CliRunner()
OTHERS_RUNNING = machine.others_running  # the real ones: the fixture below stands in for `cpu_of_others`
CPU_OF_OTHERS = machine.cpu_of_others


@pytest.fixture(autouse=True)
def workers_always_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs this small would run in one process (`executors.ProcessExecutor` measures first); here the
    workers must run."""
    monkeypatch.setattr(executors, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(executors, "STARTUP_SECONDS", 0.0)
    monkeypatch.setattr(executors, "WORK_WHILE_STARTING", False)
    monkeypatch.setattr(machine, "cpu_of_others", lambda mine=(): None)  # whatever else the machine runs meanwhile
    monkeypatch.setattr(machine, "_early", None)  # a reading taken when agentflan.cli was imported: unpatched


def _convert(inputs: list[Path], out: Path, workers: int, to: str = "openai") -> dict:
    result = runner.invoke(app, ["convert", *map(str, inputs), "--to", to, "-o", str(out), "-q",
                                 "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    return json.loads(out.with_name(out.name + ".manifest.json").read_text())


def _same_outputs(a: Path, b: Path) -> None:
    assert a.read_bytes() == b.read_bytes()
    rejects = ".rejects.jsonl"
    assert a.with_name(a.name + rejects).read_bytes() == b.with_name(b.name + rejects).read_bytes()


def _fixture(root: Path, n: int = 700) -> list[Path]:
    """Several files and formats, with records that fail to decode, to read and to write."""
    root.mkdir()
    calls = [Trajectory(id=f"t{i}", messages=[
        Message(role="user", content=f"Weather {i}?"),
        Message(role="assistant", tool_calls=[ToolCall(id="c", name="weather", arguments={"city": f"C{i}"})]),
        Message(role="tool", content="{}", tool_call_id="c", name="weather"),
        Message(role="assistant", content=f"Sunny in C{i}.")]).to_json() for i in range(n)]
    calls.insert(300, "{not json")
    calls.insert(500, json.dumps({"id": "x", "messages": [{"role": "wizard", "content": "?"}]}))
    (root / "a.jsonl").write_text("\n".join(calls) + "\n")
    react = [json.dumps({"messages": [{"role": "user", "content": f"Q{i}"},
                                      {"role": "assistant", "content": f"Thought: t\nAction: finish[{i}]"}]})
             for i in range(40)]
    (root / "b.jsonl").write_text("\n".join(react) + "\n")
    (root / "c.json").write_text("")  # empty: one reject
    return [root / "a.jsonl", root / "b.jsonl", root / "c.json"]


def test_workers_write_the_same_bytes(tmp_path: Path) -> None:
    inputs = _fixture(tmp_path / "in")
    one = _convert(inputs, tmp_path / "one.jsonl", 1)
    two = _convert(inputs, tmp_path / "two.jsonl", 3)
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")
    assert (one["executor"]["ran"], two["executor"]["ran"]) == ("local", "process")
    for m in (one, two):  # the outputs' names and the executor differ, nothing else
        del m["output"]["path"], m["executor"]
        for o in m["outputs"]:
            del o["path"]
    assert one == two
    assert one["read"] == one["written"] + one["rejected"] and one["rejected"] >= 3
    # A writer that refuses some records (sharegpt cannot hold a trailing tool result) counts the same too.
    _convert(inputs, tmp_path / "s1.jsonl", 1, to="sharegpt")
    _convert(inputs, tmp_path / "s2.jsonl", 2, to="sharegpt")
    _same_outputs(tmp_path / "s1.jsonl", tmp_path / "s2.jsonl")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_spooled_results_write_the_same_bytes_to_any_output(tmp_path: Path, suffix: str) -> None:
    """Batches large enough that the workers hand their lines over as spooled files (`spool`), into a plain, a
    compressed and a Parquet output, from a plain and a compressed input."""
    import gzip

    from agentflan.pipeline import spool

    inputs = _fixture(tmp_path / "in", n=3000)
    packed = tmp_path / "in" / "a2.jsonl.gz"
    packed.write_bytes(gzip.compress(inputs[0].read_bytes()))
    inputs.append(packed)
    assert inputs[0].stat().st_size / 12 > spool.MIN_BYTES  # batches of 256 of its records are spooled
    _convert(inputs, tmp_path / f"one{suffix}", 1)
    two = _convert(inputs, tmp_path / f"two{suffix}", 2)
    assert two["executor"]["ran"] == "process"
    assert (tmp_path / f"one{suffix}").read_bytes() == (tmp_path / f"two{suffix}").read_bytes()
    assert (tmp_path / f"one{suffix}.rejects.jsonl").read_bytes() == \
        (tmp_path / f"two{suffix}.rejects.jsonl").read_bytes()


@pytest.mark.integration
def test_workers_on_real_corpora(real_data: Path, tmp_path: Path) -> None:
    inputs = [real_data / "FireAct/gpt_format", real_data / "api-bank/lv1-lv2-samples",
              real_data / "ToolBench/data_example/answer"]
    one = _convert(inputs, tmp_path / "one.jsonl", 1)
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")
    assert one["inputs"] == two["inputs"] and one["rejects_by_reason"] == two["rejects_by_reason"]
    assert one["written"] > 2000


def test_workers_that_would_not_pay_off_are_not_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`process` measures the first batches; when the rest would take less than starting workers costs, it says so
    and finishes in this process, writing the same bytes."""
    monkeypatch.setattr(executors, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(executors, "STARTUP_SECONDS", 1e6)
    inputs = _fixture(tmp_path / "in")
    one = _convert(inputs, tmp_path / "one.jsonl", 1)
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")
    assert two["executor"]["name"] == "process" and two["executor"]["ran"] == "local"
    assert "would not pay off" in two["executor"]["note"]
    assert "note" not in one["executor"]


def test_one_cpu_runs_single(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "usable_cpus", lambda: 1)
    inputs = _fixture(tmp_path / "in")
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    assert two["executor"]["ran"] == "local" and "1 CPU(s) available" in two["executor"]["note"]


def test_executor_usage_errors(tmp_path: Path) -> None:
    src = _fixture(tmp_path / "in")[0]
    for args in (["--executor", "nope"], ["--executor", "local", "--workers", "2"], ["--ray-address", "x:1"]):
        result = runner.invoke(app, ["convert", str(src), "-o", str(tmp_path / "o.jsonl"), "-q", *args])
        assert result.exit_code == 2, (args, result.output)


def test_workers_slower_than_one_process_hand_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers that take longer than one process would have alone (their steps' CPU time and this process's:
    here they wait, as on a machine whose CPUs other work holds) finish their tasks in flight and leave the rest
    to this process, and it says why; the bytes are the same."""
    from agentflan.pipeline import convert as convert_module

    monkeypatch.setattr(convert_module, "convert_batch", _convert_batch_starved)
    monkeypatch.setattr(executors, "CHECK_SECONDS", 0.0)
    inputs = _fixture(tmp_path / "in", n=4000)  # more batches than the workers hold in flight
    one = _convert(inputs, tmp_path / "one.jsonl", 1)
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")
    note = two["executor"]["note"]
    assert two["executor"]["ran"] == "local" and note.startswith("2 workers took") and "finished in one" in note
    assert one["written"] == two["written"]


def _convert_batch_starved(task: Any, to_format: str) -> Any:
    if multiprocessing.parent_process() is not None:  # in a worker
        time.sleep(0.05)  # wall time without CPU time
    return convert_batch(task, to_format)


def test_batches_are_weighed_without_encoding_their_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's weight comes from the bytes the source read (a line's, a one-record document's), not from
    encoding the decoded records again (the first line of an auto-detected file is decoded to detect it)."""
    from agentflan.pipeline import batches
    from agentflan.pipeline.read import InputStats

    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    lines = tmp_path / "a.jsonl"
    lines.write_text("\n".join(json.dumps({**record, "id": f"r{i}"}) for i in range(5)) + "\n")
    document = tmp_path / "b.json"
    document.write_text(json.dumps({**record, "id": "d0"}, indent=2))

    def refuse(value: object) -> int:
        raise AssertionError("a record was encoded to be weighed")

    monkeypatch.setattr(batches, "_size", refuse)
    for path in (lines, document):
        tasks = list(batches.batches(path, "auto", InputStats(str(path), "")))
        assert [type(t).__name__ for t in tasks] == ["Batch"]
        size = path.stat().st_size
        assert tasks[0].weight() == size


def _processes_with(marker: str) -> dict[int, tuple[int, int]]:
    """The live processes whose environment holds ``marker`` (the command, the workers, and where they do not fork
    from the command its fork server and resource tracker): pid → (parent pid, niceness)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                fields = (proc / "stat").read_bytes().rpartition(b")")[2].split()
                if fields[0] != b"Z":
                    found[int(proc.name)] = (int(fields[1]), int(fields[16]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _workers_of(command: int, marker: str) -> dict[int, int]:
    """The command's workers (the processes it made that lower their priority, `workers.WORKER_NICENESS`): pid →
    parent pid."""
    found = _processes_with(marker)
    if command not in found:
        return {}
    nice = found[command][1]
    return {pid: parent for pid, (parent, niceness) in found.items() if pid != command and niceness > nice}


def _command(inputs: list[Path], out: Path, *options: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "agentflan", "convert", *map(str, inputs), "-o", str(out), "--workers", "2",
            *options]


def _marked_env(marker: str) -> dict[str, str]:
    name, value = marker.split("=")
    return {**os.environ, executors.ALWAYS_ENV: "1", name: value}


def _wait_for_workers(proc: object, marker: str, count: int = 2) -> dict[int, int]:
    deadline = time.monotonic() + 60
    while len(workers := _workers_of(proc.pid, marker)) < count:  # type: ignore[attr-defined]
        assert proc.poll() is None, "the command finished before its workers were seen"  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.02)
    return workers


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc (Linux)")
def test_a_killed_command_leaves_no_workers(tmp_path: Path) -> None:
    """Workers exit once the command is killed, instead of waiting on their task queue indefinitely (forked by
    a fork server, which they keep alive, or by the command itself)."""
    import signal
    import subprocess
    import uuid

    inputs = _fixture(tmp_path / "in", n=40_000)  # long enough to be killed mid-way
    marker = f"AGENTFLAN_KILL_TEST={uuid.uuid4().hex}"
    proc = subprocess.Popen(_command(inputs, tmp_path / "o.jsonl", "-q"), env=_marked_env(marker))
    _wait_for_workers(proc, marker)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left after the command was killed: {sorted(left)}"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="forks only where /proc lists threads (Linux)")
def test_workers_fork_from_the_command_while_its_progress_bar_shows(tmp_path: Path) -> None:
    """A command runs no thread but its own, the progress bar on a terminal included, so its workers fork from it
    (no fork server to wait for), and write the bytes one process writes."""
    import pty
    import uuid

    inputs = _fixture(tmp_path / "in", n=20_000)
    _convert(inputs, tmp_path / "one.jsonl", 1)
    marker = f"AGENTFLAN_FORK_TEST={uuid.uuid4().hex}"
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command, on a terminal, so that the bar shows
        try:
            argv = _command(inputs, tmp_path / "two.jsonl")
            os.execve(argv[0], argv, _marked_env(marker))
        finally:
            os._exit(127)

    class Child:
        def __init__(self) -> None:
            self.pid, self.status = pid, None

        def poll(self) -> int | None:
            if self.status is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                self.status = os.waitstatus_to_exitcode(status) if done else None
            return self.status

    child = Child()
    drawn = bytearray()
    os.set_blocking(terminal, False)
    try:
        workers = _wait_for_workers(child, marker)
        assert set(workers.values()) == {pid}, "the workers were not forked by the command"
        while child.poll() is None:
            try:
                drawn += os.read(terminal, 1 << 16)
            except (BlockingIOError, OSError):
                time.sleep(0.02)
    finally:
        if child.poll() is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(terminal)
    assert child.status == 0, drawn.decode(errors="replace")[-2000:]
    live = drawn.partition(b"\x1b[?25h")[0]  # what the bar drew before the live display gave the cursor back
    assert b"convert" in live and b" records" in live
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")


def test_workers_come_from_a_fork_server_while_another_thread_runs() -> None:
    """Forking copies other threads' locks in whatever state they are: with another thread running, workers come
    from a fork server (or are spawned) instead."""
    import threading

    from agentflan.pipeline import workers

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not workers.only_thread()
        pool = workers.spawn_pool(2)
        try:
            assert not workers.forks(pool)
        finally:
            pool.shutdown()
    finally:
        stop.set()
        other.join()


def test_convert_begins_its_workers_before_typer_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`convert --workers N` hands its raw option values to its early hook (which starts the workers' fork server
    for large inputs) before typer converts them; a command line that does not parse is left to typer."""
    from agentflan import cli

    seen: list[dict] = []
    monkeypatch.setitem(cli.EARLY, "convert", seen.append)
    inputs = _fixture(tmp_path / "in")
    _convert(inputs, tmp_path / "two.jsonl", 2)
    assert len(seen) == 1 and seen[0]["workers"] == "2" and seen[0]["inputs"] == tuple(map(str, inputs))
    bad = runner.invoke(app, ["convert", str(inputs[0]), "-o", str(tmp_path / "x.jsonl"), "--workers"])
    assert bad.exit_code == 2 and len(seen) == 1
    assert runner.invoke(app, ["--version"]).exit_code == 0 and len(seen) == 1


def test_a_worker_tells_a_live_command_from_a_dead_or_zombie_one() -> None:
    import subprocess
    import sys
    import time

    assert machine.start_time(os.getpid()) is not None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while machine.start_time(child.pid) is not None:  # exited, not yet reaped: a zombie counts as gone
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.wait()
    assert machine.start_time(child.pid) is None


def test_workers_are_not_started_while_other_work_holds_the_cpus(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """When, while this process measured, other processes kept the CPUs its workers would need busy (a loaded
    machine), it says so and runs alone, instead of handing back after workers have proved slower."""
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    # another process that keeps one CPU busy: its CPU time grows as fast as the clock
    monkeypatch.setattr(machine, "cpu_of_others",
                        lambda mine=(): (time.perf_counter(), time.perf_counter()))
    monkeypatch.setattr(machine.OtherWork, "MIN_SECONDS", 0.0)
    inputs = _fixture(tmp_path / "in")
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    assert two["executor"]["ran"] == "local" and "other work held the other CPU(s)" in two["executor"]["note"]
    monkeypatch.setattr(machine, "cpu_of_others", lambda mine=(): (time.perf_counter(), 0.0))  # a quiet machine
    assert _convert(inputs, tmp_path / "again.jsonl", 2)["executor"]["ran"] == "process"


def test_the_decision_waits_until_the_busy_check_can_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers that would clearly pay off are decided on at the first task, sooner than other work's CPU time
    can be measured: the decision then waits for the measurement instead of taking "unknown" for "idle"."""
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    monkeypatch.setattr(machine, "cpu_of_others", lambda mine=(): (time.perf_counter(), time.perf_counter()))
    monkeypatch.setattr(machine.OtherWork, "MIN_SECONDS", 0.1)  # longer than a task of this input takes
    two = _convert(_fixture(tmp_path / "in", n=6000), tmp_path / "two.jsonl", 2)
    assert two["executor"]["ran"] == "local" and "other work held the other CPU(s)" in two["executor"]["note"]


def test_an_early_reading_lets_the_busy_check_tell_at_once_and_serves_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading a command takes as it starts (`machine.watch_others_early`) serves the executor's busy check,
    which can then tell at the first task; only once, and only while it is recent."""
    monkeypatch.setattr(machine, "cpu_of_others", lambda mine=(): (time.perf_counter(), time.perf_counter()))
    monkeypatch.setattr(machine.OtherWork, "MIN_SECONDS", 0.1)
    machine.watch_others_early()
    time.sleep(0.15)
    early = machine.other_work([12345])
    assert not early.too_soon() and early.mine == (12345,)
    busy = early.cpus()
    assert busy is not None and busy >= 0.9  # the other process's CPU grows as fast as the clock
    assert machine.other_work().too_soon()  # taken: the next executor measures from its own start
    monkeypatch.setattr(machine, "EARLY_READING_SECONDS", 0.05)
    machine.watch_others_early()
    time.sleep(0.1)
    assert machine.other_work().too_soon()  # too old to say what other work does now


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads /proc/stat (Linux)")
def test_other_work_sees_a_busy_process_and_not_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    monkeypatch.setattr(machine, "cpu_of_others", CPU_OF_OTHERS)
    quiet = machine.OtherWork()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:  # this process's own work is not other work
        pass
    alone = quiet.cpus()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        loaded = machine.OtherWork()
        time.sleep(0.5)
        other = loaded.cpus()
    finally:
        busy.kill()
        busy.wait()
    assert alone is not None and other is not None
    assert other - alone >= 0.5, (alone, other)


@pytest.mark.skipif(not Path("/proc/loadavg").exists(), reason="reads /proc/loadavg (Linux)")
def test_others_running_sees_a_busy_process() -> None:
    import subprocess
    import sys
    import time

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        samples = []
        for _ in range(20):
            samples.append(OTHERS_RUNNING())
            time.sleep(0.01)
    finally:
        busy.kill()
        busy.wait()
    assert all(s is not None and s >= 0 for s in samples) and max(samples) >= 1  # type: ignore[type-var]


def _dies_in_a_worker(task: tuple[int, int]) -> int:
    """A step whose worker dies (as when the kernel kills it for memory) on task 7; here it just runs."""
    command, n = task
    if n == 7 and os.getpid() != command:
        os._exit(9)
    return n * n


def test_a_dead_worker_leaves_the_tasks_to_this_process() -> None:
    """When a worker dies, the tasks the workers held run again here, in order, and the rest with them; the
    executor says why."""
    tasks = [(os.getpid(), n) for n in range(60)]
    with executors.ProcessExecutor(2) as ex:
        results = list(ex.map(_dies_in_a_worker, tasks))
    assert results == [n * n for n in range(60)]
    assert ex.note is not None and ex.note.startswith("a worker died") and ex.ran == "local"


def test_the_decision_comes_after_a_small_first_batch_and_the_next_runs_here(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The first two batches hold `FIRST_BATCH` records, so that the decision comes after a few milliseconds of
    work, at the second (the first's time holds one-time costs); once forked workers take the tasks, the next one
    runs in this process; the bytes are the same as one process's."""
    from agentflan.pipeline import convert as convert_module
    from agentflan.pipeline.batches import BATCH, FIRST_BATCH, SMALL_BATCHES, Batch, batches
    from agentflan.pipeline.read import InputStats

    monkeypatch.setattr(executors, "WORK_WHILE_STARTING", True)
    monkeypatch.setattr(executors, "forks", lambda pool: True)  # other tests' threads may keep workers from forking
    decided_after: list[int] = []
    decide = executors.ProcessExecutor._decide

    def spy_decide(self: executors.ProcessExecutor, seconds: float, done: int, total: int | None) -> None:
        decided_after.append(done)
        decide(self, seconds, done, total)

    monkeypatch.setattr(executors.ProcessExecutor, "_decide", spy_decide)
    monkeypatch.setattr(convert_module, "convert_batch", _convert_batch_here)
    _RAN_HERE.clear()
    inputs = _fixture(tmp_path / "in", n=4000)
    listed = batches(inputs[0], "auto", InputStats("a", ""), first=FIRST_BATCH)
    small = [next(listed) for _ in range(SMALL_BATCHES + 1)]
    assert [len(b.records) for b in small] == [FIRST_BATCH] * SMALL_BATCHES + [BATCH]
    one = _convert(inputs, tmp_path / "one.jsonl", 1)
    _RAN_HERE.clear()
    two = _convert(inputs, tmp_path / "two.jsonl", 2)
    _same_outputs(tmp_path / "one.jsonl", tmp_path / "two.jsonl")
    assert two["executor"]["ran"] == "process" and "note" not in two["executor"]
    assert one["inputs"] == two["inputs"]
    assert decided_after == [small[0].weight() + small[1].weight()]
    # the two that measured, then one while the workers took the next ones (rejects found while listing aside)
    assert [len(task.records) for task in _RAN_HERE if isinstance(task, Batch)] == [FIRST_BATCH] * 2 + [BATCH]


_RAN_HERE: list[Any] = []  # the tasks the spy below saw run in this process


def _convert_batch_here(task: Any, to_format: str) -> Any:
    if multiprocessing.parent_process() is None:  # not in a worker
        _RAN_HERE.append(task)
    return convert_batch(task, to_format)


@pytest.mark.parametrize("count", [3, 4, 60])
def test_the_task_here_keeps_the_order_even_when_a_worker_dies(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a task running here while the workers take the next ones, results come in task order, whether the
    input ends before the workers have a task or a worker dies among them."""
    monkeypatch.setattr(executors, "WORK_WHILE_STARTING", True)
    monkeypatch.setattr(executors, "forks", lambda pool: True)
    tasks = [(os.getpid(), n) for n in range(count)]
    with executors.ProcessExecutor(2) as ex:
        results = list(ex.map(_dies_in_a_worker, tasks, weight=lambda task: 1, total=count))
    assert results == [n * n for n in range(count)]
    if count == 3:  # the second task decided, the third ran here: none was left for the workers
        assert ex.ran == "local" and ex.note == "the input ran out before the workers had a task; ran in one process"
    elif count == 4:  # the workers ran the fourth
        assert ex.ran == "process" and ex.note is None
    else:
        assert ex.ran == "local" and ex.note is not None and ex.note.startswith("a worker died")


def _where(task: tuple[int, int]) -> tuple[int, int]:
    return task[1], os.getpid()


def test_tasks_of_no_weight_run_here_in_their_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task of weight 0 (a reject found while listing: no work) runs in this process, as shipping it would
    cost more than running it; the others run in the workers (once two have measured the step here), and the
    results keep the tasks' order."""
    monkeypatch.setenv(executors.ALWAYS_ENV, "1")
    tasks = [(w, n) for n in range(300) for w in ([0] * 3 if n % 7 == 0 else [5])]
    with executors.ProcessExecutor(2) as ex:
        results = list(ex.map(_where, tasks, weight=lambda task: task[0], total=5 * len(tasks)))
    assert [n for n, _ in results] == [n for _, n in tasks]
    assert {pid for (_, pid), (w, _) in zip(results, tasks, strict=True) if w == 0} == {os.getpid()}
    shipped = [pid for (_, pid), (w, _) in zip(results, tasks, strict=True) if w > 0][2:]  # after the decision
    assert shipped and os.getpid() not in shipped and ex.ran == "process"


def test_the_task_here_leaves_before_the_results_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task that runs here once forked workers have tasks comes before every result after it, even a
    result already in (a task of no weight, run here at once)."""
    monkeypatch.setattr(executors, "WORK_WHILE_STARTING", True)
    monkeypatch.setattr(executors, "forks", lambda pool: True)
    tasks = [(5, 0), (5, 1), (5, 2), (0, 3), (0, 4)] + [(5, n) for n in range(5, 40)]
    with executors.ProcessExecutor(2) as ex:
        results = list(ex.map(_where, tasks, weight=lambda task: task[0], total=5 * len(tasks)))
    assert [n for n, _ in results] == list(range(40))
    assert ex.ran == "process"


def test_light_tasks_go_to_a_worker_together_in_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks lighter than `BUNDLE_WEIGHT` are handed over together, up to that weight; a heavier one goes alone;
    the results keep the tasks' order."""
    monkeypatch.setenv(executors.ALWAYS_ENV, "1")
    handed: list[int] = []
    spawn = executors.spawn_pool

    def spying(workers: int, scratch: str | None = None) -> Any:
        pool = spawn(workers, scratch)
        submit = pool.submit

        def recording(fn: Any, *args: Any) -> Any:
            if fn is executors._timed:
                handed.append(len(args[1]))
            return submit(fn, *args)

        pool.submit = recording
        return pool

    monkeypatch.setattr(executors, "spawn_pool", spying)
    light, heavy = executors.BUNDLE_WEIGHT // 8, executors.BUNDLE_WEIGHT * 2
    tasks = [(light, n) for n in range(200)] + [(heavy, n) for n in range(200, 205)]
    with executors.ProcessExecutor(2) as ex:
        results = list(ex.map(_where, tasks, weight=lambda task: task[0], total=sum(w for w, _ in tasks)))
    assert [n for n, _ in results] == list(range(205)) and ex.ran == "process"
    assert handed == [8] * 24 + [6] + [1] * 5  # the first two measured here, before the decision


def test_scratch_folders_of_dead_commands_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed command cannot remove its workers' scratch folder: the next one removes those whose command is
    gone, and leaves a live command's and anything not named like them."""
    import subprocess
    import sys
    import tempfile

    from agentflan.pipeline import spool

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    dead = tmp_path / f"{spool.FOLDER_PREFIX}{gone}-abc"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "1-0").write_bytes(b"x")
    live = tmp_path / f"{spool.FOLDER_PREFIX}{os.getppid()}-def"
    unnamed = tmp_path / f"{spool.FOLDER_PREFIX}xyz"
    live.mkdir()
    unnamed.mkdir()
    made = Path(spool.new_folder())
    assert made.parent == tmp_path and made.name.startswith(f"{spool.FOLDER_PREFIX}{os.getpid()}-")
    assert not dead.exists() and live.exists() and unnamed.exists()
    assert Path(spool.new_folder()) != made and made.exists()  # this command's own folder stays


def test_more_workers_than_cpus_start_one_per_cpu_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    m = _convert(_fixture(tmp_path / "in"), tmp_path / "o.jsonl", 3)
    assert m["executor"]["ran"] == "process" and m["executor"]["workers"] == 3
    assert m["executor"]["note"] == "2 CPUs available: started 2 workers, not 3"
