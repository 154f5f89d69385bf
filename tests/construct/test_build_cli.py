"""`agentflan build` on the command line: help with an example, exit codes, the summary table."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from construct_fixtures import recipe_dict
from typer.testing import CliRunner

from agentflan.cli import app

runner = CliRunner()


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["build", "--help"])
    assert result.exit_code == 0 and "agentflan build recipes/demo.yaml -o" in result.output


def test_build_prints_a_summary_and_honours_set(data_dir: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict()))
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(recipe), "-o", str(out), "--set", "seed=3"])
    assert result.exit_code == 0, result.output
    for text in ("records by kind", "negative samples", "tools_given_no_need", "retrieval", "react fraction",
                 "output →"):
        assert text in result.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


def test_bad_recipe_exits_1_naming_the_field(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict(alignment={"react_fraction": 2})))
    result = runner.invoke(app, ["build", str(recipe), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "alignment.react_fraction" in result.output
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["build"]).exit_code == 2
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict()))
    assert runner.invoke(app, ["build", str(recipe)]).exit_code == 2  # -o is required
    assert runner.invoke(app, ["build", str(recipe), "-o", str(tmp_path / "o"), "--set", "noequals"]).exit_code == 2  # a malformed --set is bad usage
