"""`agentflan experiment` on the command line: help with an example, exit codes, refusals before any work."""

from __future__ import annotations

from pathlib import Path

from grid_fixtures import write_experiment
from typer.testing import CliRunner

from agentflan.cli import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "recipes" / "experiments" / "agent-flan-ablation.yaml"


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["experiment", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # rich wraps the help to the terminal's width
    assert "agentflan experiment recipes/experiments/agent-flan-ablation.yaml --preset cpu -o runs/ablation" in text


def test_unknown_preset_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["experiment", str(SHIPPED), "--preset", "tpu", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "cpu, cpu-full, gpu" in " ".join(result.output.split())
    assert not (tmp_path / "x").exists()


def test_missing_or_invalid_file_fails_with_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["experiment", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "cannot read" in result.output
    bad = write_experiment(tmp_path / "spec", budget={"tokens": -5})
    result = runner.invoke(app, ["experiment", str(bad), "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "budget.tokens" in result.output


def test_a_variant_recipe_error_names_its_field_before_any_work(tmp_path: Path) -> None:
    spec = write_experiment(tmp_path / "spec")
    result = runner.invoke(app, ["experiment", str(spec), "-o", str(tmp_path / "out"),
                                 "--set", "variants.react.set=[alignment.react_fraction=2]"])
    assert result.exit_code == 1 and "alignment.react_fraction" in result.output
    assert "variants.react" in result.output
    assert not (tmp_path / "out" / "builds").exists()


def test_a_folder_that_is_not_an_experiment_is_refused(tmp_path: Path) -> None:
    spec = write_experiment(tmp_path / "spec")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["experiment", str(spec), "-o", str(taken)])
    assert result.exit_code == 2 and "not an experiment" in result.output.replace("\n", " ")
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
