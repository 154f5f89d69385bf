"""The experiment file: a grid of build variants × seeds, one training config, one token budget, the benchmarks,
and named presets. Validated by pydantic before any work, so a typo fails with the field's name.

Loading order: the YAML file, then the chosen preset merged into it (mappings merged key by key, everything
else replaced), then ``--set dotted.key=value`` overrides; relative paths are resolved against the experiment
file's folder.

>>> spec = Experiment.model_validate({"variants": {"a": {"recipe": "r.yaml"}}, "train": {"config": "t.yaml"},
...                                   "budget": {"tokens": 1000}})
>>> [v.name for v in spec.selected()], spec.seeds, spec.benchmarks.agent_h.limit
(['a'], [0], 200)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentflan.config import apply_overrides, load_yaml, validate
from agentflan.errors import ConfigError, UsageError
from agentflan.evaluate import bfcl


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipeRef(_Spec):
    """A build recipe, with ``--set`` overrides of its own."""

    recipe: str = Field(min_length=1)  # relative to the experiment file
    set: list[str] = Field(default_factory=list)


class Variant(RecipeRef):
    name: str = ""  # filled in from the key of ``variants``
    # The paper's row to show beside this variant (`experiment.paper.ROWS`), e.g. "agenttuning".
    paper: str | None = None
    description: str = ""


class HeldOut(_Spec):
    """The share of the agent and general corpora that no variant and no pretraining sees (the recipes'
    ``held_out``): its tool calls and general questions are benchmarks."""

    fraction: float = Field(default=0.1, gt=0.0, lt=1.0)
    seed: int = 0


class TrainRef(_Spec):
    config: str = Field(min_length=1)  # one training config for every cell (relative to the experiment file)
    set: list[str] = Field(default_factory=list)


class Budget(_Spec):
    # Input tokens each cell trains on (padding excluded): the same tokens seen, not the same steps.
    tokens: int = Field(ge=1)


class ModelRef(_Spec):
    # A pretrained model to fine-tune in every cell (a local folder or a hub name); replaces the training
    # config's model. Leave empty to use the config's model, or pretraining's.
    name_or_path: str | None = None


class Pretrain(_Spec):
    """A small model pretrained from scratch on the natural-language text of a build (its general data, user
    turns and tool observations), shared by every cell: the pretraining distribution of paper observation 1."""

    corpus: RecipeRef
    texts: list[str] = Field(default_factory=lambda: ["general", "user", "observation"], min_length=1)
    tokens: int = Field(ge=1)  # input tokens of pretraining
    set: list[str] = Field(default_factory=list)  # overrides of the training config for pretraining (lr, ...)

    @field_validator("texts")
    @classmethod
    def _texts(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - {"general", "user", "observation"})
        if unknown:
            raise ValueError(f"unknown text kind(s) {unknown}; choose from general, user, observation")
        return v


class AgentH(_Spec):
    limit: int = Field(default=200, ge=1)  # queries per circumstance (× 2 format levels)
    seed: int = 0


class Bfcl(_Spec):
    categories: list[str] = Field(default_factory=lambda: ["simple_python", "multiple", "irrelevance",
                                                           "live_irrelevance"], min_length=1)
    limit: int | None = Field(default=None, ge=1)  # the first N samples of each category

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in bfcl.CATEGORIES]
        if unknown:
            raise ValueError(f"unknown or multi-turn BFCL categories {unknown}; choose from "
                             f"{', '.join(bfcl.CATEGORIES)}")
        return v


class HeldOutCalls(_Spec):
    limit: int = Field(default=200, ge=1)  # held-out trajectories whose first call is asked for
    seed: int = 0


class HeldOutLoss(_Spec):
    # Held-out records whose reference replies are scored by loss (no generation): agent trajectories per
    # capability, and general questions with reference answers.
    agent: int = Field(default=100, ge=0)
    general: int = Field(default=100, ge=0)
    max_length: int = Field(default=2048, ge=16)


class Benchmarks(_Spec):
    agent_h: AgentH | None = Field(default_factory=AgentH)
    bfcl: Bfcl | None = Field(default_factory=Bfcl)
    held_out_calls: HeldOutCalls | None = Field(default_factory=HeldOutCalls)
    held_out_loss: HeldOutLoss | None = Field(default_factory=HeldOutLoss)
    backend: str = "auto"  # auto | transformers | vllm
    max_new_tokens: int = Field(default=256, ge=1)
    batch_size: int = Field(default=8, ge=1)
    base: bool = True  # also evaluate the model every cell starts from (the paper's Llama2-7B row)


class Threads(_Spec):
    """torch's CPU threads while training and while evaluating (None: torch's default, one per core). Decoding
    a tiny model is thousands of small operations, where a second thread costs more in synchronisation than it
    gains: on this project's 2-core machine one thread decodes several times faster."""

    train: int | None = Field(default=None, ge=1)
    eval: int | None = Field(default=None, ge=1)


