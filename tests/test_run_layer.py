"""The run layer under every command (issue 11): `Inputs` reads every file a command uses and hashes it (side
files included), and `RunDir` makes every output appear whole, with a manifest that lists those files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.evaluate import agent_h, bfcl, bfcl_multi_turn
from agentflan.evaluate.run import benchmarks, collect, run
from agentflan.evaluate.samples import Sample
from agentflan.files import sha256_file
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Trajectory

runner = CliRunner()
FIXTURES = Path(__file__).parent / "formats" / "fixtures" / "fc" / "bfcl"


def _bfcl(tmp_path: Path) -> Path:
    """A BFCL folder: the demo fixtures under real category names, in BFCL's layout."""
    folder = tmp_path / "bfcl"
    for demo, category in (("demo_simple", "simple_python"), ("demo_multi_turn", "multi_turn_base")):
        for sub in ("", "possible_answer/"):
            target = folder / f"{sub}BFCL_v4_{category}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES / f"{sub}BFCL_v4_{demo}.json", target)
    shutil.copytree(FIXTURES / "multi_turn_func_doc", folder / "multi_turn_func_doc")
    return folder


class Echo:
    """A backend that answers every sample with the same text (or fails)."""

    name = "echo"

    def __init__(self, text: str = "No tool is needed.", fail: bool = False) -> None:
        self.text, self.fail = text, fail

    def generate(self, samples: list[Sample]) -> list[Any]:
        if self.fail:
            raise RuntimeError("the backend died")
        return [self.text for _ in samples]

    def describe(self) -> dict[str, Any]:
        return {"backend": "echo"}


def test_inputs_count_every_record_and_hash_every_file_a_reader_opened(tmp_path: Path) -> None:
    folder = _bfcl(tmp_path)
    questions = folder / "BFCL_v4_simple_python.json"
    inputs = Inputs([questions], "bfcl")
    items = list(inputs)
    assert inputs.read_count == len(items) == inputs.accepted + inputs.rejected == 6
    assert inputs.rejected == sum(isinstance(i, Reject) for i in items) == 4
    (entry,) = inputs.entries()
    assert (entry["path"], entry["sha256"], entry["side_files"]) == (str(questions), sha256_file(questions), 1)
    answers = folder / "possible_answer" / questions.name
    assert inputs.side_files() == [{"path": str(answers), "sha256": sha256_file(answers)}]
    assert inputs.guarded() == [questions]  # a file given is guarded once, as the file it is


