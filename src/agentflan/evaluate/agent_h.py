"""Open Agent-H: the paper's hallucination benchmark (§4.3), rebuilt from data anyone can obtain.

The paper's Agent-H (1,845 samples from glaive-function-calling-v2) was never released. This one follows its
design: the four circumstances of Fig. 6, each posed at two format levels.

=============  ==============================  ================================  ========================
circumstance   tools in the prompt             query                             right reply
=============  ==============================  ================================  ========================
``a``          relevant (BFCL simple/multiple) needs a tool                      the gold call
``b``          irrelevant (BFCL irrelevance,   cannot use them / needs no tool   plain answer, no call
               or a BFCL tool set + a general
               query)
``c``          none                            needs a tool (ToolBench, BFCL,    plain answer, no call
                                               ToolTalk, API-Bank queries)
``d``          none                            general (self-instruct, MT-Bench) plain answer, no call
=============  ==============================  ================================  ========================

Format levels: ``react`` (a system prompt asking for ``Thought:/Action:/Action Input:``) and ``general`` (a
system prompt asking for a JSON call). The same query appears at both levels.

Metrics, exactly as the paper defines them, over the no-call samples (b, c, d) of each level: H_ReAct and
H_General = percent of replies that show the level's call keywords (ReAct: ``Thought:``/``Action:``; general:
"I will use", "I need to call" and the like) **or** a call; HScore = 0.5·((100−H_ReAct)+(100−H_General)).
Beyond the paper: the strict outcome rates of every circumstance and level, and call accuracy on ``a``.

Decontamination: the sources above are the same public corpora training data is built from (the shipped
recipe trains on self-instruct, ToolTalk and API-Bank). ``exclude`` names the training data of the model to be
evaluated; every candidate whose query shares a word 8-gram with a training query (or equals a short one) is
left out before sampling, by the same index as ``agentflan audit --against``, and counted per source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.errors import InputError, RecordError
from agentflan.evaluate import bfcl
from agentflan.evaluate.benchmark import Loaded
from agentflan.evaluate.classify import NO_CALL_OUTCOMES
from agentflan.evaluate.metrics import outcome_summary, percent
from agentflan.evaluate.samples import Sample, first_user_text, system_prompt
from agentflan.overlap import EvalIndex, ngrams
from agentflan.paths import data_root
from agentflan.phrasing import GENERAL_PHRASES
from agentflan.pipeline.inputs import InputFile, Inputs
from agentflan.pipeline.read import InputStats
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sources import Reject, iter_records
from agentflan.schema import Trajectory
from agentflan.seeding import ranked, rng_for

CIRCUMSTANCES = ("a", "b", "c", "d")
NO_CALL = ("b", "c", "d")
FORMATS = ("react", "general")
DEFAULT_LIMIT = 200  # per circumstance: 800 queries × 2 formats = 1,600 samples (the paper had 1,845)

# The paper's keyword rule (§4.3). General phrases are matched case-insensitively.
REACT_KEYWORDS = ("Thought:", "Action:")

@dataclass(frozen=True)
class Source:
    """One input of the build: a path under the data root and the role its records play."""

    path: str
    role: str  # gold (tools + query + answer) | irrelevant (tools + unfit query) | tool_query | general_query


SOURCES: tuple[Source, ...] = (
    Source("gorilla/bfcl_v4/BFCL_v4_simple_python.json", "gold"),
    Source("gorilla/bfcl_v4/BFCL_v4_multiple.json", "gold"),
    Source("gorilla/bfcl_v4/BFCL_v4_irrelevance.json", "irrelevant"),
    Source("gorilla/bfcl_v4/BFCL_v4_live_simple.json", "tool_query"),
    Source("ToolBench/data_example/instruction/G1_query.json", "tool_query"),
    Source("ToolBench/data_example/instruction/G2_query.json", "tool_query"),
    Source("ToolBench/data_example/instruction/G3_query.json", "tool_query"),
    Source("ToolTalk/data/easy", "tool_query"),
    Source("ToolTalk/data/tooltalk", "tool_query"),
    Source("api-bank/lv1-lv2-samples", "tool_query"),
    Source("self-instruct/seed_tasks.jsonl", "general_query"),
    Source("self-instruct/user_oriented_instructions.jsonl", "general_query"),
    Source("FastChat/mt_bench_question.jsonl", "general_query"),
)


@dataclass
class _Pools:
    gold: list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]]]] = field(default_factory=list)
    irrelevant: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    tool_query: list[tuple[str, str]] = field(default_factory=list)
    general_query: list[tuple[str, str]] = field(default_factory=list)
    # Queries of the training data to keep out (None: nothing excluded).
    training: EvalIndex | None = None

    def seen_in_training(self, query: str) -> bool:
        if self.training is None:
            return False
        return any(self.training.lookup(g) is not None for g in ngrams(query, self.training.n))


@dataclass
class BuildResult:
    samples: list[Sample]
    manifest: dict[str, Any]


def build(data: Path, seed: int = 0, limit: int | None = DEFAULT_LIMIT,
          sources: Iterable[Source] = SOURCES, exclude: Sequence[Path] = (),
          inputs: Inputs | None = None) -> BuildResult:
    """Build the samples from the corpora under ``data`` (missing sources are recorded, not fatal), leaving out
    every query that overlaps the training data in ``exclude`` (files, or `agentflan build` folders). Every
    file is read through ``inputs`` (groups ``agent-h`` and ``exclude``), which the caller's manifest lists."""
    inputs = inputs if inputs is not None else Inputs()
    pools = _Pools()
    excluded: dict[str, Any] | None = None
    if exclude:
        pools.training, excluded = _training_index(exclude, inputs)
    entries = [_read_source(source, data, pools, inputs) for source in sources]
    if not pools.gold and not pools.irrelevant and not pools.tool_query and not pools.general_query:
        raise InputError(f"no Agent-H source found under {data} (set --data or AGENTFLAN_DATA)")
    base = _circumstances(pools, seed, limit)
    samples = [_sample(item, fmt) for item in base for fmt in FORMATS]
    counts = Counter((s.category, s.meta["format"]) for s in samples)
    manifest = {
        "benchmark": "agent-h (open)",
        "seed": seed,
        "limit_per_circumstance": limit,
        "samples": len(samples),
        "by_circumstance": {c: sum(v for (cc, _), v in counts.items() if cc == c) for c in CIRCUMSTANCES},
        "by_circumstance_format": {f"{c}/{f}": counts.get((c, f), 0) for c in CIRCUMSTANCES for f in FORMATS},
        "pools": {"gold": len(pools.gold), "irrelevant": len(pools.irrelevant),
                  "tool_query": len(pools.tool_query), "general_query": len(pools.general_query)},
        "inputs": entries,  # per source (a folder is one source of many files), each file with its sha256
    }
    if excluded is not None:
        excluded["dropped"] = sum(i.get("excluded", 0) for i in entries)
        manifest["excluded"] = excluded
    return BuildResult(samples, manifest)


