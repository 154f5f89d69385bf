"""`agentflan eval run`: benchmarks → samples → backend replies → strict classification → metrics → files.

Writes ``DIR/replies.jsonl`` (one line per sample: the reply, its outcome, parsed calls, the syntax it was read
as, success), ``DIR/results.json`` (every metric, the backend, the sample counts, the share of each call syntax
and the replies made malformed by the safety rule), ``DIR/results.md`` (the same as tables) and, when some
benchmark record could not be used, ``DIR/rejects.jsonl`` (file, line, reason).

A model trained on the Agent-FLAN layout (each assistant part its own turn) ends its message after the
tool-naming sentence; the arguments come in its next turn. A reply that ends on such a sentence is therefore
continued: the backend is asked for the next assistant turn, at most ``max_continuations`` times, and the turns
are read together. If the arguments never come, the reply is `malformed` (the safety rule).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from agentflan import __version__
from agentflan.calls import parse_reply, reply_text, turn_text
from agentflan.errors import AgentflanError, UsageError
from agentflan.evaluate import agent_h, bfcl, bfcl_multi_turn
from agentflan.evaluate.backends import Backend, GenerationError, Reply
from agentflan.evaluate.benchmark import Benchmark
from agentflan.evaluate.classify import Reader, classify, tool_schemas
from agentflan.evaluate.metrics import percent
from agentflan.evaluate.report import markdown
from agentflan.evaluate.samples import Sample
from agentflan.files import write_json_atomic, write_text_atomic
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import Reject
from agentflan.strictjson import JSONRejected

BENCH_HELP = ("agent-h, bfcl (all single-turn categories), bfcl.multi_turn (the four multi-turn ones) or "
              "bfcl.CATEGORY (" + ", ".join(bfcl.CATEGORIES + bfcl.MULTI_TURN) + ")")
_CHUNK = 32  # samples per backend call: small enough for a live progress bar, large enough to batch
MAX_CONTINUATIONS = 3  # extra assistant turns asked for a reply that ends on a tool-naming sentence


@dataclass
class Collected:
    samples: list[Sample] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)  # written to DIR/rejects.jsonl
    sources: dict[str, Any] = field(default_factory=dict)
    episodes: list[bfcl_multi_turn.Entry] = field(default_factory=list)  # BFCL multi-turn entries to play
    benchmarks: list[Benchmark] = field(default_factory=list)
    inputs: Inputs = field(default_factory=Inputs)  # every file read, for the run's manifest


def benchmarks(names: Iterable[str], data: Path | None = None, agent_h_path: Path | None = None, seed: int = 0,
               limit: int | None = None, exclude: Sequence[Path] = ()) -> list[Benchmark]:
    """The benchmarks ``--bench`` names (see `BENCH_HELP`); a `UsageError` for an unknown name."""
    names = list(names)
    bfcl_names = [b for b in names if b == "bfcl" or b.startswith(("bfcl.", "bfcl:"))]
    unknown = [b for b in names if b != "agent-h" and b not in bfcl_names]
    if unknown or not names:
        raise UsageError(f"unknown benchmark {', '.join(unknown) or '(none)'}; choose from: {BENCH_HELP}")
    chosen: list[Benchmark] = []
    if "agent-h" in names:
        chosen.append(agent_h.AgentH(agent_h_path, data, seed, limit, exclude))
    if bfcl_names:
        asked = bfcl.categories_for(bfcl_names)
        multi = [c for c in asked if c in bfcl.MULTI_TURN]
        single = [c for c in asked if c not in bfcl.MULTI_TURN]
        if multi:
            chosen.append(bfcl_multi_turn.BFCLMultiTurn(multi, asked, data, limit))
        if single:
            chosen.append(bfcl.BFCLSingleTurn(single, asked, data, limit))
    return chosen


def collect(benches: Iterable[str], data: Path | None = None, agent_h_path: Path | None = None, seed: int = 0,
            limit: int | None = None, exclude: Sequence[Path] = ()) -> Collected:
    """The samples and episodes of the named benchmarks, every file read through one `Inputs`. Agent-H comes
    from a built set (``agent_h_path``) or is built from ``data`` (``limit`` queries per circumstance, default
    `agent_h.DEFAULT_LIMIT`); ``limit`` also caps each BFCL category. ``exclude``: training data whose queries
    the built Agent-H leaves out."""
    out = Collected()
    for bench in benchmarks(benches, data, agent_h_path, seed, limit, exclude):
        loaded = bench.load(out.inputs)
        out.samples.extend(loaded.samples)
        out.episodes.extend(loaded.episodes)
        for rej in loaded.rejects:
            out.rejected[f"{bench.name}:{rej.reason}"] += 1
            out.rejects.append(rej)
        out.sources.setdefault(bench.name, {}).update(loaded.source)
        out.benchmarks.append(bench)
    return out


def score(sample: Sample, reply: Reply | list[Reply], schemas: dict[str, Any] | None = None,
          reader: Reader | None = None) -> dict[str, Any]:
    """One replies.jsonl record: the sample's identity, the reply (a list of turns when it was continued), and
    its classification."""
    record: dict[str, Any] = {"id": sample.id, "bench": sample.bench, "category": sample.category,
                              "meta": sample.meta}
    if isinstance(reply, GenerationError):
        return {**record, "reply": None, "outcome": "error", "detail": reply.message}
    result = classify(reply, sample.tools, sample.expected, schemas=schemas, reader=reader,  # type: ignore[arg-type]
                      sample=sample)
    record.update(reply=reply, text=reply_text(reply), **result.to_dict())  # type: ignore[arg-type]
    if isinstance(reply, list):
        record["continued"] = len(reply) - 1
    if sample.bench == "bfcl":
        record["success"] = bfcl.success(sample.category, result.outcome)
    return record


def continue_dangling(samples: list[Sample], replies: list[Reply], backend: Backend,
                      limit: int = MAX_CONTINUATIONS) -> list[Reply | list[Reply]]:
    """Each reply, or the list of its turns when it ended on a tool-naming sentence and the backend was asked
    for up to ``limit`` more assistant turns (all dangling replies of the batch together)."""
    turns: list[list[Reply]] = [[r] for r in replies]
    open_ = [not isinstance(r, GenerationError) for r in replies]
    for _ in range(limit):
        todo = [i for i, t in enumerate(turns) if open_[i] and _dangling(t, samples[i])]
        if not todo:
            break
        asks = [dataclasses.replace(samples[i], id=f"{samples[i].id}/turn{len(turns[i])}", messages=[
            *samples[i].messages, *({"role": "assistant", "content": turn_text(t)} for t in turns[i])])
            for i in todo]
        try:
            more = backend.generate(asks)
        except (TemplateError, AgentflanError, ValueError):
            break  # a chat template that refuses two assistant turns in a row: the reply stays as it is
        for i, reply in zip(todo, more, strict=True):
            if isinstance(reply, GenerationError):
                open_[i] = False
            else:
                turns[i].append(reply)
    return [t[0] if len(t) == 1 else t for t in turns]


def _dangling(turns: list[Reply], sample: Sample) -> bool:
    return parse_reply(turns, tool_schemas(sample.tools)).dangling  # type: ignore[arg-type]


def run(samples: list[Sample], backend: Backend, out_dir: Path, show_progress: bool = True,
        collected: Collected | None = None, reader: Reader | None = None,
        max_continuations: int = MAX_CONTINUATIONS, overwrite: bool = False,
        argv: list[str] | None = None) -> dict[str, Any]:
    """Answer, classify and score every sample, play every episode; write DIR as a `RunDir` (refused when DIR
    holds something no earlier `eval run` wrote, unless ``overwrite``); return results.json's data.
    ``reader`` pins a call syntax or adds an ecosystem parser (`evaluate.callparsers`)."""
    inputs = collected.inputs if collected is not None else Inputs()
    with RunDir(out_dir, "eval run", inputs=inputs, overwrite=overwrite, argv=argv) as out:
        sink = out.sink("replies.jsonl")
        records = _answer(samples, backend, sink, show_progress, reader, max_continuations)
        if collected is not None and collected.episodes:
            records.extend(_play(collected.episodes, backend, sink, show_progress, reader))
        rejects = collected.rejects if collected is not None else []
        for rej in rejects:
            out.rejects.write(rej.to_dict())
        results = summarise(records, backend.describe(), collected)
        write_json_atomic(out.folder / "results.json", results)
        write_text_atomic(out.folder / "results.md", markdown(results))
        out.manifest(read=len(records) + len(rejects), written=len(records), rejected=len(rejects),
                     rejects_by_reason=dict(sorted(Counter(r.reason for r in rejects).items())),
                     backend=results["backend"])
    return results


def _answer(samples: list[Sample], backend: Backend, sink: RecordSink, show_progress: bool,
            reader: Reader | None, max_continuations: int) -> list[dict[str, Any]]:
    """Every sample answered (in chunks), continued when it names a tool and stops, and scored."""
    records: list[dict[str, Any]] = []
    may_continue = reader is None or reader.syntax in (None, "agentflan")
    with RecordProgress("eval", total=len(samples), enabled=show_progress) as progress:
        for start in range(0, len(samples), _CHUNK):
            chunk = samples[start : start + _CHUNK]
            replies: list[Any] = backend.generate(chunk)
            if may_continue and max_continuations > 0:
                replies = continue_dangling(chunk, replies, backend, max_continuations)
            for sample, reply in zip(chunk, replies, strict=True):
                records.append(_write(sink, score(sample, reply, tool_schemas(sample.tools), reader)))
            progress.advance(len(chunk))
    return records


def _play(entries: list[bfcl_multi_turn.Entry], backend: Backend, sink: RecordSink, show_progress: bool,
          reader: Reader | None = None) -> list[dict[str, Any]]:
    """Play the BFCL multi-turn entries and score them; one replies.jsonl record per entry."""
    classes = bfcl_multi_turn.api_classes()
    records = []
    with RecordProgress("eval: multi-turn steps", enabled=show_progress) as progress:
        episodes = bfcl_multi_turn.run_episodes(entries, backend, classes, on_step=progress.advance,
                                                reader=reader)
    for ep in episodes:
        verdict = bfcl_multi_turn.check(ep, classes)
        outcome = ("error" if verdict.get("error_type") == "backend_error" else
                   "correct" if verdict["valid"] else verdict["error_type"])
        rec = {"id": ep.entry.id, "bench": "bfcl", "category": ep.entry.category, "meta": {},
               "outcome": outcome, "success": verdict["valid"], "detail": verdict.get("detail", ""),
               "failed_turn": verdict.get("turn"),
               "calls": [[[{"name": n, "arguments": a} for n, a in step] for step in turn] for turn in ep.calls]}
        records.append(_write(sink, rec))
    return records


def _write(sink: RecordSink, record: dict[str, Any]) -> dict[str, Any]:
    """Write one record; a value strict JSON cannot hold (a call argument a model wrote as a Python set,
    bytes or a complex number) is written as its text instead of ending the run."""
    try:
        sink.write(record)
    except JSONRejected:
        record = _json_safe(record)
        sink.write(record)
    return record


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return repr(value)


def summarise(records: list[dict[str, Any]], backend: dict[str, Any], collected: Collected | None = None
              ) -> dict[str, Any]:
    ok = [r for r in records if r["outcome"] != "error"]
    # Records scored without `collect` (a hand-made Collected, or none) are scored by their bench's default.
    chosen: list[Benchmark] = (collected.benchmarks if collected is not None and collected.benchmarks else
                               [agent_h.AgentH(), bfcl.BFCLSingleTurn([], [])])
    results: dict[str, Any] = {}
    for bench in chosen:
        recs = [r for r in ok if r["bench"] == bench.name]
        if recs and bench.name not in results:
            results[bench.name] = bench.metrics(recs)
    return {
        "agentflan_version": __version__,
        "backend": backend,
        "samples": len(records),
        "scored": len(ok),
        "errors": len(records) - len(ok),
        "error_examples": [r["detail"] for r in records if r["outcome"] == "error"][:5],
        "rejected": dict(collected.rejected) if collected else {},
        "sources": collected.sources if collected else {},
        "reading": reading(ok),
        "benchmarks": results,
    }


def reading(records: list[dict[str, Any]]) -> dict[str, Any]:
    """How the scored replies were read: replies per call syntax (``none``: no call and no attempt; a reply
    malformed by the safety rule alone has no syntax) with their share, the replies made malformed by the safety rule, and the replies continued for their arguments.
    Multi-turn episodes, scored as a whole, are left out."""
    replies = [r for r in records if "text" in r]
    syntaxes = Counter(r.get("syntax") or ("unread (safety rule)" if r.get("safety_rule") else "none")
                       for r in replies)
    return {"replies": len(replies),
            "syntax": {k: {"n": n, "share": percent(n, len(replies))} for k, n in syntaxes.most_common()},
            "safety_rule_malformed": sum(bool(r.get("safety_rule")) for r in replies),
            "continued": sum(bool(r.get("continued")) for r in replies)}
