"""The audit run: read every input once, let each section look at each trajectory, write the reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflan import formats
from agentflan.audit.balance import CapabilityBalance
from agentflan.audit.contamination import Contamination, EvalIndex
from agentflan.audit.duplicates import Duplicates
from agentflan.audit.entanglement import FormatShare, model_view, tokens_by_capability
from agentflan.audit.grounding import ArgumentGrounding
from agentflan.audit.negatives import NegativeCoverage
from agentflan.audit.phrasing import Phrasing
from agentflan.audit.prompts import FormatMismatch
from agentflan.audit.record import AuditedRecord, Examples, user_queries
from agentflan.audit.report import build_report, display
from agentflan.audit.rules import Rule
from agentflan.audit.section import Section
from agentflan.audit.shape import Shape
from agentflan.audit.unfinished import Unfinished
from agentflan.audit.validity import Validity
from agentflan.capabilities import spans
from agentflan.files import write_json_atomic
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory
from agentflan.tokens import token_counter


@dataclass
class AuditResult:
    report: dict[str, Any]
    json_path: Path
    html_path: Path

    @property
    def tripped(self) -> list[dict[str, Any]]:
        return self.report["fail_on"]["tripped"]


@dataclass
class AuditOptions:
    fmt: str = "auto"
    against: tuple[Path, ...] = ()
    tokenizer: str | None = None
    rules: tuple[Rule, ...] = ()
    near_threshold: float = 0.8
    ngram: int = 8
    examples: int = 5
    show_progress: bool = True
    overwrite: bool = False
    argv: list[str] | None = None


def sections(opts: AuditOptions, count: Callable[[str], int], index: EvalIndex | None) -> list[Section]:
    """Every section of the report, each seeing every record."""
    return [FormatShare(opts.examples), CapabilityBalance(opts.examples, count), NegativeCoverage(opts.examples),
            Validity(opts.examples), Duplicates(threshold=opts.near_threshold, examples=opts.examples),
            Contamination(index), Shape(count), FormatMismatch(opts.examples), ArgumentGrounding(opts.examples),
            Phrasing(opts.examples), Unfinished(opts.examples)]


class Audit:
    """One audit in progress: its sections, the rejects, and where each record it may cite came from."""

    def __init__(self, opts: AuditOptions, index: EvalIndex | None) -> None:
        self.count, self.counted_with = token_counter(opts.tokenizer)
        self.index = index
        self.sections = sections(opts, self.count, index)
        self.validity = next(s for s in self.sections if isinstance(s, Validity))
        self.records = 0
        self.rejects_by_reason: Counter[str] = Counter()
        self.reject_examples: list[dict[str, Any]] = []
        self.view_errors = Examples(opts.examples)
        self.view_error_count = 0
        self.refs: dict[str, dict[str, Any]] = {}
        self.limit = opts.examples

    def reject(self, rej: Reject) -> None:
        self.rejects_by_reason[rej.reason] += 1
        self.validity.add_reject(rej)
        if len(self.reject_examples) < 4 * self.limit:
            self.reject_examples.append(rej.to_dict(raw_limit=300))

    def add(self, traj: Trajectory, source: str) -> None:
        self.records += 1
        try:
            view, view_spans = model_view(traj)
        except Exception as exc:  # a renderer's bug on one record must not end the audit: count it, go on
            self.view_error_count += 1
            self.view_errors.add(f"{type(exc).__name__}: {exc}"[:200], traj.id)
            view, view_spans = "text", list(spans(traj))
        rec = AuditedRecord(traj, source, view, view_spans, tokens_by_capability(view_spans, self.count))
        for section in self.sections:
            section.add(rec)
        if rec.id not in self.refs:
            prov = traj.provenance
            queries = user_queries(traj)
            self.refs[rec.id] = {"source": prov.source if prov else source, "line": prov.line if prov else None,
                                 "item": prov.item if prov else None, "format": prov.format if prov else None,
                                 "query": " ".join(queries[0].split())[:200] if queries else ""}


def run_audit(inputs: list[Path], out_dir: Path, opts: AuditOptions | None = None) -> AuditResult:
    """Audit ``inputs`` (files or directories; each is one *source* in the report) into ``out_dir``
    (``report.json``, ``report.html``, ``manifest.json``; written as a `RunDir`)."""
    opts = opts or AuditOptions()
    if opts.fmt != "auto":
        formats.reader(opts.fmt)  # a bad --from is a usage error before any file is touched
    files = Inputs(inputs, opts.fmt)
    files.add(opts.against, "auto", group="against")
    audit = Audit(opts, EvalIndex(opts.ngram) if opts.against else None)
    with RunDir(out_dir, "audit", inputs=files, overwrite=opts.overwrite, argv=opts.argv) as run:
        with RecordProgress("audit", enabled=opts.show_progress) as progress:
            for file in files.of("against"):  # the evaluation sets first: the index must be whole
                for item in files.read(file):
                    progress.advance()
                    if not isinstance(item, Reject) and audit.index is not None:
                        audit.index.add(display(item.provenance.source) if item.provenance else "?", item)
            for file in files.of("input"):
                for item in files.read(file):
                    progress.advance()
                    if isinstance(item, Reject):
                        audit.reject(item)
                    else:
                        audit.add(item, display(file.given))
        report = build_report(audit, opts, files)
        write_json_atomic(run.folder / "report.json", report)
        from agentflan.audit.html import write_html  # matplotlib is imported only when a report is written

        write_html(report, run.folder / "report.html")
        run.manifest(read=report["read"], records=report["records"], rejected=report["rejected"],
                     rejects_by_reason=report["rejects_by_reason"])
    return AuditResult(report, out_dir / "report.json", out_dir / "report.html")


__all__ = ["Audit", "AuditOptions", "AuditResult", "run_audit", "sections"]
