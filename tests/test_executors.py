"""`--executor local|process|ray` for convert, build and audit: the same step functions under each, the same bytes
written. Ray runs as one local two-CPU cluster for the whole module (started once: it takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentflan.audit.run import AuditOptions, run_audit
from agentflan.config import load_config
from agentflan.construct.build import build
from agentflan.construct.recipe import Recipe
from agentflan.pipeline import executors, machine
from agentflan.pipeline import workers as worker_processes
from agentflan.pipeline.convert import convert

RECIPE = Path("recipes/agent-flan.yaml")
EXECUTORS = [("local", 1), ("process", 2), ("ray", 2)]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'agentflan[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def workers_always_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs this small would run in one process (`executors.ProcessExecutor` measures first, and hands back
    when workers go slower than one process)."""
    monkeypatch.setattr(executors, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(executors, "STARTUP_SECONDS", 0.0)
    monkeypatch.setattr(executors, "CHECK_SECONDS", float("inf"))
    monkeypatch.setattr(executors, "WORK_WHILE_STARTING", False)
    monkeypatch.setattr(machine, "cpu_of_others", lambda mine=(): None)  # whatever else the machine runs meanwhile
    monkeypatch.setattr(executors, "usable_cpus", lambda: 4)  # build and audit read in workers from 3 CPUs


def test_a_ray_address_that_does_not_parse_is_a_usage_error() -> None:
    """(Defined before the tests that start the module's cluster: an initialised Ray is used as it is.)"""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'agentflan[ray]')")
    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process: the address would not be used")
    with pytest.raises(executors.UsageError, match="--ray-address not-an-address"):
        executors.RayExecutor(2, "not-an-address")
    assert not ray.is_initialized()


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.endswith("manifest.json")}


@pytest.mark.integration
def test_convert_writes_the_same_bytes_under_every_executor(real_data: Path, tmp_path: Path,
                                                            ray_cluster: None) -> None:
    inputs = [real_data / "FireAct/gpt_format/hotpotqa.jsonl", real_data / "api-bank/lv1-lv2-samples",
              real_data / "ToolTalk/data/easy"]
    outputs = {}
    for name, workers in EXECUTORS:
        out = tmp_path / name / "out.jsonl"
        out.parent.mkdir()
        result = convert(inputs, "auto", "openai", out, show_progress=False, workers=workers, executor=name)
        assert result.manifest["executor"]["ran"] == name
        outputs[name] = (_files(out.parent), {k: v for k, v in result.manifest.items()
                                              if k not in ("executor", "output", "outputs", "argv")})
    assert outputs["local"][1]["written"] > 500
    for name in ("process", "ray"):
        assert outputs[name][0] == outputs["local"][0], name
        assert outputs[name][1] == outputs["local"][1], name


@pytest.mark.integration
def test_build_writes_the_same_bytes_under_every_executor(real_data: Path, tmp_path: Path,
                                                          ray_cluster: None) -> None:
    recipe = load_config(RECIPE, Recipe)
    found = {}
    for name, workers in EXECUTORS:
        m = build(recipe, tmp_path / name, show_progress=False, executor=name, workers=workers)
        assert m["executor"]["ran"] == name
        found[name] = _files(tmp_path / name)
    assert len(found["local"]) >= 8 and found["local"] == found["process"] == found["ray"]


@pytest.mark.integration
def test_audit_reports_the_same_under_every_executor(real_data: Path, tmp_path: Path, ray_cluster: None) -> None:
    inputs = [real_data / "FireAct/gpt_format", real_data / "ToolTalk/data/easy"]
    reports = {}
    for name, workers in EXECUTORS:
        result = run_audit(inputs, tmp_path / name, AuditOptions(show_progress=False, executor=name,
                                                                 workers=workers))
        reports[name] = json.loads(result.json_path.read_text())
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        assert manifest["executor"]["ran"] == name
    assert reports["local"]["records"] > 1000
    assert reports["local"] == reports["process"] == reports["ray"]


def test_reading_for_build_needs_three_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build's and audit's reading in workers does not pay on 2 CPUs (their own work stays here): it says so
    and reads in one process."""
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                    {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                           for i in range(600)))
    result = run_audit([src], tmp_path / "audit", AuditOptions(show_progress=False, executor="process", workers=2))
    manifest = json.loads((tmp_path / "audit" / "manifest.json").read_text())
    assert manifest["executor"]["ran"] == "local" and "needs 3" in manifest["executor"]["note"]
    assert result.report["records"] == 600


def test_the_fork_server_starts_early_only_for_large_inputs_under_process(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`prestart` starts the workers' fork server (importing the modules named, ``pkg.*`` for a whole package) only
    when workers are asked for under `process`, the inputs reach `PRESTART_BYTES` and the workers would not fork
    from this process; closing the executor stops it, used or not."""
    from multiprocessing import forkserver

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(b"x" * 1000)
    monkeypatch.setattr(worker_processes, "others_running", lambda mine=(): 0)  # whatever else the machine runs
    monkeypatch.setattr(worker_processes, "PRESTART_BYTES", 500)
    monkeypatch.setattr(worker_processes, "only_thread", lambda: True)  # the workers will fork: nothing to start
    assert not worker_processes.prestart(2, None, [tmp_path / "in"], [])
    monkeypatch.setattr(worker_processes, "only_thread", lambda: False)
    monkeypatch.setattr(worker_processes, "PRESTART_BYTES", 2000)
    assert not worker_processes.prestart(2, None, [tmp_path / "in"], [])
    monkeypatch.setattr(worker_processes, "PRESTART_BYTES", 500)
    assert not worker_processes.prestart(1, None, [tmp_path / "in"], [])
    assert not worker_processes.prestart(2, "local", [tmp_path / "in"], [])
    assert not worker_processes.prestart(2, "ray", [tmp_path / "in"], [])
    assert "agentflan.formats.openai" in worker_processes.expand(["agentflan.formats.*"])
    assert worker_processes.prestart(2, None, [tmp_path / "in"], ["agentflan.formats.*"])
    assert forkserver._forkserver._forkserver_pid is not None
    executors.ProcessExecutor(2).close()
    assert forkserver._forkserver._forkserver_pid is None
