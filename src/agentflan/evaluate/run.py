"""`agentflan eval run`: benchmarks → samples → backend replies → strict classification → metrics → files.

Writes ``DIR/replies.jsonl`` (one line per sample: the reply, its outcome, parsed calls, success),
``DIR/results.json`` (every metric, the backend, the sample counts), ``DIR/results.md`` (the same as tables) and,
when some benchmark record could not be used, ``DIR/rejects.jsonl`` (file, line, reason).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan import __version__
from agentflan.calls import reply_text
from agentflan.errors import UsageError
from agentflan.evaluate import agent_h, bfcl, bfcl_multi_turn
from agentflan.evaluate.backends import Backend, GenerationError, Reply
from agentflan.evaluate.classify import classify, tool_schemas
from agentflan.evaluate.report import markdown
from agentflan.evaluate.samples import Sample
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.sinks import RecordSink, write_json_atomic
from agentflan.pipeline.sources import Reject

BENCH_HELP = ("agent-h, bfcl (all single-turn categories), bfcl.multi_turn (the four multi-turn ones) or "
              "bfcl.CATEGORY (" + ", ".join(bfcl.CATEGORIES + bfcl.MULTI_TURN) + ")")
_CHUNK = 32  # samples per backend call: small enough for a live progress bar, large enough to batch


@dataclass
class Collected:
    samples: list[Sample] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)  # written to DIR/rejects.jsonl
    sources: dict[str, Any] = field(default_factory=dict)
    episodes: list[bfcl_multi_turn.Entry] = field(default_factory=list)  # BFCL multi-turn entries to play


def collect(benches: Iterable[str], data: Path | None = None, agent_h_path: Path | None = None, seed: int = 0,
            limit: int | None = None, exclude: Sequence[Path] = ()) -> Collected:
    """The samples of the named benchmarks. Agent-H comes from a built set (``agent_h_path``) or is built
    from ``data`` (``limit`` queries per circumstance, default `agent_h.DEFAULT_LIMIT`); ``limit`` also caps
    each BFCL category. ``exclude``: training data whose queries the built Agent-H leaves out."""
    from agentflan.paths import data_root

    benches = list(benches)
    out = Collected()
    bfcl_names = [b for b in benches if b == "bfcl" or b.startswith(("bfcl.", "bfcl:"))]
    unknown = [b for b in benches if b != "agent-h" and b not in bfcl_names]
    if unknown or not benches:
        raise UsageError(f"unknown benchmark {', '.join(unknown) or '(none)'}; choose from: {BENCH_HELP}")
    if "agent-h" in benches:
        if agent_h_path is not None:
            for item in agent_h.load(agent_h_path):
                if isinstance(item, Reject):
                    out.rejected[f"agent-h:{item.reason}"] += 1
                    out.rejects.append(item)
                else:
                    out.samples.append(item)
            if limit is not None:
                out.samples = _cap_agent_h(out.samples, limit)
            out.sources["agent-h"] = {"path": str(agent_h_path)}
        else:
            built = agent_h.build(data or data_root(), seed=seed,
                                  limit=agent_h.DEFAULT_LIMIT if limit is None else limit, exclude=exclude)
            out.samples.extend(built.samples)
            out.sources["agent-h"] = {k: v for k, v in built.manifest.items() if k != "inputs"}
    if bfcl_names:
        every = bfcl.categories_for(bfcl_names)
        for category in [c for c in every if c in bfcl.MULTI_TURN]:
            entries, rejects = bfcl_multi_turn.load_entries(category, data, limit)
            out.episodes.extend(entries)
            for rej in rejects:
                out.rejected[f"bfcl:{rej.reason}"] += 1
                out.rejects.append(rej)
        categories = [c for c in every if c not in bfcl.MULTI_TURN]
        if not categories:
            out.sources["bfcl"] = {"categories": every}
            return out
        for item in bfcl.load_samples(categories, data, limit):
            if isinstance(item, Reject):
                out.rejected[f"bfcl:{item.reason}"] += 1
                out.rejects.append(item)
            else:
                out.samples.append(item)
        out.sources["bfcl"] = {"path": str(bfcl.question_file(categories[0], data).parent),
                               "categories": every}
    return out


def _cap_agent_h(samples: list[Sample], limit: int) -> list[Sample]:
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


def score(sample: Sample, reply: Reply, schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    """One replies.jsonl record: the sample's identity, the reply, and its classification."""
    record: dict[str, Any] = {"id": sample.id, "bench": sample.bench, "category": sample.category,
                              "meta": sample.meta}
    if isinstance(reply, GenerationError):
        return {**record, "reply": None, "outcome": "error", "detail": reply.message}
    result = classify(reply, sample.tools, sample.expected, schemas=schemas)
    record.update(reply=reply, text=reply_text(reply), **result.to_dict())
    if sample.bench == "bfcl":
        record["success"] = bfcl.success(sample.category, result.outcome)
    return record


