"""Fixtures of the experiment tests (helpers in `grid_fixtures`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from grid_fixtures import run, write_experiment


@pytest.fixture(scope="session")
def small_grid(tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> tuple[Path, Path]:
    """(experiment file, finished experiment folder): the shortened grid run once, uninterrupted."""
    folder = tmp_path_factory.mktemp("grid")
    experiment = write_experiment(folder / "spec")
    out = folder / "run"
    done = run(experiment, out)
    assert done.returncode == 0, done.stderr[-3000:]
    return experiment, out
