"""What a grid is once checked: the experiment, its folder, each variant's recipe and plan, the pretraining and
cell training configs, and the keys of the units done so far. `run` fills it; `report` reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agentflan.construct.build import Plan
from agentflan.construct.recipe import Recipe
from agentflan.experiment.spec import Experiment
from agentflan.train.config import TrainConfig


@dataclass
class Cell:
    variant: str
    seed: int
    folder: Path
    config: TrainConfig
    key: str = ""


@dataclass
class Grid:
    """What `check` validated before any work: recipes with their plans, training configs."""

    spec: Experiment
    out: Path
    data: Path
    recipes: dict[str, tuple[Recipe, Plan]] = field(default_factory=dict)
    corpus: tuple[Recipe, Plan] | None = None
    pretrain: TrainConfig | None = None
    cells: list[Cell] = field(default_factory=list)
    base_model: str | None = None
    keys: dict[str, str] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.out)
