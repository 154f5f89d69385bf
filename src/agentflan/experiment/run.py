"""`agentflan experiment`: the grid, top to bottom in one function (`run_experiment`).

check everything ─► build each variant (and the pretraining corpus) ─► pretrain ─► benchmarks (Agent-H once,
decontaminated against every build; held-out calls and losses) ─► evaluate the starting model ─► for each
variant × seed: train on the same token budget, evaluate ─► report

Every step is a unit (`experiment.units`): its inputs hashed, its marker written last, skipped on a rerun when
done with the same inputs. A killed experiment, run again, resumes at the first unfinished unit; what it then
writes equals what an uninterrupted run writes (on a CPU, byte for byte: fixed seeds, deterministic algorithms,
greedy decoding, replies cached per whole request).

Layout of DIR::

    experiment.json                 the experiment as run (preset and overrides applied)
    builds/<variant>/               `agentflan build` output (canonical.jsonl, held_out.jsonl, manifest.json)
    pretrain/{corpus-build/, corpus.jsonl, train/}   the pretraining corpus and run (when pretraining)
    benchmarks/agent_h/             Agent-H, built once (agent_h.jsonl, manifest.json)
    benchmarks/held_out/            calls.jsonl, loss-agent.jsonl, loss-general.jsonl, manifest.json
    cells/<variant>/seed<N>/train/  `agentflan train` output (metrics.jsonl, train_summary.json, model/)
    cells/<variant>/seed<N>/eval/   `agentflan eval` output and metrics.json
    base/eval/                      the starting model's evaluation
    cache/replies/                  replies per (model, prompt), shared by every evaluation
    units/, timings.jsonl           unit markers; seconds per unit (the only file that differs between runs)
    report.md, report.html, report.json, figures/
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentflan import __version__
from agentflan.config import apply_overrides, load_config, load_yaml, validate
from agentflan.construct.build import Plan, build, prepare
from agentflan.construct.recipe import Recipe
from agentflan.errors import ConfigError, UsageError
from agentflan.experiment import heldout
from agentflan.experiment.grid import Cell, Grid
from agentflan.experiment.spec import Experiment, RecipeRef
from agentflan.experiment.units import Lock, Units, sha256_files
from agentflan.paths import data_root
from agentflan.pipeline.sinks import write_json_atomic
from agentflan.train.config import TrainConfig

EXPERIMENT_FILE = "experiment.json"
NO_CHECKPOINTS = 10**9  # save_steps: a killed cell is trained again from its start, so checkpoints are waste


def run_experiment(spec: Experiment, out: Path, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run (or resume) the experiment in ``out``; returns what ran, what was skipped, and the report's paths."""
    out = Path(os.path.abspath(out))
    _refuse_foreign(out)
    grid = check(spec, out)
    with Lock(out):
        write_json_atomic(out / EXPERIMENT_FILE, {"agentflan_version": __version__,
                                                  "experiment": spec.model_dump(mode="json")})
        _deterministic(spec.deterministic)
        units = Units(out, log)
        _builds(grid, units)
        _pretrain(grid, units)
        suite = _benchmarks(grid, units)
        if grid.base_model is not None and spec.benchmarks.base:
            _evaluate(grid, units, "eval/base", grid.base_model, grid.keys.get("pretrain/train", grid.base_model),
                      out / "base" / "eval", suite)
        for cell in grid.cells:
            _train(grid, units, cell)
            _evaluate(grid, units, f"eval/{cell.variant}/seed{cell.seed}", str(cell.folder / "train" / "model"),
                      cell.key, cell.folder / "eval", suite)
        report = _report(grid, units)
    return {"ran": units.ran, "skipped": units.skipped, **report}


# -- before any work -------------------------------------------------------------------------------------------

def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / EXPERIMENT_FILE).exists():
        raise UsageError(f"-o {out}: a folder that holds other things and no {EXPERIMENT_FILE} (not an "
                         "experiment's folder); choose a new or empty folder")