def test_inputs_keep_one_ledger_per_group(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n")
    inputs = Inputs([path])
    inputs.add([path], group="against")
    for f in inputs.files:
        list(inputs.read(f))
    assert inputs.read_count == 1  # the input group only
    assert [e.get("group") for e in inputs.entries()] == [None, "against"]
    assert len(inputs.entries("against")) == 1 and "group" not in inputs.entries("against")[0]


def test_benchmarks_implement_the_protocol_and_bad_names_are_usage_errors(tmp_path: Path) -> None:
    from agentflan.errors import UsageError

    chosen = benchmarks(["agent-h", "bfcl.simple_python", "bfcl.multi_turn_base"], data=tmp_path)
    assert [type(b) for b in chosen] == [agent_h.AgentH, bfcl_multi_turn.BFCLMultiTurn, bfcl.BFCLSingleTurn]
    for bench in chosen:
        assert bench.name in ("agent-h", "bfcl") and callable(bench.load) and callable(bench.metrics)
    with pytest.raises(UsageError, match="unknown benchmark"):
        benchmarks(["bfcl", "nope"])


def test_multi_turn_reads_its_ground_truth_and_function_docs_as_hashed_side_files(tmp_path: Path) -> None:
    folder = _bfcl(tmp_path)
    collected = collect(["bfcl.multi_turn_base"], data=folder)
    assert [e.id for e in collected.episodes] == ["demo_mt_0"]
    assert collected.rejected == {"bfcl:unsupported_entry": 1}  # an entry with an unknown API class
    side = {Path(s["path"]).name: s["sha256"] for s in collected.inputs.side_files()}
    assert side == {"BFCL_v4_multi_turn_base.json": sha256_file(folder / "possible_answer/BFCL_v4_multi_turn_base.json"),
                    "math_api.json": sha256_file(folder / "multi_turn_func_doc/math_api.json")}


def _agent_h_file(tmp_path: Path) -> Path:
    sample = Sample(id="agent-h/d/general/q1", bench="agent-h", category="d",
                    messages=[{"role": "user", "content": "Tell me a joke."}], expected=[],
                    meta={"format": "general", "source": "test"})
    folder = tmp_path / "agent-h"
    agent_h.write(agent_h.BuildResult([sample], {"samples": 1}), folder)
    return folder


def test_eval_run_writes_a_manifest_of_every_file_read(tmp_path: Path) -> None:
    folder, built = _bfcl(tmp_path), _agent_h_file(tmp_path)
    collected = collect(["agent-h", "bfcl.simple_python"], data=folder, agent_h_path=built)
    out = tmp_path / "run"
    results = run(collected.samples, Echo(), out, show_progress=False, collected=collected)
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == "eval run" and m["read"] == m["written"] + m["rejected"]
    assert m["written"] == len((out / "replies.jsonl").read_text().splitlines()) == results["samples"] == 2
    assert m["rejected"] == len((out / "rejects.jsonl").read_text().splitlines()) == 5
    questions, samples = folder / "BFCL_v4_simple_python.json", built / "agent_h.jsonl"
    assert {(i["path"], i["sha256"]) for i in m["inputs"]} == {(str(samples), sha256_file(samples)),
                                                             (str(questions), sha256_file(questions))}
    assert [Path(s["path"]).parent.name for s in m["side_files"]] == ["possible_answer"]
    assert {o["path"] for o in m["outputs"]} == {"replies.jsonl", "rejects.jsonl", "results.json", "results.md"}
    assert set(results["benchmarks"]) == {"agent-h", "bfcl"}


def test_eval_run_output_appears_only_when_complete(tmp_path: Path) -> None:
    built = _agent_h_file(tmp_path)
    collected = collect(["agent-h"], agent_h_path=built)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="died"):
        run(collected.samples, Echo(fail=True), out, show_progress=False, collected=collected)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    run(collected.samples, Echo(), out, show_progress=False, collected=collected)
    run(collected.samples, Echo("Other."), out, show_progress=False, collected=collected)  # an earlier eval run
    assert json.loads((out / "replies.jsonl").read_text())["text"] == "Other."
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(built), "--endpoint",
                                 "http://localhost:1", "--model-name", "m", "-o", str(foreign), "-q"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (foreign / "notes.txt").read_text() == "mine"


def test_eval_run_writes_a_call_argument_json_cannot_hold_as_text(tmp_path: Path) -> None:
    built = _agent_h_file(tmp_path)
    collected = collect(["agent-h"], agent_h_path=built)
    out = tmp_path / "run"
    run(collected.samples, Echo("search(q={1, 2})"), out, show_progress=False, collected=collected)
    row = json.loads((out / "replies.jsonl").read_text())
    assert row["calls"] == [{"name": "search", "arguments": {"q": "{1, 2}"}}]


