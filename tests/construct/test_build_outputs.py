"""Issue 12, `agentflan build -o DIR`: DIR is never clobbered, a kill at any rename point leaves the old build or
the new one, recorded paths carry no machine-specific prefix, and bad recipes fail naming the field."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from construct_fixtures import recipe_dict
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.pipeline.run import recover
from kills import run_killed

runner = CliRunner()


def _recipe(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe_dict(**overrides)))
    return path


def _build(recipe: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["build", str(recipe), "-o", str(out), "-q", *extra])
    return result.exit_code, " ".join(result.output.split())


def test_a_folder_that_is_not_a_build_is_never_replaced(data_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    code, out = _build(recipe, precious)
    assert code == 2 and "--overwrite" in out
    assert [p.name for p in precious.iterdir()] == ["thesis.tex"]
    assert _build(recipe, precious, "--overwrite")[0] == 0
    assert (precious / "manifest.json").is_file() and not (precious / "thesis.tex").exists()
    # An earlier build is replaced without asking; an empty folder is fine too.
    assert _build(recipe, precious)[0] == 0
    (tmp_path / "empty").mkdir()
    assert _build(recipe, tmp_path / "empty")[0] == 0


def test_the_data_root_and_input_folders_are_never_replaced(data_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    before = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*"))
    for target in (data_dir, data_dir / "agent", tmp_path):
        code, out = _build(recipe, target, "--overwrite")
        assert code == 2 and ("holds the input" in out or "holds the data root" in out), out
    assert sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*")) == before


def test_output_paths_that_cannot_be_folders(data_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for target in (a_file, a_file / "sub"):
        code, out = _build(recipe, target)
        assert code == 2 and "is a file" in out and "Traceback" not in out
    assert a_file.read_text() == "x"


def test_recorded_paths_are_relative_to_the_data_root(data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "general.jsonl"
    outside.parent.mkdir()
    outside.write_text((data_dir / "general" / "general.jsonl").read_text())
    recipe = _recipe(tmp_path, general={"inputs": [{"path": str(outside), "name": "general"},
                                                   {"path": "general/questions.jsonl", "name": "questions"}],
                                        "ratio": 0.5})
    out = tmp_path / "out"
    assert _build(recipe, out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["path"] for i in manifest["inputs"]] == ["agent/agent.jsonl", "pool/pool.jsonl", str(outside),
                                                      "general/questions.jsonl"]
    sources = {json.loads(line)["provenance"]["source"] for line in (out / "canonical.jsonl").read_text().splitlines()
               if json.loads(line).get("provenance")}
    assert sources <= {"agent/agent.jsonl", "pool/pool.jsonl", str(outside), "general/questions.jsonl"}
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rejects} == {"general/questions.jsonl", str(outside)}
    # Nothing in the output names the machine's data root.
    assert not any(str(data_dir) in p.read_text() for p in out.iterdir())


def test_a_relative_input_may_not_leave_the_data_root(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.jsonl").write_text('{"id": "s", "instruction": "x", "output": "y"}\n')
    recipe = _recipe(tmp_path, general={"inputs": [{"path": "../secret.jsonl", "name": "g"}], "ratio": 0.5})
    code, out = _build(recipe, tmp_path / "out")
    assert code == 1 and "general.inputs.0.path" in out and "absolute path" in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("content", "field"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (b"seed: 0\x00\n", "not a text file"),
])
def test_a_binary_recipe_is_a_clear_error(tmp_path: Path, content: bytes, field: str) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_bytes(content)
    code, out = _build(recipe, tmp_path / "out")
    assert code == 1 and field in out and str(recipe.name) in out


@pytest.mark.parametrize(("overrides", "field"), [
    ({"general": {"inputs": [], "ratio": float("inf")}}, "general.ratio"),
    ({"balance": {"weights": {"reasoning": float("nan"), "retrieval": 0.25, "understanding": 0.75}}},
     "balance.weights.reasoning"),
])
def test_non_finite_numbers_in_a_recipe_name_the_field(data_dir: Path, tmp_path: Path, overrides: dict,
                                                       field: str) -> None:
    code, out = _build(_recipe(tmp_path, **overrides), tmp_path / "out")
    assert code == 1 and f"{field}: must be a finite number" in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["inf", ".inf", "-.inf", ".nan", "1e999"])
def test_non_finite_numbers_from_set_name_the_field(data_dir: Path, tmp_path: Path, value: str) -> None:
    code, out = _build(_recipe(tmp_path), tmp_path / "out", "--set", f"general.ratio={value}")
    assert code == 1 and "general.ratio" in out and "Traceback" not in out


# -- kills at every rename point ---------------------------------------------------------------------------------

def _state(folder: Path, old: dict[str, str], new: dict[str, str]) -> str:
    if not folder.is_dir():
        return "absent"
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name != "manifest.json"}
    listed = {o["path"]: o["sha256"] for o in json.loads((folder / "manifest.json").read_text())["outputs"]}
    assert listed == files  # the manifest describes exactly the files beside it
    return "old" if files == old else "new" if files == new else "mixed"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_a_build_killed_at_every_rename_point_leaves_old_or_new(data_dir: Path, tmp_path: Path,
                                                                exchange: bool) -> None:
    recipe = _recipe(tmp_path)
    refs = {}
    for name, seed in (("old", "0"), ("new", "1")):
        assert _build(recipe, tmp_path / name, "--set", f"seed={seed}")[0] == 0
        refs[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / name).iterdir()
                      if p.name != "manifest.json"}
    env = {"AGENTFLAN_DATA": str(data_dir), **({} if exchange else {"NO_EXCHANGE": "1"})}
    seen = []
    n = 1
    while True:
        place = tmp_path / f"kill{n}"
        place.mkdir()
        out = place / "out"
        assert _build(recipe, out, "--set", "seed=0")[0] == 0
        code = run_killed(tmp_path, n, ["build", str(recipe), "-o", str(out), "-q", "--set", "seed=1"], env)
        before = _state(out, refs["old"], refs["new"])
        recover(out, file=False)  # what the next run does first
        after = _state(out, refs["old"], refs["new"])
        assert after in ("old", "new") and [p.name for p in place.iterdir()] == ["out"], (n, before)
        seen.append((before, after))
        if code == 0:
            break
        n += 1
    if exchange:  # exchange the folders, remove the previous one
        assert seen == [("old", "old"), ("new", "new"), ("new", "new")]
    else:  # move the previous folder aside, move the new one in, remove the previous one
        assert seen == [("old", "old"), ("absent", "new"), ("new", "new"), ("new", "new")]


def test_the_summary_explains_the_rejects(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", str(_recipe(tmp_path)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("rejected "))
    assert "general:no_reply=3 (general records with no reply to train on)" in line
    assert line.endswith(f"reason in {tmp_path / 'out' / 'rejects.jsonl'}")


def test_bundled_and_bfcl_inputs_are_recorded_as_the_recipe_spells_them(data_dir: Path, tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[1] / "formats" / "fixtures" / "fc" / "bfcl"
    shutil.copytree(fixtures, data_dir / "gorilla" / "bfcl_v4")
    recipe = _recipe(tmp_path, negatives={
        "counts": {"irrelevant_tools_needs_tool": 2},
        "tool_pools": [{"path": "bfcl:BFCL_v4_demo_simple.json", "name": "bfcl"},
                       {"path": "bundled:demo_agent.jsonl", "format": "canonical", "name": "bundled"}]})
    out = tmp_path / "out"
    assert _build(recipe, out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    paths = [i["path"] for i in manifest["inputs"]]
    assert "bfcl:BFCL_v4_demo_simple.json" in paths and "bundled:demo_agent.jsonl" in paths
    assert manifest["side_files"] == [{"path": "bfcl:possible_answer/BFCL_v4_demo_simple.json",
                                       "sha256": hashlib.sha256((fixtures / "possible_answer" /
                                                                 "BFCL_v4_demo_simple.json").read_bytes()).hexdigest()}]
    assert not any(str(data_dir) in p.read_text() for p in out.iterdir())