def recipe_of(ref: RecipeRef, spec: Experiment) -> Recipe:
    """A variant's recipe with its overrides, the experiment's held-out split, and no exports (the experiment
    trains from canonical.jsonl)."""
    held = [f"held_out.fraction={spec.held_out.fraction}", f"held_out.seed={spec.held_out.seed}"]
    return load_config(ref.recipe, Recipe, [*ref.set, *held, "exports=[]"])


def check(spec: Experiment, out: Path) -> Grid:
    """Every recipe, input and training config validated (`ConfigError` naming the field) before any work."""
    grid = Grid(spec, out, data_root())
    for variant in spec.selected():
        grid.recipes[variant.name] = _checked_recipe(variant, spec, f"variants.{variant.name}")
    if spec.pretrain is not None:
        grid.corpus = _checked_recipe(spec.pretrain.corpus, spec, "pretrain.corpus")
        # Pretraining trains every weight of a new model: LoRA settings meant for the cells do not apply.
        grid.pretrain = _train_config(spec, ["lora=null", *spec.pretrain.set], out / "pretrain" / "corpus.jsonl",
                                      out / "pretrain" / "train", 0, spec.pretrain.tokens, None)
        if grid.pretrain.model.tiny is None:
            raise ConfigError(f"{spec.train.config}: pretraining needs a model trained from scratch (model.tiny); "
                              "for a pretrained model give model.name_or_path and no pretrain")
        grid.base_model = str(out / "pretrain" / "train" / "model")
    else:
        grid.base_model = spec.model.name_or_path
    start = grid.base_model
    for variant in spec.selected():
        for seed in spec.seeds:
            folder = out / "cells" / variant.name / f"seed{seed}"
            cfg = _train_config(spec, [], out / "builds" / variant.name, folder / "train", seed,
                                spec.budget.tokens, start)
            grid.cells.append(Cell(variant.name, seed, folder, cfg))
    if grid.base_model is None:
        grid.base_model = grid.cells[0].config.model.name_or_path if grid.cells else None
    return grid


def _checked_recipe(ref: RecipeRef, spec: Experiment, where: str) -> tuple[Recipe, Plan]:
    try:
        recipe = recipe_of(ref, spec)
        return recipe, prepare(recipe)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _train_config(spec: Experiment, extra: list[str], data: Path, output: Path, seed: int, tokens: int,
                  model: str | None) -> TrainConfig:
    raw = apply_overrides(load_yaml(spec.train.config), [*spec.train.set, *extra])
    raw.update(data=str(data), output_dir=str(output), seed=seed, max_tokens=tokens, save_steps=NO_CHECKPOINTS,
               plot=False, resume_from_checkpoint=False)
    if model is not None:
        raw["model"] = {**(raw.get("model") or {}), "name_or_path": model, "tiny": None}
    return validate(TrainConfig, raw, spec.train.config)


def _deterministic(on: bool) -> None:
    if not on:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (GPU presets)
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)


# -- the units -------------------------------------------------------------------------------------------------

def _files_of(plan: Plan) -> dict[str, str]:
    """sha256 of every file the build reads, under the name its manifest records (relative to the data root)."""
    files = {f.source: f.path for _, _, group in plan.specs for f in group}
    hashes = sha256_files(list(files.values()))
    return {source: hashes[str(path)] for source, path in files.items()}


def _build(grid: Grid, units: Units, name: str, recipe: Recipe, plan: Plan, folder: Path) -> str:
    inputs = {"recipe": recipe.model_dump(mode="json"), "files": _files_of(plan), "agentflan": __version__}

    def work() -> dict[str, Any]:
        m = build(recipe, folder, show_progress=False, plan=plan, overwrite=True)
        cap = m["capability_tokens"]
        return {"records": m["records"], "by_kind": m["by_kind"], "held_out": m["held_out"]["records"],
                "negatives": m["negatives"], "capability_tokens": {"before": cap["before"], "after": cap["after"],
                                                                   "counted_with": cap["counted_with"]}}

    key, _ = units.run(name, inputs, [folder], work)
    grid.keys[name] = key
    return key