class Experiment(_Spec):
    name: str = "experiment"
    description: str = ""
    variants: dict[str, Variant] = Field(min_length=1)
    only: list[str] | None = None  # the variants to run, in this order (default: all, in file order)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    held_out: HeldOut = Field(default_factory=HeldOut)
    model: ModelRef = Field(default_factory=ModelRef)
    pretrain: Pretrain | None = None
    train: TrainRef
    budget: Budget
    benchmarks: Benchmarks = Field(default_factory=Benchmarks)
    # Fixed seeds are not enough on their own: deterministic algorithms too (CPU results repeat exactly).
    deterministic: bool = True
    threads: Threads = Field(default_factory=Threads)
    presets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    preset: str | None = None  # the preset applied (set by `load`)

    @field_validator("variants")
    @classmethod
    def _names(cls, v: dict[str, Variant]) -> dict[str, Variant]:
        for name, variant in v.items():
            if not name or "/" in name or name.startswith("."):
                raise ValueError(f"variant name {name!r}: must be non-empty, without '/' and not start with '.'")
            variant.name = name
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError(f"seeds repeat: {v}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Experiment:
        unknown = [n for n in self.only or [] if n not in self.variants]
        if unknown:
            raise ValueError(f"only: unknown variant(s) {unknown}; the file defines {list(self.variants)}")
        if self.pretrain is not None and self.model.name_or_path:
            raise ValueError("give either pretrain (a model pretrained from scratch) or model.name_or_path, not both")
        from agentflan.experiment.paper import ROWS

        for variant in self.variants.values():
            if variant.paper is not None and variant.paper not in ROWS:
                raise ValueError(f"variants.{variant.name}.paper: unknown row {variant.paper!r}; choose from "
                                 f"{', '.join(ROWS)}")
        return self

    def selected(self) -> list[Variant]:
        return [self.variants[n] for n in self.only] if self.only else list(self.variants.values())


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: mappings merged key by key, anything else replaced.

    >>> merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
    {'a': {'x': 1, 'y': 3}, 'b': [2]}
    """
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load(path: str | Path, preset: str | None = None, overrides: list[str] | None = None) -> Experiment:
    """The experiment in ``path`` with ``preset`` and ``overrides`` applied, its paths made absolute."""
    path = Path(path)
    data = load_yaml(path)
    if preset is not None:
        presets = data.get("presets") or {}
        if not isinstance(presets, dict) or preset not in presets:
            names = ", ".join(presets) if isinstance(presets, dict) and presets else "none"
            raise UsageError(f"--preset {preset}: {path} has no such preset (it has: {names})")
        if not isinstance(presets[preset], dict):
            raise ConfigError(f"{path}: presets.{preset} must be a mapping of settings")
        data = merge(data, presets[preset])
        data["preset"] = preset
    data = apply_overrides(data, overrides or [])
    spec = validate(Experiment, data, str(path) + (f" (preset {preset})" if preset else ""))
    return _absolute(spec, path.resolve().parent)


def _absolute(spec: Experiment, base: Path) -> Experiment:
    def resolve(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    for variant in spec.variants.values():
        variant.recipe = resolve(variant.recipe)
    spec.train.config = resolve(spec.train.config)
    if spec.pretrain is not None:
        spec.pretrain.corpus.recipe = resolve(spec.pretrain.corpus.recipe)
    if spec.model.name_or_path and Path(spec.model.name_or_path).expanduser().exists():
        spec.model.name_or_path = str(Path(spec.model.name_or_path).expanduser().resolve())
    return spec