def write(result: BuildResult, out_dir: Path, inputs: Inputs | None = None, overwrite: bool = False,
          argv: list[str] | None = None) -> Path:
    """``DIR/agent_h.jsonl`` and ``DIR/manifest.json`` (every file read, with its sha256), written as a
    `RunDir`: the folder appears when complete."""
    with RunDir(out_dir, "eval build-agent-h", inputs=inputs or Inputs(), overwrite=overwrite, argv=argv) as run:
        sink = run.sink("agent_h.jsonl")
        for sample in result.samples:
            sink.write(sample.to_dict())
        run.manifest(**result.manifest)
    return out_dir / "agent_h.jsonl"


def load(path: Path, inputs: Inputs | None = None) -> Iterator[Sample | Reject]:
    """Samples from an ``agent_h.jsonl`` (or the folder holding it), a `Reject` for each unusable line; read
    through ``inputs`` when given (so that a manifest lists it)."""
    file = path / "agent_h.jsonl" if path.is_dir() else path
    if not file.exists():
        raise InputError(f"{file} does not exist (build it with `agentflan eval build-agent-h`)")
    inputs = inputs if inputs is not None else Inputs()
    for f in inputs.add([file]):
        for rec in inputs.records(f):
            if isinstance(rec, Reject):
                yield rec
                continue
            try:
                if not isinstance(rec.value, dict):
                    raise RecordError("bad_sample", "a line is not a JSON object")
                yield Sample.from_dict(rec.value)
            except RecordError as err:
                yield Reject(f.source, err.reason, err.detail, line=rec.line, index=rec.index)


