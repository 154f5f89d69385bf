"""Shape: how long, how many tools, how many calls; licences and sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from agentflan.audit.record import AuditedRecord
from agentflan.audit.section import Findings

METRICS = {
    "turns": "messages per sample",
    "assistant_turns": "assistant turns per sample",
    "tokens": "tokens per sample (all roles)",
    "supervised_tokens": "supervised tokens per sample",
    "tools": "tools given per sample",
    "calls": "tool calls per sample",
}


class Shape:
    def __init__(self, count: Callable[[str], int]) -> None:
        self.count = count
        self.values: dict[str, list[int]] = {m: [] for m in METRICS}
        self.extremes: dict[str, tuple[int, str]] = {}  # metric -> (largest value, first record with it)
        self.by_source: Counter[str] = Counter()
        self.by_format: Counter[str] = Counter()
        self.licences: Counter[str] = Counter()
        self.tools: Counter[str] = Counter()

    def add(self, rec: AuditedRecord) -> None:
        traj = rec.traj
        tokens = sum(self.count(m.content) for m in traj.messages) + sum(
            self.count(c.name) + self.count(str(c.arguments)) for _, c in traj.calls())
        row = {
            "turns": len(traj.messages),
            "assistant_turns": sum(1 for m in traj.messages if m.role == "assistant"),
            "tokens": tokens,
            "supervised_tokens": sum(rec.tokens.values()),
            "tools": len(traj.tools),
            "calls": len(traj.calls()),
        }
        for key, value in row.items():
            self.values[key].append(value)
        for key, value in row.items():
            if key not in self.extremes or value > self.extremes[key][0]:
                self.extremes[key] = (value, rec.id)
        self.by_source[rec.source] += 1
        prov = traj.provenance
        self.by_format[(prov.format if prov else None) or "unknown"] += 1
        self.licences[(prov.licence if prov else None) or "unknown"] += 1
        self.tools.update(t.name for t in traj.tools)

    def report(self) -> Findings:
        return Findings({"shape": self.result()})

    def result(self) -> dict[str, Any]:
        stats = {}
        for key, values in self.values.items():
            arr = np.asarray(values or [0])
            stats[key] = {
                "description": METRICS[key],
                "mean": round(float(arr.mean()), 2),
                "median": float(np.median(arr)),
                "p90": float(np.percentile(arr, 90)),
                "max": int(arr.max()),
                "total": int(arr.sum()),
                "histogram": _histogram(arr),
            }
        return {
            "stats": stats,
            "largest": {k: {"value": v, "id": rid} for k, (v, rid) in self.extremes.items()},
            "records_by_format": dict(sorted(self.by_format.items())),
            "licences": dict(sorted(self.licences.items())),
            "distinct_tools": len(self.tools),
            "top_tools": [{"name": n, "records": c} for n, c in self.tools.most_common(10)],
        }


def _histogram(arr: np.ndarray, bins: int = 20) -> dict[str, list[float]]:
    """Integer-aligned bins so small counts (tools, calls) get one bar per value."""
    low, high = int(arr.min()), int(arr.max())
    width = max(1, -(-(high - low + 1) // bins))
    edges = np.arange(low, high + width + 1, width)
    counts, _ = np.histogram(arr, bins=edges)
    return {"edges": [int(e) for e in edges], "counts": [int(c) for c in counts]}
