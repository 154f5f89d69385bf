"""``report.json``: every section's findings, the flat metrics ``--fail-on`` reads, and the example records.

Top-level keys (stable; others may be added): ``format_share`` (0–1), ``capability_tokens``,
``negative_coverage`` (``tools_call``, ``tools_no_call``, ``no_tools_call``, ``no_tools_no_call``), ``validity``
(count per rule), ``duplicates``, ``contamination``, ``records``, ``rejected``. Every finding lists example
record ids; ``examples`` maps each id to where it came from and its first query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentflan import __version__
from agentflan.audit.record import share
from agentflan.audit.rules import tripped
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.read import InputStats


def _ids_in(value: Any) -> set[str]:
    """Every id listed under an ``examples``/``ids``/``id`` key anywhere in a section."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("examples", "ids"):
                lists = item.values() if isinstance(item, dict) else [item]
                for ids in lists:
                    if isinstance(ids, list):
                        found.update(x for x in ids if isinstance(x, str))
            elif key == "id" and isinstance(item, str):
                found.add(item)
            found |= _ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _ids_in(item)
    return found


def display(path: str | Path) -> str:
    """How an input argument is named in the report: relative to the working directory when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_report(audit: Any, opts: Any, inputs: Inputs) -> dict[str, Any]:
    """report.json's dict: every section's findings, the metrics ``--fail-on`` reads, per-source counts, the
    example records cited."""
    records = audit.records
    rejected = sum(audit.rejects_by_reason.values())
    metrics: dict[str, Any] = {"records": records, "rejected": rejected,
                               "rejected_share": share(rejected, records + rejected)}
    report: dict[str, Any] = {
        "agentflan_version": __version__,
        "command": "audit",
        "tokens_counted_with": audit.counted_with,
        "records": records,
        "rejected": rejected,
        "read": records + rejected,
        "rejects_by_reason": dict(sorted(audit.rejects_by_reason.items())),
        "rejected_examples": audit.reject_examples,
    }
    for section in audit.sections:
        findings = section.report()
        report.update(findings.report)
        metrics.update(findings.metrics)
    label = {f.source: display(f.given) for f in inputs.of("input")}
    report.update({
        "sources": _sources(inputs.ledgers("input"), label),
        "inputs": [{**s.to_dict(), "source": label[s.path]} for s in inputs.ledgers("input")],
        "against": inputs.entries("against"),
        "view_errors": {"count": audit.view_error_count, "examples": audit.view_errors.ids},
        "metrics": metrics,
        "fail_on": {"rules": [r.text for r in opts.rules], "tripped": tripped(list(opts.rules), metrics)},
    })
    referenced = _ids_in({k: v for k, v in report.items() if k != "inputs"})
    report["examples"] = {rid: audit.refs[rid] for rid in sorted(referenced) if rid in audit.refs}
    return report


def _sources(stats: list[InputStats], label: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Counts per source (an input argument: a file, or a directory of many)."""
    sources: dict[str, dict[str, Any]] = {}
    for s in stats:
        src = sources.setdefault(label[s.path], {"files": 0, "read": 0, "accepted": 0, "rejected": 0,
                                                 "formats": {}, "licences": {}})
        src["files"] += 1
        for key in ("read", "accepted", "rejected"):
            src[key] += getattr(s, key)
        src["formats"][s.format or "unknown"] = src["formats"].get(s.format or "unknown", 0) + s.accepted
        src["licences"][s.licence or "unknown"] = src["licences"].get(s.licence or "unknown", 0) + s.read
    return sources