def _builds(grid: Grid, units: Units) -> None:
    for name, (recipe, plan) in grid.recipes.items():
        _build(grid, units, f"build/{name}", recipe, plan, grid.out / "builds" / name)


def _pretrain(grid: Grid, units: Units) -> None:
    spec = grid.spec
    if spec.pretrain is None or grid.corpus is None or grid.pretrain is None:
        return
    from agentflan.experiment.pretrain import write_corpus

    folder = grid.out / "pretrain"
    corpus_key = _build(grid, units, "pretrain/corpus-build", *grid.corpus, folder / "corpus-build")
    corpus = folder / "corpus.jsonl"
    texts = spec.pretrain.texts
    key, _ = units.run("pretrain/corpus", {"build": corpus_key, "texts": texts},
                       [corpus], lambda: write_corpus(folder / "corpus-build", texts, corpus))
    grid.keys["pretrain/corpus"] = key
    cfg = grid.pretrain
    key, _ = units.run("pretrain/train", {"corpus": key, "config": _portable(grid, cfg), "agentflan": __version__},
                       [folder / "train"], lambda: _fit(cfg, spec.threads.train))
    grid.keys["pretrain/train"] = key


def _portable(grid: Grid, cfg: TrainConfig) -> dict[str, Any]:
    """A training config as a unit input: paths inside DIR written relative to it, so the key does not depend on
    where DIR is."""
    def strip(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(str(grid.out)):
            return "$DIR" + value[len(str(grid.out)):]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(cfg.model_dump(mode="json"))


def _fit(cfg: TrainConfig, threads: int | None) -> dict[str, Any]:
    from agentflan.train.trainer import train

    with _threads(threads):
        summary = train(cfg, show_progress=False)
    _free()
    result = summary["result"]
    return {"global_step": result["global_step"], "training_loss": round(result["training_loss"], 6),
            "budget": summary.get("budget"), "labels": summary["labels"]}


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``n`` for a step (None: left as they are)."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _free() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _benchmarks(grid: Grid, units: Units) -> Any:
    from agentflan.evaluate import agent_h
    from agentflan.experiment.evaluation import suite

    spec, out = grid.spec, grid.out
    builds = {name: grid.keys[f"build/{name}"] for name in grid.recipes}
    trained_on = [out / "builds" / name / "canonical.jsonl" for name in grid.recipes]
    if spec.pretrain is not None:
        builds["pretrain-corpus"] = grid.keys["pretrain/corpus"]
        trained_on.append(out / "pretrain" / "corpus.jsonl")
    bench = spec.benchmarks
    agent_h_dir = None
    if bench.agent_h is not None:
        agent_h_dir = out / "benchmarks" / "agent_h"
        sources = [p for s in agent_h.SOURCES if (p := grid.data / s.path).exists()]
        files = sorted(f for p in sources for f in ([p] if p.is_file() else p.rglob("*.json*")))
        limit, seed = bench.agent_h.limit, bench.agent_h.seed

        def make_agent_h() -> dict[str, Any]:
            result = agent_h.build(grid.data, seed=seed, limit=limit, exclude=trained_on)
            agent_h.write(result, agent_h_dir)
            return {k: result.manifest[k] for k in ("samples", "by_circumstance", "pools")} | {
                "excluded": result.manifest.get("excluded", {}).get("dropped", 0)}

        key, _ = units.run("benchmarks/agent_h", {"trained_on": builds, "limit": limit, "seed": seed,
                                                  "sources": {os.path.relpath(f, grid.data): h for f, h in
                                                              sha256_files(files).items()},
                                                  "agentflan": __version__}, [agent_h_dir], make_agent_h)
        grid.keys["benchmarks/agent_h"] = key
    held_dir = out / "benchmarks" / "held_out"
    calls_file = held_dir / "calls.jsonl"
    loss_files = {"agent": held_dir / "loss-agent.jsonl", "general": held_dir / "loss-general.jsonl"}

    def make_held_out() -> dict[str, Any]:
        records = heldout.read_held_out(out / "builds" / name for name in grid.recipes)
        manifest: dict[str, Any] = {"held_out_records": len(records)}
        held_dir.mkdir(parents=True, exist_ok=True)
        if bench.held_out_calls is not None:
            samples, manifest["calls"] = heldout.call_samples(records, bench.held_out_calls.limit,
                                                              bench.held_out_calls.seed)
            heldout.write_samples(samples, calls_file)
        if bench.held_out_loss is not None:
            sets = heldout.loss_sets(records, bench.held_out_loss.agent, bench.held_out_loss.general, 0)
            manifest["loss"] = {}
            for name, items in sets.items():
                if items:
                    heldout.write_trajectories(items, loss_files[name])
                manifest["loss"][name] = len(items)
        write_json_atomic(held_dir / "manifest.json", manifest)
        return manifest

    key, _ = units.run("benchmarks/held_out", {"builds": {n: builds[n] for n in grid.recipes},
                                                  "calls": bench.held_out_calls and bench.held_out_calls.model_dump(),
                                                  "loss": bench.held_out_loss and bench.held_out_loss.model_dump()},
                          [held_dir], make_held_out)
    grid.keys["benchmarks/held_out"] = key
    return suite(bench, grid.data, agent_h_dir, calls_file if calls_file.exists() else None,
                 {n: p for n, p in loss_files.items() if p.exists()}, out)


def _train(grid: Grid, units: Units, cell: Cell) -> None:
    name = f"train/{cell.variant}/seed{cell.seed}"
    inputs = {"build": grid.keys[f"build/{cell.variant}"], "start": grid.keys.get("pretrain/train"),
              "config": _portable(grid, cell.config), "agentflan": __version__}
    cell.key, _ = units.run(name, inputs, [cell.folder / "train"], lambda: _fit(cell.config, grid.spec.threads.train))
    grid.keys[name] = cell.key


def _evaluate(grid: Grid, units: Units, name: str, model: str, model_id: str, folder: Path, tests: Any) -> None:
    from agentflan.evaluate.backends import make_backend
    from agentflan.experiment.cache import CachedBackend
    from agentflan.experiment.evaluation import evaluate

    bench = grid.spec.benchmarks
    settings = {"backend": bench.backend, "max_new_tokens": bench.max_new_tokens, "decoding": "greedy"}
    shown = grid.rel(Path(model)) if Path(model).is_absolute() and Path(model).is_relative_to(grid.out) else model
    backend = CachedBackend(lambda: make_backend(bench.backend, model=model, max_new_tokens=bench.max_new_tokens,
                                                 batch_size=bench.batch_size),
                            model_id, settings, grid.out / "cache" / "replies",
                            {**settings, "model": shown, "batch_size": bench.batch_size})
    inputs = {"model": model_id, "benchmarks": {k: v for k, v in grid.keys.items() if k.startswith("benchmarks/")},
              "settings": bench.model_dump(mode="json"), "agentflan": __version__}

    def work() -> dict[str, Any]:
        with _threads(grid.spec.threads.eval):
            evaluate(model, backend, tests, bench, folder)
        _free()
        return {"metrics": "metrics.json", "cache": {"hits": backend.hits, "generated": backend.misses}}

    grid.keys[name], _ = units.run(name, inputs, [folder], work)


def _report(grid: Grid, units: Units) -> dict[str, Any]:
    from agentflan.experiment.report import write_report

    out = grid.out
    inputs = {"units": dict(sorted(grid.keys.items())), "experiment": {
        k: v for k, v in grid.spec.model_dump(mode="json").items() if k not in ("presets",)}}
    paths = [out / "report.md", out / "report.html", out / "report.json", out / "figures"]
    units.run("report", inputs, paths, lambda: write_report(grid))
    return {"report": str(out / "report.md"), "html": str(out / "report.html")}
