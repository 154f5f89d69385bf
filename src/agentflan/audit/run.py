"""The audit run: read every input once, let each section look at each trajectory, write the reports."""

from __future__ import annotations

from collections import Counter
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
from agentflan.audit.report import build_report
from agentflan.audit.rules import Rule
from agentflan.audit.shape import Shape
from agentflan.audit.unfinished import Unfinished
from agentflan.audit.validity import Validity
from agentflan.capabilities import spans
from agentflan.files import write_json_atomic
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats, read_inputs
from agentflan.pipeline.sources import Reject, expand_inputs
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


class _Run:
    def __init__(self, opts: AuditOptions, index: EvalIndex | None) -> None:
        self.count, self.counted_with = token_counter(opts.tokenizer)
        self.format = FormatShare(opts.examples)
        self.balance = CapabilityBalance(opts.examples, self.count)
        self.negatives = NegativeCoverage(opts.examples)
        self.validity = Validity(opts.examples)
        self.duplicates = Duplicates(threshold=opts.near_threshold, examples=opts.examples)
        self.contamination = Contamination(index)
        self.shape = Shape(self.count)
        self.format_mismatch = FormatMismatch(opts.examples)
        self.grounding = ArgumentGrounding(opts.examples)
        self.phrasing = Phrasing(opts.examples)
        self.unfinished = Unfinished(opts.examples)
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
        self.format.add(rec.id, source, view, traj.kind, rec.tokens)
        for section in (self.balance, self.negatives, self.validity, self.duplicates, self.contamination,
                        self.shape, self.format_mismatch, self.grounding, self.phrasing, self.unfinished):
            section.add(rec)
        if rec.id not in self.refs:
            prov = traj.provenance
            queries = user_queries(traj)
            self.refs[rec.id] = {"source": prov.source if prov else source, "line": prov.line if prov else None,
                                 "item": prov.item if prov else None, "format": prov.format if prov else None,
                                 "query": " ".join(queries[0].split())[:200] if queries else ""}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_audit(inputs: list[Path], out_dir: Path, opts: AuditOptions | None = None) -> AuditResult:
    """Audit ``inputs`` (files or directories; each is one *source* in the report) into ``out_dir``."""
    opts = opts or AuditOptions()
    if opts.fmt != "auto":
        formats.reader(opts.fmt)  # a bad --from is a usage error before any file is touched
    groups = [(_display(p), expand_inputs([p])) for p in inputs]
    against_files = expand_inputs(list(opts.against)) if opts.against else []
    index = EvalIndex(opts.ngram) if opts.against else None
    against_stats: dict[str, InputStats] = {}
    run = _Run(opts, index)
    stats: dict[str, InputStats] = {}
    source_of: dict[str, str] = {}
    with RecordProgress("audit", enabled=opts.show_progress) as progress:
        if index is not None:
            for item in read_inputs(against_files, "auto", against_stats):
                progress.advance()
                if not isinstance(item, Reject):
                    index.add(_display(Path(item.provenance.source)) if item.provenance else "?", item)
        for label, files in groups:
            group_stats: dict[str, InputStats] = {}
            for item in read_inputs(files, opts.fmt, group_stats):
                progress.advance()
                if isinstance(item, Reject):
                    run.reject(item)
                else:
                    run.add(item, label)
            for path, s in group_stats.items():
                stats[path] = s
                source_of[path] = label
    report = build_report(run, opts, stats, source_of, against_stats)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    html_path = out_dir / "report.html"
    write_json_atomic(json_path, report)
    from agentflan.audit.html import write_html  # matplotlib is imported only when a report is written

    write_html(report, html_path)
    return AuditResult(report, json_path, html_path)


__all__ = ["AuditOptions", "AuditResult", "run_audit"]
