"""``report.json``: every section's findings, the flat metrics ``--fail-on`` reads, and the example records.

Top-level keys (stable; others may be added): ``format_share`` (0–1), ``capability_tokens``,
``negative_coverage`` (``tools_call``, ``tools_no_call``, ``no_tools_call``, ``no_tools_no_call``), ``validity``
(count per rule), ``duplicates``, ``contamination``, ``records``, ``rejected``. Every finding lists example
record ids; ``examples`` maps each id to where it came from and its first query.
"""

from __future__ import annotations

from typing import Any

from agentflan import __version__
from agentflan.audit.record import share
from agentflan.audit.rules import tripped
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


def build_report(run: Any, opts: Any, stats: dict[str, InputStats], source_of: dict[str, str],
                 against_stats: dict[str, InputStats]) -> dict[str, Any]:
    records = run.records
    rejected = sum(run.rejects_by_reason.values())
    fmt = run.format.result()
    balance = run.balance.result()
    negatives = run.negatives.result()
    validity, validity_details = run.validity.result()
    duplicates = run.duplicates.result()
    contamination = run.contamination.result()
    shape = run.shape.result()
    mismatch = run.format_mismatch.result()
    grounding = run.grounding.result()
    phrasing = run.phrasing.result()
    unfinished = run.unfinished.result()

    sources: dict[str, dict[str, Any]] = {}
    for path, s in stats.items():
        src = sources.setdefault(source_of[path], {"files": 0, "read": 0, "accepted": 0, "rejected": 0,
                                                   "formats": {}, "licences": {}})
        src["files"] += 1
        for key in ("read", "accepted", "rejected"):
            src[key] += getattr(s, key)
        src["formats"][s.format or "unknown"] = src["formats"].get(s.format or "unknown", 0) + s.accepted
        src["licences"][s.licence or "unknown"] = src["licences"].get(s.licence or "unknown", 0) + s.read

    rules = validity_details["rules"]
    metrics: dict[str, Any] = {
        "records": records,
        "rejected": rejected,
        "rejected_share": share(rejected, records + rejected),
        "format_share": fmt["format_share"],
        "invalid_calls": validity_details["invalid_call_share"],
        **{rule: info["record_share"] for rule, info in rules.items()},
        "duplicates": duplicates["duplicate_share"],
        "exact_duplicates": duplicates["exact"]["share"],
        "near_duplicates": duplicates["near"]["share"],
        "contamination": contamination["share"],
        "tool_contamination": contamination["tools"]["share"],
        "tools_no_call": negatives["tools_no_call_share"],
        "negative_circumstances": negatives["circumstances_present"],
        "negative_share": negatives["negative_share"],
        "format_mismatch": mismatch["share"],
        "chat_format_mismatch": mismatch["chat_mismatched"],
        "ungrounded_arguments": grounding["share"],
        "instruct_ungrounded_arguments": grounding["instruct_ungrounded"],
        "negative_reply_repetition": phrasing["max_repeated_share"],
        "call_phrases": phrasing["call_phrase_share"],
        "unfinished": unfinished["share"],
    }
    report: dict[str, Any] = {
        "agentflan_version": __version__,
        "command": "audit",
        "tokens_counted_with": run.counted_with,
        "records": records,
        "rejected": rejected,
        "read": records + rejected,
        "rejects_by_reason": dict(sorted(run.rejects_by_reason.items())),
        "rejected_examples": run.reject_examples,
        "format_share": fmt["format_share"],
        "format": fmt,
        "capability_tokens": balance["tokens"],
        "capability_balance": balance,
        "negative_coverage": negatives,
        "validity": validity,
        "validity_details": validity_details,
        "duplicates": duplicates,
        "contamination": contamination,
        "shape": shape,
        "format_mismatch": mismatch,
        "argument_grounding": grounding,
        "phrasing": phrasing,
        "unfinished": unfinished,
        "sources": sources,
        "inputs": [{**s.to_dict(), "source": source_of[p]} for p, s in stats.items()],
        "against": [s.to_dict() for s in against_stats.values()],
        "view_errors": {"count": run.view_error_count, "examples": run.view_errors.ids},
        "metrics": metrics,
        "fail_on": {"rules": [r.text for r in opts.rules], "tripped": tripped(list(opts.rules), metrics)},
    }
    referenced = _ids_in({k: v for k, v in report.items() if k != "inputs"})
    report["examples"] = {rid: run.refs[rid] for rid in sorted(referenced) if rid in run.refs}
    return report
