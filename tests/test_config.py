from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from agentflan.config import apply_overrides, load_config
from agentflan.errors import ConfigError, UsageError


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = 1e-5
    steps: int = 1
    name: str = "x"


def test_overrides_take_yaml_types_and_scientific_numbers() -> None:
    out = apply_overrides({}, ["lr=2e-5", "steps=3", "flag=true", "name=nan", "a.b=c"])
    assert out == {"lr": 2e-5, "steps": 3, "flag": True, "name": "nan", "a": {"b": "c"}}


def test_unknown_key_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("lr: 1.0e-4\nbogus: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p, _Cfg)
    assert str(p) in str(exc.value) and "bogus" in str(exc.value)


def test_override_then_validate(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("lr: 1.0e-4\n")
    assert load_config(p, _Cfg, ["lr=3e-4", "steps=7"]) == _Cfg(lr=3e-4, steps=7)
    with pytest.raises(ConfigError, match="steps"):
        load_config(p, _Cfg, ["steps=many"])


@pytest.mark.parametrize("bad", ["steps", "=3", " =3", "a..b=1", "a.=1", ".a=1", "inputs.x=1", "inputs.5=1"])
def test_a_malformed_set_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="--set"):
        apply_overrides({"inputs": [{"path": "a"}]}, [bad])


@pytest.mark.parametrize("command", [["build", "recipes/demo.yaml", "-o", "out/never"],
                                     ["train", "recipes/train/tiny-cpu.yaml"]])
def test_a_malformed_set_exits_2(command: list[str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agentflan.cli import app

    result = CliRunner().invoke(app, [*command, "--set", "no-equals-sign"])
    assert result.exit_code == 2, result.output
    assert "expected dotted.key=value" in result.output
