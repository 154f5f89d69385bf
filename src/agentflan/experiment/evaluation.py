"""Evaluating one model of the grid on the experiment's benchmarks, through `agentflan eval`'s own entry points.

``DIR/.../eval/`` gets eval's files (``replies.jsonl``, ``results.json``, ``results.md``) and ``metrics.json``,
the numbers the report reads: Agent-H (H_ReAct, H_General, HScore, the hallucination rate of every circumstance
and format level, call accuracy with relevant tools), BFCL (accuracy, strict abstention on irrelevance), the
held-out calls, and the loss on held-out reference replies.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.evaluate import agent_h
from agentflan.evaluate.run import Collected, collect
from agentflan.evaluate.run import run as run_eval
from agentflan.evaluate.samples import Sample
from agentflan.experiment.cache import CachedBackend
from agentflan.experiment.heldout import call_metrics
from agentflan.experiment.spec import Benchmarks

METRICS = "metrics.json"


@dataclass
class Suite:
    """The samples every model is asked, and the files scored by loss."""

    samples: list[Sample] = field(default_factory=list)
    collected: Collected = field(default_factory=Collected)
    loss_files: dict[str, Path] = field(default_factory=dict)  # "agent" / "general" → canonical JSONL


def suite(spec: Benchmarks, data: Path, agent_h_dir: Path | None, held_out_calls: Path | None,
          loss_files: dict[str, Path], root: Path) -> Suite:
    """The samples of every benchmark; files inside the experiment folder ``root`` are named relative to it in
    eval's results (so that two experiment folders write the same results)."""
    out = Suite(loss_files=loss_files)
    parts: list[Collected] = []
    if agent_h_dir is not None:
        parts.append(collect(["agent-h"], data, agent_h_path=agent_h_dir))
    if spec.bfcl is not None:
        parts.append(collect([f"bfcl.{c}" for c in spec.bfcl.categories], data, limit=spec.bfcl.limit))
    for part in parts:
        out.samples.extend(part.samples)
        out.collected.rejected.update(part.rejected)
        out.collected.rejects.extend(part.rejects)
        out.collected.sources.update(part.sources)
    if agent_h_dir is not None:
        out.collected.sources["agent-h"] = {"path": os.path.relpath(agent_h_dir, root)}
    if held_out_calls is not None:
        out.samples.extend(Sample.from_dict(json.loads(line)) for line in
                           held_out_calls.read_text(encoding="utf-8").splitlines() if line.strip())
        out.collected.sources["held-out"] = {"path": os.path.relpath(held_out_calls, root)}
    return out


def evaluate(model: str, backend: CachedBackend, tests: Suite, spec: Benchmarks, out: Path) -> dict[str, Any]:
    """Ask, score and summarise; writes eval's files and ``metrics.json`` into ``out``; returns the metrics."""
    metrics: dict[str, Any] = {}
    if tests.samples:
        results = run_eval(tests.samples, backend, out, show_progress=False, collected=tests.collected)
        backend.close()
        records = [json.loads(line) for line in (out / "replies.jsonl").read_text(encoding="utf-8").splitlines()
                   if line.strip()]
        if "agent-h" in results["benchmarks"]:
            metrics["agent_h"] = {**_agent_h_summary(results["benchmarks"]["agent-h"]),
                                  "hallucination": hallucination_by_circumstance(records)}
        if "bfcl" in results["benchmarks"]:
            metrics["bfcl"] = results["benchmarks"]["bfcl"]
        if any(r.get("bench") == "held-out" for r in records):
            metrics["held_out_calls"] = call_metrics(records)
        metrics["errors"] = results["errors"]
        metrics["reading"] = results["reading"]
    if spec.held_out_loss is not None and tests.loss_files:
        metrics["held_out_loss"] = {name: _loss(model, path, spec) for name, path in sorted(tests.loss_files.items())}
    out.mkdir(parents=True, exist_ok=True)
    from agentflan.pipeline.sinks import write_json_atomic

    write_json_atomic(out / METRICS, metrics)
    return metrics


def _loss(model: str, path: Path, spec: Benchmarks) -> dict[str, Any]:
    """The loss on ``path``'s reference replies; when none can be scored (every record longer than
    ``max_length`` before its first reply, say), why, in place of the numbers."""
    from agentflan.errors import AgentflanError
    from agentflan.experiment.loss import reference_loss

    assert spec.held_out_loss is not None
    try:
        return reference_loss(model, path, spec.held_out_loss.max_length, spec.batch_size)
    except AgentflanError as exc:
        return {"loss": None, "samples": 0, "error": str(exc)}


def _agent_h_summary(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "H_ReAct", "H_General", "HScore", "call_accuracy", "react_keyword_rate", "general_keyword_rate",
            "react_strict_no_call_rate", "general_strict_no_call_rate")
    return {k: m.get(k) for k in keys}


def hallucination_by_circumstance(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per Agent-H circumstance and format level: for b, c and d the share of replies that hallucinate (the
    paper's rule: the level's keywords, or a call or call attempt); for a, the share of correct calls."""
    from agentflan.evaluate.metrics import percent

    out: dict[str, Any] = {}
    recs = [r for r in records if r.get("bench") == "agent-h" and r["outcome"] != "error"]
    for circumstance in agent_h.CIRCUMSTANCES:
        for fmt in agent_h.FORMATS:
            group = [r for r in recs if r["category"] == circumstance and r["meta"]["format"] == fmt]
            if not group:
                continue
            if circumstance in agent_h.NO_CALL:
                bad = sum(agent_h.hallucinated(r.get("text", ""), fmt, r["outcome"]) for r in group)
                out[f"{circumstance}/{fmt}"] = {"n": len(group), "hallucination": percent(bad, len(group))}
            else:
                good = sum(r["outcome"] == "call_correct" for r in group)
                out[f"{circumstance}/{fmt}"] = {"n": len(group), "call_accuracy": percent(good, len(group))}
    return out
