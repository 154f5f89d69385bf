"""`agentflan convert`: read any supported format, write another, with rejects and a manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflan import __version__, formats
from agentflan.errors import RecordError
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats, read_inputs
from agentflan.pipeline.sinks import RecordSink, sha256_file, write_json_atomic
from agentflan.pipeline.sources import Reject, expand_inputs


def sidecar(out: Path, suffix: str) -> Path:
    """``out.rejects.jsonl`` / ``out.manifest.json`` beside the output file."""
    return out.with_name(out.name + suffix)


@dataclass
class ConvertResult:
    manifest: dict[str, Any]
    output: Path
    rejects: Path
    manifest_path: Path


def convert(
    inputs: list[str | Path], from_format: str, to_format: str, out: str | Path, show_progress: bool = True
) -> ConvertResult:
    out = Path(out)
    files = expand_inputs(inputs)
    write = formats.writer(to_format)
    if from_format != "auto":
        formats.reader(from_format)  # fail on a bad name before touching any file
    stats: dict[str, InputStats] = {}
    reasons: Counter[str] = Counter()
    flag_counts: Counter[str] = Counter()
    written = 0
    rejects_path = sidecar(out, ".rejects.jsonl")
    with (
        RecordSink(out) as sink,
        RecordSink(rejects_path) as reject_sink,
        RecordProgress(f"convert → {to_format}", enabled=show_progress) as progress,
    ):
        for item in read_inputs(files, from_format, stats):
            progress.advance()
            if isinstance(item, Reject):
                reasons[item.reason] += 1
                reject_sink.write(item.to_dict())
                continue
            try:
                record = write.write(item)
            except RecordError as err:
                reasons[f"write:{err.reason}"] += 1
                prov = item.provenance
                reject_sink.write(
                    Reject(prov.source if prov else "?", f"write:{err.reason}", err.detail,
                           line=prov.line if prov else None, index=prov.index if prov else None,
                           field=err.field, item=item.id).to_dict()
                )
                continue
            sink.write(record)
            written += 1
            flag_counts.update(f.code for f in item.flags)
    if write.companion is not None:
        write.companion(out)
    read_total = sum(s.read for s in stats.values())
    manifest: dict[str, Any] = {
        "agentflan_version": __version__,
        "command": "convert",
        "from": from_format,
        "to": to_format,
        "output": {"path": str(out), "sha256": sha256_file(out), "records": written},
        "read": read_total,
        "written": written,
        "rejected": sum(reasons.values()),
        "rejects_by_reason": dict(sorted(reasons.items())),
        "inputs": [s.to_dict() for s in stats.values()],
        "flags_by_code": dict(sorted(flag_counts.items())),
    }
    manifest_path = sidecar(out, ".manifest.json")
    write_json_atomic(manifest_path, manifest)
    return ConvertResult(manifest, out, rejects_path, manifest_path)

