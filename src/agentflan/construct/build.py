"""`agentflan build`: the Agent-FLAN construction pipeline, top to bottom in one function (`build`).

read inputs ─► align (chat | react) ─► + format-following ─► + negatives ─► + general mix ─► balance ─► write

Everything that can be checked is checked before any work (inputs exist, exports known, endpoint answers,
tokenizer loads). Randomness comes from (seed, record key, purpose) only. The output goes to a temporary
directory that is renamed to DIR when complete. Every accepted input record is used or counted as not used with
a reason, so that per input ``read = used + rejected``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan import __version__, formats
from agentflan.errors import ConfigError, RecordError
from agentflan.formats import exports
from agentflan.formats.base import Writer
from agentflan.paths import data_root
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sinks import sha256_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory
from agentflan.seeding import stable_hash, uniform
from agentflan.tokens import token_counter

from . import align, decompose, finished, instruct, masking, mix, negatives
from .inputs import recorded_path, resolve
from .recipe import NEGATIVE_KINDS, InputSpec, Recipe
from .replies import ChatEndpoint


@dataclass
class Item:
    """One accepted input trajectory, under a key unique in the build."""

    key: str
    traj: Trajectory
    path: str


@dataclass
class Plan:
    """What `prepare` checked, ready to run."""

    recipe: Recipe
    inputs: list[tuple[str, InputSpec, list[Path]]]  # (role, spec, files)
    writers: dict[str, Writer]
    count: Any
    counted_with: str
    endpoint: ChatEndpoint | None


@dataclass
class Ledger:
    """Per-input accounting: read-stage stats, used keys, and the reason each unused record was left out."""

    stats: dict[str, InputStats] = field(default_factory=dict)
    role: dict[str, str] = field(default_factory=dict)
    label: dict[str, str] = field(default_factory=dict)
    used: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unused: dict[str, tuple[Item, str, str]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    construction: Counter[str] = field(default_factory=Counter)
    held_out: list[Item] = field(default_factory=list)  # the recipe's held_out share, for DIR/held_out.jsonl

    def use(self, item: Item) -> None:
        self.used[item.path].add(item.key)
        self.unused.pop(item.key, None)

    def leave_out(self, item: Item, reason: str, detail: str = "") -> None:
        if item.key not in self.used[item.path]:
            self.unused[item.key] = (item, reason, detail)

    def construction_reject(self, where: str, item: Item, err: RecordError) -> None:
        reason = f"{where}:{err.reason}"
        self.construction[reason] += 1
        prov = item.traj.provenance
        self.rejects.append(Reject(item.path, reason, err.detail, line=prov.line if prov else None,
                                   index=prov.index if prov else None, field=err.field, item=item.traj.id).to_dict())


def prepare(recipe: Recipe) -> Plan:
    """Every check that needs no data work; raises `ConfigError` naming the field."""
    root = data_root()
    inputs: list[tuple[str, InputSpec, list[Path]]] = []
    seen: dict[Path, str] = {}
    for role, specs in (("agent", recipe.agent.inputs), ("tool_pool", recipe.negatives.tool_pools),
                        ("general", recipe.general.inputs)):
        for i, spec in enumerate(specs):
            field_name = f"{'negatives.tool_pools' if role == 'tool_pool' else role + '.inputs'}.{i}.path"
            try:
                files = resolve(spec.path, root)
            except ConfigError as exc:
                raise ConfigError(f"{field_name}: {exc}") from None
            if spec.format != "auto" and spec.format not in formats.readers():
                raise ConfigError(f"{field_name.removesuffix('.path')}.format: unknown format {spec.format!r}; "
                                  f"choose from auto, {', '.join(formats.readers())}")
            for f in files:
                if f.resolve() in seen:
                    raise ConfigError(f"{field_name}: {f} is already an input ({seen[f.resolve()]})")
                seen[f.resolve()] = field_name
            inputs.append((role, spec, files))
    unknown = [name for name in recipe.exports if name not in formats.writers()]
    if unknown:
        raise ConfigError(f"exports: unknown format(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(w for w in formats.writers() if w != 'canonical')}")
    writers = {name: formats.writer(name) for name in recipe.exports}
    if recipe.alignment.react_fraction > 0 and recipe.agent.inputs:
        align.react_renderer()
    try:
        count, counted_with = token_counter(recipe.tokenizer)
        count("probe")
    except Exception as exc:  # transformers raises several types for a tokenizer it cannot load
        raise ConfigError(f"tokenizer: cannot load {recipe.tokenizer!r}: {exc}") from None
    endpoint = None
    if recipe.negatives.endpoint is not None:
        endpoint = ChatEndpoint(recipe.negatives.endpoint)
        endpoint.probe()
    return Plan(recipe, inputs, writers, count, counted_with, endpoint)


def _read(plan: Plan, ledger: Ledger, progress: RecordProgress) -> dict[str, list[Item]]:
    recipe = plan.recipe
    items: dict[str, list[Item]] = {"agent": [], "tool_pool": [], "general": []}
    keys: set[str] = set()
    for role, spec, files in plan.inputs:
        taken: list[Item] = []
        for path in files:
            p = recorded_path(path, spec.path)  # provenance and manifest paths: no machine-specific prefix
            stats = InputStats(p, sha256_file(path))
            ledger.stats[p], ledger.role[p], ledger.label[p] = stats, role, spec.label
            for rec in read_file(path, spec.format, stats):
                progress.advance()
                if isinstance(rec, Reject):
                    ledger.rejects.append({**rec.to_dict(), "stage": "read"})
                    continue
                key = f"{spec.label}/{rec.id}"
                n = 1
                while key in keys:
                    n += 1
                    key = f"{spec.label}/{rec.id}~{n}"
                keys.add(key)
                meta = {**rec.metadata, "source": spec.label}
                if spec.queries_need_tools:
                    meta["queries_need_tools"] = True
                item = Item(key, rec.model_copy(update={"metadata": meta}), p)
                if role != "tool_pool" and _held_out(rec, recipe):
                    ledger.leave_out(item, "held_out", "held out for evaluation (recipe held_out)")
                    # As `kind`, the role says how to score it: a general record's reply is `general` text.
                    ledger.held_out.append(Item(key, item.traj.model_copy(update={"metadata": {**meta, "kind": role}}), p))
                    continue
                bad = sorted({f.code for f in rec.flags} & set(recipe.agent.drop_flags)) if role == "agent" else []
                if bad:
                    ledger.leave_out(item, f"flagged:{bad[0]}", "; ".join(f.detail for f in rec.flags
                                                                       if f.code == bad[0])[:300])
                    continue
                why = finished.unfinished(rec) if role == "agent" and recipe.agent.finished_only else None
                if why is not None:
                    ledger.leave_out(item, f"unfinished:{why}", finished.DETAILS[why])
                    continue
                taken.append(item)
        if spec.cap is not None and len(taken) > spec.cap:
            keep = set(mix.pick([it.key for it in taken], spec.cap, recipe.seed, "cap"))
            for it in taken:
                if it.key not in keep:
                    ledger.leave_out(it, "over_cap", f"{spec.label}: cap {spec.cap}")
            taken = [it for it in taken if it.key in keep]
        items[role].extend(taken)
    return items


def _held_out(traj: Trajectory, recipe: Recipe) -> bool:
    spec = recipe.held_out
    if spec.fraction == 0:
        return False
    query = next((m.content for m in traj.messages if m.role == "user" and m.content.strip()), None)
    key = " ".join(query.split()).lower() if query is not None else f"id:{traj.id}"
    return uniform(spec.seed, "held-out", key) < spec.fraction


def _choose_masked(agent_items: list[Item], recipe: Recipe) -> tuple[set[str], dict[str, Any]]:
    """The keys to mask: ``round(fraction × eligible)`` of the trajectories that can be masked exactly."""
    spec = recipe.masking
    report: dict[str, Any] = {"fraction": spec.fraction, "parameters": spec.parameters}
    if spec.fraction == 0:
        return set(), {**report, "masked": 0}
    reasons: Counter[str] = Counter()
    eligible: list[str] = []
    for it in agent_items:
        why = masking.ineligible(it.traj)
        if why is None:
            eligible.append(it.key)
        else:
            reasons[why] += 1
    chosen = set(mix.pick(eligible, round(spec.fraction * len(eligible)), recipe.seed, "mask"))
    return chosen, {**report, "eligible": len(eligible), "masked": len(chosen),
                    "ineligible_by_reason": dict(sorted(reasons.items()))}


def _renamed(traj: Trajectory, key: str) -> Trajectory:
    return traj.model_copy(update={"id": key})


def build(recipe: Recipe, out: str | Path, show_progress: bool = True, plan: Plan | None = None,
          overwrite: bool = False, argv: list[str] | None = None) -> dict[str, Any]:
    """Run the recipe and write DIR (see `RunDir`: refused before any work when DIR holds something else, unless
    ``overwrite``); returns the manifest."""
    plan = plan or prepare(recipe)
    files = [f for _, _, paths in plan.inputs for f in paths]
    with RunDir(Path(out), "build", inputs=files, overwrite=overwrite, argv=argv) as run:
        records, ledger, counts = _construct(plan, show_progress)
        manifest = _write(run, records, plan, ledger, counts, show_progress)
    if plan.endpoint is not None:
        plan.endpoint.close()
    return manifest


def _construct(plan: Plan, show_progress: bool) -> tuple[list[Trajectory], Ledger, dict[str, Any]]:
    """Every step of the recipe: the records, the ledger of what was not used, and the manifest so far."""
    recipe = plan.recipe
    seed = recipe.seed
    ledger = Ledger()
    with RecordProgress("build: read", enabled=show_progress) as progress:
        items = _read(plan, ledger, progress)
    for item in items["agent"] + items["general"]:
        ledger.leave_out(item, "not_selected")

    # 1. Alignment: a seeded, exact share in ReAct, the rest as conversation; a seeded, exact share of the
    # trajectories that allow it with their functions masked first (off unless the recipe asks).
    agent_items = items["agent"]
    react_keys = align.choose_react([it.key for it in agent_items], recipe.alignment.react_fraction, seed)
    masked_keys, masking_report = _choose_masked(agent_items, recipe)
    records: list[Trajectory] = []
    rewrites: Counter[str] = Counter()
    with RecordProgress("build: align", total=len(agent_items), enabled=show_progress) as progress:
        for it in agent_items:
            progress.advance()
            try:
                source = _renamed(it.traj, it.key)
                if it.key in masked_keys:
                    source = masking.mask(source, seed, recipe.masking.parameters)
                rendered = (align.render_react_kind(source) if it.key in react_keys
                            else align.render_chat(source, seed, rewrites))
            except RecordError as err:
                # Not used at all (unless a later step uses it), so counted once, against its input.
                ledger.leave_out(it, f"align:{err.reason}", err.detail)
                continue
            records.append(rendered)
            ledger.use(it)

    # 2. Format-following samples from real first calls, in the context they were made in, grounded.
    sources = [s for it in agent_items if recipe.instruct.count and (s := instruct.first_call(it.key, it.traj, seed))]
    by_key = {it.key: it for it in agent_items}
    made, instruct_report = instruct.make_samples(sources, recipe.instruct.count, recipe.instruct.formats, seed)
    for sample in made:
        ledger.use(by_key[sample.id.removeprefix("instruct/")])
    records.extend(made)

    # 3. Negatives.
    neg_spec = recipe.negatives
    pool_items = items["tool_pool"]
    for it in pool_items:
        if it.traj.tools:
            ledger.use(it)
        else:
            ledger.leave_out(it, "no_tools", "a tool-pool record without tools")
    pool = negatives.ToolPool([it.traj for it in agent_items + pool_items])
    check = negatives.IrrelevanceCheck(neg_spec.max_overlap)
    maker = negatives.NegativeMaker(seed, pool, check, neg_spec.irrelevant_tools, list(neg_spec.reply_order),
                                    plan.endpoint, rewrites=rewrites)
    item_of: dict[str, Item] = {}
    tool_queries: list[negatives.Query] = []
    for it in agent_items + pool_items:
        q = negatives.tool_query(it.key, it.traj)
        if q is not None:
            tool_queries.append(q)
            item_of[it.key] = it
    general_queries: list[negatives.Query] = []
    for it in items["general"]:
        q = negatives.general_query(it.key, it.traj)
        if q is not None and (q.reference or plan.endpoint is not None):
            general_queries.append(q)
            item_of[it.key] = it
    agent_keys = {it.key for it in agent_items}
    negatives_made: Counter[str] = Counter()
    negatives_skipped: dict[str, Counter[str]] = defaultdict(Counter)  # queries passed over, by reason
    negatives_wanted = neg_spec.wanted(len(records))
    with RecordProgress("build: negatives", total=sum(negatives_wanted.values()), enabled=show_progress) as progress:
        for circumstance in NEGATIVE_KINDS:
            wanted = negatives_wanted[circumstance]
            if not wanted:
                continue
            pool_of = general_queries if circumstance == "tools_given_no_need" else tool_queries
            if circumstance == "distractor_tools":  # a positive to widen: an agent trajectory that calls
                pool_of = [q for q in pool_of if q.key in agent_keys and q.traj.calls()]
            make = getattr(maker, circumstance)
            asked: set[str] = set()  # ToolBench's per-step sequences of one search share their query
            for q in negatives.rank(pool_of, seed, circumstance):
                if negatives_made[circumstance] >= wanted:
                    break
                if q.text in asked:
                    negatives_skipped[circumstance]["same_query"] += 1
                    continue
                if circumstance == "missing_argument" and maker.strippable(q) is None:
                    # no required value the request writes once and can do without
                    negatives_skipped[circumstance]["no_strippable_argument"] += 1
                    continue
                try:
                    records.append(make(q, negatives_made[circumstance]))
                except RecordError as err:
                    ledger.construction_reject(f"negative:{circumstance}", item_of[q.key], err)
                    continue
                negatives_made[circumstance] += 1
                asked.add(q.text)
                ledger.use(item_of[q.key])
                progress.advance()

    # 4. General data: the ratio applies to everything built so far (the agent side).
    agent_side = len(records)
    per_agent = recipe.general.general_per_agent()
    wanted_general = mix.general_count(agent_side, per_agent)
    general_by_key = {it.key: it for it in items["general"]}
    used_general = 0
    with RecordProgress("build: general", total=wanted_general, enabled=show_progress) as progress:
        for key in mix.pick(list(general_by_key), len(general_by_key), seed):
            if used_general >= wanted_general:
                break
            it = general_by_key[key]
            try:
                records.append(_renamed(mix.as_general(it.traj, plan.endpoint), key))
            except RecordError as err:
                ledger.leave_out(it, f"general:{err.reason}", err.detail)
                continue
            ledger.use(it)
            used_general += 1
            progress.advance()

    # 5. Balance supervised tokens per capability, over the whole output.
    records, capability_report = decompose.balance(records, recipe.balance.weights, seed, plan.count,
                                                   recipe.balance.mode, recipe.balance.target)
    records.sort(key=lambda t: (stable_hash(seed, t.id, "order"), t.id))

    manifest = _manifest(plan, ledger, records, negatives_made, negatives_wanted, capability_report, agent_side,
                         mix.mix_report(agent_side, wanted_general, len(general_by_key), used_general, per_agent),
                         check.report(), maker.reply_sources)
    manifest["prompt_rewrites"] = dict(sorted(rewrites.items()))
    manifest["instruct"] = instruct_report
    manifest["negatives_skipped"] = {k: dict(sorted(v.items())) for k, v in sorted(negatives_skipped.items())}
    manifest["masking"] = {**masking_report, "in_output": sum("masked" in t.metadata for t in records)}
    manifest["held_out"] = {**recipe.held_out.model_dump(), "records": len(ledger.held_out),
                            "by_source": dict(sorted(Counter(it.traj.metadata["source"]
                                                             for it in ledger.held_out).items()))}
    return records, ledger, manifest


def _unused_rejects(ledger: Ledger) -> Iterator[dict[str, Any]]:
    for key in sorted(ledger.unused):
        item, reason, detail = ledger.unused[key]
        prov = item.traj.provenance
        yield Reject(item.path, reason, detail, line=prov.line if prov else None, index=prov.index if prov else None,
                     item=item.traj.id).to_dict()


def _manifest(plan: Plan, ledger: Ledger, records: list[Trajectory], negatives_made: Counter[str],
              negatives_wanted: dict[str, int], capability_report: dict[str, Any], agent_side: int,
              mix_report: dict[str, Any], irrelevance: dict[str, Any],
              reply_sources: dict[str, int]) -> dict[str, Any]:
    recipe = plan.recipe
    unused_by_path: dict[str, Counter[str]] = defaultdict(Counter)
    for item, reason, _ in ledger.unused.values():
        unused_by_path[item.path][reason] += 1
    inputs = []
    reasons: Counter[str] = Counter(ledger.construction)
    for path, stats in ledger.stats.items():
        left = unused_by_path[path]
        by_reason = Counter(stats.rejects_by_reason) + left
        reasons.update(by_reason)
        inputs.append({
            "path": path, "name": ledger.label[path], "role": ledger.role[path], "format": stats.format,
            "sha256": stats.sha256, "licence": stats.licence, "read": stats.read, "used": len(ledger.used[path]),
            "rejected": stats.rejected + sum(left.values()), "rejects_by_reason": dict(sorted(by_reason.items())),
        })
    kinds = Counter(t.metadata.get("kind") for t in records)
    agent_like = kinds.get("agent", 0) + kinds.get("react", 0)
    return {
        "agentflan_version": __version__,
        "command": "build",
        "recipe": recipe.model_dump(mode="json"),
        "seed": recipe.seed,
        "records": len(records),
        "by_kind": {k: kinds.get(k, 0) for k in ("agent", "react", "instruct", "negative", "general")},
        "by_source": dict(sorted(Counter(str(t.metadata.get("source")) for t in records).items())),
        "negatives": {k: negatives_made.get(k, 0) for k in NEGATIVE_KINDS},
        "negatives_requested": negatives_wanted,
        "negative_share": {"target": recipe.negatives.share,
                           "actual": round(sum(negatives_made.values()) / agent_side, 4) if agent_side else None,
                           "of": "agent side: agent, react, format-following and negative records"},
        "reply_sources": dict(sorted(reply_sources.items())),
        "irrelevance_check": irrelevance,
        "react_fraction": {"target": recipe.alignment.react_fraction, "react": kinds.get("react", 0),
                           "agent_and_react": agent_like,
                           "actual": round(kinds.get("react", 0) / agent_like, 4) if agent_like else None},
        "instruct_formats": dict(sorted(Counter(t.metadata.get("instruct_format") for t in records
                                                if t.metadata.get("kind") == "instruct").items())),
        "mix": mix_report,
        "capability_tokens": {"counted_with": plan.counted_with,
                              "scope": "supervised assistant tokens of every output record", **capability_report},
        "rejected": len(ledger.rejects) + len(ledger.unused),
        "rejects_by_reason": dict(sorted(reasons.items())),
        "construction_rejected": sum(ledger.construction.values()),
        "inputs": inputs,
    }


def _write(run: RunDir, records: list[Trajectory], plan: Plan, ledger: Ledger, manifest: dict[str, Any],
           show_progress: bool) -> dict[str, Any]:
    export_rejects: Counter[str] = Counter()
    with RecordProgress("build: write", total=len(records), enabled=show_progress) as progress:
        sink = run.sink("canonical.jsonl", format="canonical")
        for traj in records:
            sink.write(traj.to_dict())
        if plan.recipe.held_out.fraction > 0:
            sink = run.sink("held_out.jsonl", format="canonical")
            for it in sorted(ledger.held_out, key=lambda it: it.key):
                sink.write(_renamed(it.traj, it.key).to_dict())
        for name, writer in plan.writers.items():
            sink = run.sink(f"{name}.jsonl", format=name)
            masks: Counter[str] = Counter()
            for traj in records:
                progress.advance()
                try:
                    sink.write(writer.write(traj))
                    masks.update(exports.masks_not_held(traj, exports.MASKS.get(name, "none")))
                except RecordError as err:
                    export_rejects[f"export:{name}:{err.reason}"] += 1
                    prov = traj.provenance
                    ledger.rejects.append(Reject(prov.source if prov else "?", f"export:{name}:{err.reason}",
                                                 err.detail, item=traj.id).to_dict())
            sink.close()
            run.annotate(f"{name}.jsonl", masks=exports.mask_summary(name, masks))
            if writer.companion is not None:
                writer.companion(run.folder / f"{name}.jsonl")
    for row in [*ledger.rejects, *_unused_rejects(ledger)]:
        run.rejects.write(row)
    manifest["export_rejected"] = dict(sorted(export_rejects.items()))
    manifest["rejected"] += sum(export_rejects.values())
    manifest["rejects_by_reason"] = dict(sorted((Counter(manifest["rejects_by_reason"]) + export_rejects).items()))
    return run.manifest(**manifest, input_stats=list(ledger.stats.values()))
