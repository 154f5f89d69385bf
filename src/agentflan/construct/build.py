"""`agentflan build`: the Agent-FLAN construction, a recipe of named stages (`stages`) over one state, read top
to bottom in `build`:

read ─► mask ─► align ─► instruct ─► negatives ─► general ─► balance ─► export

Everything that can be checked is checked before any work (`prepare`: inputs exist, exports known, endpoint
answers, tokenizer loads). Randomness comes from (seed, record key, purpose) only. The output folder appears
when complete (`RunDir`). Every accepted input record is used or counted as not used with a reason, so that per
input ``read = used + rejected``; each stage's counts are in the manifest's ``stages``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflan import formats
from agentflan.errors import ConfigError
from agentflan.formats.base import Writer
from agentflan.paths import data_root
from agentflan.pipeline.executors import note, open_executor
from agentflan.pipeline.inputs import InputFile, Inputs
from agentflan.pipeline.run import RunDir
from agentflan.tokens import token_counter

from . import stages
from .inputs import recorded_path, resolve
from .recipe import InputSpec, Recipe
from .replies import ChatEndpoint
from .store import Store


@dataclass
class Plan:
    """What `prepare` checked, ready to run."""

    recipe: Recipe
    inputs: Inputs
    specs: list[tuple[str, InputSpec, list[InputFile]]]  # (role, spec, files)
    writers: dict[str, Writer]
    count: Any
    counted_with: str
    endpoint: ChatEndpoint | None


def build(recipe: Recipe, out: str | Path, show_progress: bool = True, plan: Plan | None = None,
          overwrite: bool = False, argv: list[str] | None = None, in_memory: bool = False,
          executor: str | None = None, workers: int = 1, ray_address: str | None = None) -> dict[str, Any]:
    """Run the recipe and write DIR (see `RunDir`: refused before any work when DIR holds something else, unless
    ``overwrite``); returns the manifest. The trajectories being worked on are spilled to a temporary file and
    read back when a stage works on them (`store`), so memory holds an index entry per record; ``in_memory``
    keeps them in memory instead (the same bytes written). The inputs are read under ``executor`` (`executors`:
    local, process or ray, with ``workers``); the bytes written are the same under each."""
    plan = plan or prepare(recipe)
    state = stages.BuildState(recipe, plan.inputs, plan.specs, plan.count, plan.endpoint, show_progress,
                              store=Store(spill=not in_memory))
    with open_executor(executor, workers, ray_address) as ex, state.store, \
            RunDir(Path(out), "build", inputs=plan.inputs, overwrite=overwrite, argv=argv) as run:
        state.executor = ex
        stages.read(state)       # inputs → accepted items: finished, unflagged, within each input's cap
        stages.mask(state)       # Hammer's function masking of a seeded share (off unless the recipe asks)
        stages.align(state)      # a seeded share in ReAct, the rest as natural conversation
        stages.instruct(state)   # format-following samples from real first calls
        stages.negatives(state)  # the five circumstances where the right reply is no call (or asks back)
        stages.general(state)    # general data at the recipe's ratio
        stages.balance(state)    # supervised tokens per capability, as seeded loss masks (or weights)
        export_rejects = stages.export(state, run, plan.writers)
        manifest = run.manifest(**build_manifest(state, plan.counted_with, export_rejects),
                                executor=ex.describe())
    note(ex)
    if plan.endpoint is not None:
        plan.endpoint.close()
    return manifest


def prepare(recipe: Recipe) -> Plan:
    """Every check that needs no data work; raises `ConfigError` naming the field."""
    root = data_root()
    inputs = Inputs()
    specs: list[tuple[str, InputSpec, list[InputFile]]] = []
    seen: dict[str, str] = {}  # real path → the field naming it (strings: a Path each cost ~500 bytes per file)
    for role, given in (("agent", recipe.agent.inputs), ("tool_pool", recipe.negatives.tool_pools),
                        ("general", recipe.general.inputs)):
        for i, spec in enumerate(given):
            field_name = f"{'negatives.tool_pools' if role == 'tool_pool' else role + '.inputs'}.{i}.path"
            try:
                files = resolve(spec.path, root)
            except ConfigError as exc:
                raise ConfigError(f"{field_name}: {exc}") from None
            if spec.format != "auto" and spec.format not in formats.readers():
                raise ConfigError(f"{field_name.removesuffix('.path')}.format: unknown format {spec.format!r}; "
                                  f"choose from auto, {', '.join(formats.readers())}")
            for f in files:
                real = os.path.realpath(f)
                if real in seen:
                    raise ConfigError(f"{field_name}: {f} is already an input ({seen[real]})")
                seen[real] = field_name
            # Recorded relative to the data root (or as the recipe spells them): no machine-specific prefix.
            specs.append((role, spec, [f for path in files
                                       for f in inputs.add([path], spec.format, source=recorded_path(path, spec.path))]))
    unknown = [name for name in recipe.exports if name not in formats.writers()]
    if unknown:
        raise ConfigError(f"exports: unknown format(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(w for w in formats.writers() if w != 'canonical')}")
    writers = {name: formats.writer(name) for name in recipe.exports}
    try:
        count, counted_with = token_counter(recipe.tokenizer)
        count("probe")
    except Exception as exc:  # transformers raises several types for a tokenizer it cannot load
        raise ConfigError(f"tokenizer: cannot load {recipe.tokenizer!r}: {exc}") from None
    endpoint = None
    if recipe.negatives.endpoint is not None:
        endpoint = ChatEndpoint(recipe.negatives.endpoint)
        endpoint.probe()
    return Plan(recipe, inputs, specs, writers, count, counted_with, endpoint)


def build_manifest(state: stages.BuildState, counted_with: str, export_rejects: dict[str, int]) -> dict[str, Any]:
    """The build's own manifest fields: what was made (by kind, source, circumstance, capability), each
    stage's report, and every input's ledger (``read = used + rejected``)."""
    recipe, report, ledger = state.recipe, state.report, state.ledger
    inputs, reasons = _input_entries(state)
    reasons.update(export_rejects)
    summaries = state.records.summaries()  # records by (kind, source, instruct format, masked)

    def count(field_at: int, kind: str | None = None, as_text: bool = False) -> Counter[Any]:
        found: Counter[Any] = Counter()
        for values, n in summaries.items():
            if kind is None or values[0] == kind:
                found[str(values[field_at]) if as_text else values[field_at]] += n
        return found

    kinds = count(0)
    agent_like = kinds.get("agent", 0) + kinds.get("react", 0)
    made = sum(report["negatives"].values())
    return {
        "recipe": recipe.model_dump(mode="json"),
        "seed": recipe.seed,
        "records": len(state.records),
        "by_kind": {k: kinds.get(k, 0) for k in ("agent", "react", "instruct", "negative", "general")},
        "by_source": dict(sorted(count(1, as_text=True).items())),
        **{k: report[k] for k in ("negatives", "negatives_requested", "reply_sources", "irrelevance_check",
                                  "instruct", "negatives_skipped", "mix")},
        "negative_share": {"target": recipe.negatives.share,
                           "actual": round(made / state.agent_side, 4) if state.agent_side else None,
                           "of": "agent side: agent, react, format-following and negative records"},
        "react_fraction": {"target": recipe.alignment.react_fraction, "react": kinds.get("react", 0),
                           "agent_and_react": agent_like,
                           "actual": round(kinds.get("react", 0) / agent_like, 4) if agent_like else None},
        "instruct_formats": dict(sorted(count(2, "instruct").items())),
        "capability_tokens": {"counted_with": counted_with,
                              "scope": "supervised assistant tokens of every output record",
                              **report["capability_balance"]},
        "prompt_rewrites": dict(sorted(state.rewrites.items())),
        "masking": {**report["masking"], "in_output": count(3)[True]},
        "held_out": {**recipe.held_out.model_dump(), "records": len(ledger.held_out),
                     "by_source": dict(sorted(Counter(it.traj.metadata["source"] for it in ledger.held_out).items()))},
        "rejected": len(ledger.rejects) + ledger.left_out_count(),
        "rejects_by_reason": dict(sorted(reasons.items())),
        "construction_rejected": sum(ledger.construction.values()),
        "export_rejected": export_rejects,
        "inputs": inputs,
        "stages": state.stages,
    }


def _input_entries(state: stages.BuildState) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Each input's manifest entry, and the rejects of the whole build by reason (read, left out, construction)."""
    ledger = state.ledger
    unused_by_path = ledger.left_out_by_path()
    used = stages.used_by_path(state)
    entries = []
    reasons: Counter[str] = Counter(ledger.construction)
    for path, stats in state.inputs.stats.items():
        left = unused_by_path.get(path, Counter())
        by_reason = Counter(stats.rejects_by_reason) + left
        reasons.update(by_reason)
        entries.append({
            "path": path, "name": ledger.role_and_label[path][1], "role": ledger.role_and_label[path][0],
            "format": stats.format,
            "sha256": stats.sha256, "licence": stats.licence, "read": stats.read, "used": used[path],
            "rejected": stats.rejected + sum(left.values()), "rejects_by_reason": dict(sorted(by_reason.items())),
        })
    return entries, reasons