def run(samples: list[Sample], backend: Backend, out_dir: Path, show_progress: bool = True,
        collected: Collected | None = None) -> dict[str, Any]:
    """Answer, classify and score every sample; write the three output files; return results.json's data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    with RecordSink(out_dir / "replies.jsonl") as sink, \
            RecordProgress("eval", total=len(samples), enabled=show_progress) as progress:
        for start in range(0, len(samples), _CHUNK):
            chunk = samples[start : start + _CHUNK]
            replies = backend.generate(chunk)
            for sample, reply in zip(chunk, replies, strict=True):
                rec = score(sample, reply, tool_schemas(sample.tools))
                sink.write(rec)
                records.append(rec)
            progress.advance(len(chunk))
    if collected is not None and collected.episodes:
        records.extend(_play(collected.episodes, backend, out_dir, show_progress))
    if collected is not None and collected.rejects:
        with RecordSink(out_dir / "rejects.jsonl") as rejects:
            for rej in collected.rejects:
                rejects.write(rej.to_dict())
    results = summarise(records, backend.describe(), collected)
    write_json_atomic(out_dir / "results.json", results)
    (out_dir / "results.md").write_text(markdown(results), encoding="utf-8")
    return results


def _play(entries: list[bfcl_multi_turn.Entry], backend: Backend, out_dir: Path,
          show_progress: bool) -> list[dict[str, Any]]:
    """Play the BFCL multi-turn entries and score them; one record per entry, appended to replies.jsonl."""
    classes = bfcl_multi_turn.api_classes()
    records = []
    with RecordProgress("eval: multi-turn steps", enabled=show_progress) as progress:
        episodes = bfcl_multi_turn.run_episodes(entries, backend, classes, on_step=progress.advance)
    with (out_dir / "replies.jsonl").open("a", encoding="utf-8") as sink:
        for ep in episodes:
            verdict = bfcl_multi_turn.check(ep, classes)
            outcome = ("error" if verdict.get("error_type") == "backend_error" else
                       "correct" if verdict["valid"] else verdict["error_type"])
            rec = {"id": ep.entry.id, "bench": "bfcl", "category": ep.entry.category, "meta": {},
                   "outcome": outcome, "success": verdict["valid"], "detail": verdict.get("detail", ""),
                   "failed_turn": verdict.get("turn"),
                   "calls": [[[{"name": n, "arguments": a} for n, a in step] for step in turn] for turn in ep.calls]}
            sink.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            records.append(rec)
    return records


def summarise(records: list[dict[str, Any]], backend: dict[str, Any], collected: Collected | None = None
              ) -> dict[str, Any]:
    ok = [r for r in records if r["outcome"] != "error"]
    benchmarks: dict[str, Any] = {}
    agent_h_recs = [r for r in ok if r["bench"] == "agent-h"]
    if agent_h_recs:
        benchmarks["agent-h"] = agent_h.metrics(agent_h_recs)
    bfcl_recs = [r for r in ok if r["bench"] == "bfcl"]
    if bfcl_recs:
        benchmarks["bfcl"] = bfcl.metrics(bfcl_recs)
    return {
        "agentflan_version": __version__,
        "backend": backend,
        "samples": len(records),
        "scored": len(ok),
        "errors": len(records) - len(ok),
        "error_examples": [r["detail"] for r in records if r["outcome"] == "error"][:5],
        "rejected": dict(collected.rejected) if collected else {},
        "sources": collected.sources if collected else {},
        "benchmarks": benchmarks,
    }