def test_classify_writes_a_manifest_beside_its_output(tmp_path: Path) -> None:
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": "1", "reply": "search[x]"}) + "\n" + "{broken\n")
    out = tmp_path / "o.jsonl"
    assert runner.invoke(app, ["eval", "classify", str(src), "-o", str(out), "-q"]).exit_code == 0
    m = json.loads((tmp_path / "o.jsonl.manifest.json").read_text())
    assert m["command"] == "eval classify" and (m["read"], m["written"], m["rejected"]) == (2, 1, 1)
    assert m["inputs"][0]["sha256"] == sha256_file(src) and m["output"]["sha256"] == sha256_file(out)


def test_build_agent_h_lists_every_source_file_and_side_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = _bfcl(data)
    general = data / "general.jsonl"
    general.write_text("".join(json.dumps({"instruction": f"Write poem number {i}.", "output": "A poem."}) + "\n"
                               for i in range(3)))
    sources = [agent_h.Source("bfcl/BFCL_v4_simple_python.json", "gold"), agent_h.Source("general.jsonl",
                                                                                          "general_query")]
    inputs = Inputs()
    result = agent_h.build(data, limit=5, sources=sources, inputs=inputs)
    out = tmp_path / "agent-h"
    agent_h.write(result, out, inputs)
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == "eval build-agent-h" and m["samples"] == len(result.samples) > 0
    assert [(i["path"], i["sha256"]) for i in m["inputs"]] == [
        ("bfcl/BFCL_v4_simple_python.json", sha256_file(folder / "BFCL_v4_simple_python.json")),
        ("general.jsonl", sha256_file(general))]
    assert m["side_files"] == [{"path": "bfcl/possible_answer/BFCL_v4_simple_python.json",
                                "sha256": sha256_file(folder / "possible_answer/BFCL_v4_simple_python.json")}]


def test_audit_writes_its_folder_whole_with_a_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentflan.audit import run as audit_run
    from agentflan.audit.run import AuditOptions, run_audit
    from agentflan.audit.shape import Shape

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(Trajectory(id="a", messages=[Message(role="user", content="Weather in Paris today?"),
                                                   Message(role="assistant", content="Sunny.")]).to_json() + "\n")
    against = tmp_path / "e.jsonl"
    shutil.copy(corpus, against)
    out = tmp_path / "audit"
    run_audit([corpus], out, AuditOptions(show_progress=False, against=(against,)))
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == "audit" and (m["read"], m["records"], m["rejected"]) == (1, 1, 0)
    assert [(i["path"], i.get("group"), i["sha256"]) for i in m["inputs"]] == [
        (str(against), "against", sha256_file(against)), (str(corpus), None, sha256_file(corpus))]
    assert {o["path"] for o in m["outputs"]} == {"report.json", "report.html"}

    def broken(self: Shape, rec: Any) -> None:
        raise RuntimeError("a section failed")

    monkeypatch.setattr(Shape, "add", broken)
    again = tmp_path / "again"
    with pytest.raises(RuntimeError):
        run_audit([corpus], again, AuditOptions(show_progress=False))
    assert not again.exists()
    assert audit_run.Audit  # the state the sections share


def test_an_audit_killed_at_every_rename_point_leaves_the_old_report_or_the_new(tmp_path: Path) -> None:
    """audit goes through the same `RunDir` as build: at every point of moving its folder into place (here as on
    an OS without renameat2, the longer path), the folder holds the old complete report or the new one."""
    import hashlib

    from agentflan.pipeline.run import recover
    from kills import run_killed

    def corpus(name: str, n: int) -> Path:
        path = tmp_path / name
        path.write_text("".join(Trajectory(id=f"t{i}", messages=[
            Message(role="user", content=f"Weather in city number {i} today?"),
            Message(role="assistant", content="Sunny.")]).to_json() + "\n" for i in range(n)))
        return path

    def files(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
                if p.name != "manifest.json"}

    def state(folder: Path, refs: dict[str, dict[str, str]]) -> str:
        if not folder.is_dir():
            return "absent"
        listed = {o["path"]: o["sha256"] for o in json.loads((folder / "manifest.json").read_text())["outputs"]}
        assert listed == files(folder)  # the manifest describes exactly the files beside it
        return next((name for name, ref in refs.items() if ref == files(folder)), "mixed")

    old, new = corpus("old.jsonl", 2), corpus("new.jsonl", 3)
    refs = {}
    for name, src in (("old", old), ("new", new)):
        assert runner.invoke(app, ["audit", str(src), "-o", str(tmp_path / name), "-q"]).exit_code == 0
        refs[name] = files(tmp_path / name)
    seen, n = [], 1
    while True:
        place = tmp_path / f"kill{n}"
        out = place / "out"
        assert runner.invoke(app, ["audit", str(old), "-o", str(out), "-q"]).exit_code == 0
        code = run_killed(tmp_path, n, ["audit", str(new), "-o", str(out), "-q"], {"NO_EXCHANGE": "1"})
        before = state(out, refs)
        recover(out, file=False)  # what the next run does first
        after = state(out, refs)
        assert after in ("old", "new") and [p.name for p in place.iterdir()] == ["out"], (n, before)
        seen.append((before, after))
        if code == 0:
            break
        n += 1
    assert seen == [("old", "old"), ("absent", "new"), ("new", "new"), ("new", "new")]