def cap(samples: list[Sample], limit: int) -> list[Sample]:
    """At most ``limit`` queries per circumstance, keeping both format levels of each (the file is seeded)."""
    seen: dict[str, list[str]] = {}
    kept: list[Sample] = []
    for s in samples:
        key = s.id.split("/", 3)[-1]
        keys = seen.setdefault(s.category, [])
        if key not in keys:
            if len(keys) >= limit:
                continue
            keys.append(key)
        kept.append(s)
    return kept


@dataclass
class AgentH:
    """Open Agent-H as an `eval run` benchmark (`evaluate.benchmark.Benchmark`): a built set (``path``: a
    ``build-agent-h`` folder or its ``agent_h.jsonl``), or one built for the run from ``data``."""

    path: Path | None = None
    data: Path | None = None
    seed: int = 0
    limit: int | None = None  # queries per circumstance
    exclude: Sequence[Path] = ()
    name = "agent-h"

    def load(self, inputs: Inputs) -> Loaded:
        loaded = Loaded()
        if self.path is not None:
            loaded.add(load(self.path, inputs))
            if self.limit is not None:
                loaded.samples = cap(loaded.samples, self.limit)
            loaded.source = {"path": str(self.path)}
            return loaded
        built = build(self.data or data_root(), seed=self.seed,
                      limit=DEFAULT_LIMIT if self.limit is None else self.limit, exclude=self.exclude, inputs=inputs)
        loaded.samples = built.samples
        loaded.source = {k: v for k, v in built.manifest.items() if k != "inputs"}
        return loaded

    def metrics(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return metrics(records)


# --- reading the sources ------------------------------------------------------------------------------------


def _merge(source: Source, infos: list[dict[str, Any]]) -> dict[str, Any]:
    """One manifest entry per source, summing its files' counts (a folder holds one file per dialogue)."""
    if len(infos) == 1:
        return {**infos[0], "path": source.path}
    merged: dict[str, Any] = {"path": source.path, "role": source.role, "files": len(infos),
                              "sha256": {i["path"]: i["sha256"] for i in infos}}
    for key in ("used", "read", "rejected", "excluded"):
        if any(key in i for i in infos):
            merged[key] = sum(i.get(key, 0) for i in infos)
    reasons: Counter[str] = Counter()
    for i in infos:
        reasons.update(i.get("rejects_by_reason", {}))
    merged["rejects_by_reason"] = dict(sorted(reasons.items()))
    merged["formats"] = sorted({i["format"] for i in infos if i.get("format")})
    return merged


def _read_source(source: Source, data: Path, pools: _Pools, inputs: Inputs) -> dict[str, Any]:
    """One source's manifest entry, its queries added to ``pools``."""
    path = data / source.path
    if not path.exists():
        return {"path": source.path, "role": source.role, "missing": True}
    fmt = "bfcl" if source.role in ("gold", "irrelevant") else "auto"
    files = inputs.add([path], fmt, group="agent-h", relative_to=data)
    return _merge(source, [_read_file(f, source.role, pools, inputs) for f in files])


def _read_file(file: InputFile, role: str, pools: _Pools, inputs: Inputs) -> dict[str, Any]:
    info: dict[str, Any] = {"path": file.source, "role": role, "sha256": inputs.ledger(file).sha256, "used": 0}
    if role in ("gold", "irrelevant"):
        taken: Counter[str] = Counter()
        for item in inputs.read(file):
            if isinstance(item, Trajectory):
                taken[_take_bfcl(item, role, pools)] += 1
        info["used"] = taken["used"]
        if pools.training is not None:
            info["excluded"] = taken["excluded"]
        _counts(info, inputs.ledger(file))
        return info
    target = pools.tool_query if role == "tool_query" else pools.general_query
    seen = {text for _, text in target}
    fresh = []
    excluded = 0
    for key, text in _queries(file, inputs):  # one query twice (an instruction with several inputs) would weigh double
        if text in seen:
            continue
        seen.add(text)
        if pools.seen_in_training(text):
            excluded += 1
            continue
        fresh.append((f"{file.source}#{key}", text))
    target.extend(fresh)
    info["used"] = len(fresh)
    if pools.training is not None:
        info["excluded"] = excluded
    _counts(info, inputs.ledger(file))
    return info


def _counts(info: dict[str, Any], stats: InputStats) -> None:
    info.update(read=stats.read, rejected=stats.rejected, rejects_by_reason=dict(stats.rejects_by_reason))
    if stats.format:
        info["format"] = stats.format


def _take_bfcl(traj: Trajectory, role: str, pools: _Pools) -> str:
    """``used``, ``excluded`` (its query is in the training data) or ``skipped``."""
    try:
        sample = bfcl.to_sample(traj)
    except RecordError:
        return "skipped"
    query = first_user_text(traj)
    if query is None or len(sample.messages) != 1:  # keep single-user-turn items: the prompt is ours
        return "skipped"
    if pools.seen_in_training(query):
        return "excluded"
    if role == "gold" and sample.expected:
        pools.gold.append((traj.id, query, sample.tools, sample.expected))
    elif role == "irrelevant":
        pools.irrelevant.append((traj.id, query, sample.tools))
    return "used"


def _training_index(paths: Sequence[Path], inputs: Inputs) -> tuple[EvalIndex, dict[str, Any]]:
    """An n-gram index of the training data's user queries, and its manifest entry."""
    for path in paths:
        if not path.exists():
            raise InputError(f"--exclude {path}: no such file or folder")
    index = EvalIndex()
    files: list[dict[str, Any]] = []
    for file in inputs.add(paths, "auto", group="exclude"):
        index.add_all(file.source, (t for t in inputs.read(file) if isinstance(t, Trajectory)))
        stats = inputs.ledger(file)
        files.append({"path": file.source, "sha256": stats.sha256, "read": stats.read, "rejected": stats.rejected})
    return index, {"method": f"word {index.n}-gram overlap of queries (as `agentflan audit --against`)",
                   "training": files, "training_records": sum(index.records.values())}


def _queries(file: InputFile, inputs: Inputs) -> Iterator[tuple[str, str]]:
    """(stable key, query text): the first user turn of each trajectory the format readers find in the file.

    ToolBench's instruction files (``{query, api_list}``) are query lists that no trajectory reader covers; when a
    file holds nothing but such records, their ``query`` is taken directly.
    """
    first = next((r for r in iter_records(file.path) if not isinstance(r, Reject)), None)
    if first is not None and _toolbench_query(first.value) is not None:
        for rec in inputs.records(file):
            text = _toolbench_query(rec.value) if not isinstance(rec, Reject) else None
            if text:
                yield f"{rec.index}", text
        return
    for item in inputs.read(file):
        if isinstance(item, Trajectory) and (text := first_user_text(item)):
            yield item.id, text


def _toolbench_query(record: Any) -> str | None:
    if isinstance(record, dict) and isinstance(record.get("query"), str) and "api_list" in record:
        return record["query"].strip() or None
    return None


# --- assembling -----------------------------------------------------------------------------------------------


def _pick(items: list[Any], key: Any, seed: int, purpose: str, limit: int | None) -> list[Any]:
    """A seeded choice that depends only on the seed and each item's key, not on file order."""
    order = ranked(items, seed, purpose, key)
    return order if limit is None else order[:limit]


def _circumstances(pools: _Pools, seed: int, limit: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for sid, query, tools, expected in _pick(pools.gold, lambda g: g[0], seed, "a", limit):
        out.append({"circumstance": "a", "key": sid, "query": query, "tools": tools, "expected": expected,
                    "source": "bfcl:gold"})
    # b: half BFCL irrelevance (tools that cannot serve the query), half general queries with a BFCL tool set.
    tool_sets = [g[2] for g in pools.gold] + [i[2] for i in pools.irrelevant]
    half = None if limit is None else (limit + 1) // 2
    b_irr = _pick(pools.irrelevant, lambda i: i[0], seed, "b-irrelevant", half)
    b_gen = _pick(pools.general_query, lambda q: q[0], seed, "b-general",
                  None if limit is None else limit - len(b_irr))
    for sid, query, tools in b_irr:
        out.append({"circumstance": "b", "key": sid, "query": query, "tools": tools, "source": "bfcl:irrelevance"})
    for key, query in b_gen:
        tools = rng_for(seed, key, "b-tools").choice(tool_sets) if tool_sets else []
        if tools:
            out.append({"circumstance": "b", "key": key, "query": query, "tools": tools, "source": "general+tools"})
    for key, query in _pick(pools.tool_query, lambda q: q[0], seed, "c", limit):
        out.append({"circumstance": "c", "key": key, "query": query, "tools": [], "source": "tool_query"})
    for key, query in _pick(pools.general_query, lambda q: q[0], seed, "d", limit):
        out.append({"circumstance": "d", "key": key, "query": query, "tools": [], "source": "general_query"})
    return out


def _sample(item: dict[str, Any], fmt: str) -> Sample:
    circumstance = item["circumstance"]
    return Sample(
        id=f"agent-h/{circumstance}/{fmt}/{item['key']}",
        bench="agent-h",
        category=circumstance,
        messages=[{"role": "system", "content": system_prompt(fmt, item["tools"])},
                  {"role": "user", "content": item["query"]}],
        tools=item["tools"],
        expected=item.get("expected", []),
        native_tools=False,  # the system prompt lists the tools in the level's own wording
        meta={"format": fmt, "source": item["source"]},
    )


# --- scoring --------------------------------------------------------------------------------------------------


def shows_keywords(text: str, fmt: str) -> bool:
    """The paper's rule: the reply contains the level's call keywords."""
    if fmt == "react":
        return any(k in text for k in REACT_KEYWORDS)
    lowered = text.lower()
    return any(p in lowered for p in GENERAL_PHRASES)


def hallucinated(text: str, fmt: str, outcome: str) -> bool:
    """A no-call sample's reply hallucinates when it shows the keywords or makes (or attempts) a call; an
    ``empty`` reply does neither (and is not an abstention either: `metrics` counts it apart)."""
    return outcome not in NO_CALL_OUTCOMES or shows_keywords(text, fmt)


def hscore(h_react: float | None, h_general: float | None) -> float | None:
    if h_react is None or h_general is None:
        return None
    return round(0.5 * ((100 - h_react) + (100 - h_general)), 2)


def metrics(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Agent-H metrics from scored records (``category``, ``meta.format``, ``outcome``, ``text``)."""
    recs = list(records)
    out: dict[str, Any] = {"n": len(recs)}
    h: dict[str, float | None] = {}
    for fmt in FORMATS:
        no_call = [r for r in recs if r["meta"]["format"] == fmt and r["category"] in NO_CALL]
        bad = sum(hallucinated(r.get("text", ""), fmt, r["outcome"]) for r in no_call)
        keyword_only = sum(shows_keywords(r.get("text", ""), fmt) for r in no_call)
        # HScore is computed from the unrounded rates, so it is exact to its own 2 decimals.
        h[fmt] = 100.0 * bad / len(no_call) if no_call else None
        out[f"H_{'ReAct' if fmt == 'react' else 'General'}"] = percent(bad, len(no_call))
        out[f"{fmt}_keyword_rate"] = percent(keyword_only, len(no_call))
        out[f"{fmt}_strict_no_call_rate"] = percent(sum(r["outcome"] == "abstain" for r in no_call), len(no_call))
    out["HScore"] = hscore(h["react"], h["general"])
    strict: dict[str, Any] = {}
    for circumstance in CIRCUMSTANCES:
        for fmt in FORMATS:
            group = [r for r in recs if r["category"] == circumstance and r["meta"]["format"] == fmt]
            if group:
                strict[f"{circumstance}/{fmt}"] = {"n": len(group), **outcome_summary(r["outcome"] for r in group)}
    out["by_circumstance_format"] = strict
    positives = [r for r in recs if r["category"] == "a"]
    out["call_accuracy"] = percent(sum(r["outcome"] == "call_correct" for r in positives), len(positives))
    for fmt in FORMATS:
        group = [r for r in positives if r["meta"]["format"] == fmt]
        out[f"call_accuracy_{fmt}"] = percent(sum(r["outcome"] == "call_correct" for r in group), len(group))
    return out

