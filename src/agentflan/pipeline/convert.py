"""`agentflan convert`: read any supported format, write another, with rejects and a manifest."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan import __version__, formats
from agentflan.errors import RecordError
from agentflan.formats.base import Writer
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats, read_inputs, read_record, source_records
from agentflan.pipeline.sinks import RecordSink, sha256_file, write_json_atomic
from agentflan.pipeline.sources import Reject, SourceRecord, expand_inputs
from agentflan.schema import Trajectory


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
    inputs: list[str | Path], from_format: str, to_format: str, out: str | Path, show_progress: bool = True,
    workers: int = 1,
) -> ConvertResult:
    """Convert ``inputs`` to ``out``. With ``workers`` > 1, batches of raw records are read and written in that
    many processes; the output, rejects and manifest are byte-identical to a single process's."""
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
    results = (_converted_in_order(files, from_format, to_format, stats, workers) if workers > 1
               else (convert_one(item, write) for item in read_inputs(files, from_format, stats)))
    with (
        RecordSink(out) as sink,
        RecordSink(rejects_path) as reject_sink,
        RecordProgress(f"convert → {to_format}", enabled=show_progress) as progress,
    ):
        for result in results:
            progress.advance()
            if result.record is None:
                reasons[result.reason] += 1
                reject_sink.write(result.reject)
                continue
            sink.write(result.record)
            written += 1
            flag_counts.update(result.flags)
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


@dataclass
class Converted:
    """One input item's fate: the written record (with its flags), or a reject (with its reason)."""

    record: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    reject: dict[str, Any] | None = None
    reason: str = ""


def convert_one(item: Trajectory | Reject, write: Writer) -> Converted:
    if isinstance(item, Reject):
        return Converted(reject=item.to_dict(), reason=item.reason)
    try:
        return Converted(record=write.write(item), flags=[f.code for f in item.flags])
    except RecordError as err:
        prov = item.provenance
        rej = Reject(prov.source if prov else "?", f"write:{err.reason}", err.detail,
                     line=prov.line if prov else None, index=prov.index if prov else None, field=err.field,
                     item=item.id)
        return Converted(reject=rej.to_dict(), reason=rej.reason)


# Raw records per task: large enough that a task's work outweighs shipping it, small enough to keep every
# worker busy and the records in flight few.
_BATCH = 256


def _converted_in_order(files: list[Path], fmt: str, to_format: str, stats: dict[str, InputStats],
                        workers: int) -> Iterator[Converted]:
    """`convert_one` over every record, reading and writing in ``workers`` processes, results in input order.

    This process decodes the files and detects their formats (`source_records`); the workers run the readers,
    the validation and the writer. At most ``4 × workers`` batches are in flight, so memory stays bounded."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    pending: deque[Future[tuple[list[Converted], InputStats]] | list[Converted]] = deque()
    write = formats.writer(to_format)
    # spawn: the parent may hold threads (the progress bar), which fork would copy in an unknown state.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for path in files:
            p = str(path)
            file_stats = stats[p] = InputStats(p, sha256_file(p))
            for unit in _units(p, fmt, file_stats):
                if isinstance(unit, Reject):
                    pending.append([convert_one(unit, write)])
                else:
                    reader_name, batch = unit
                    pending.append(pool.submit(_convert_batch, reader_name, to_format, batch, file_stats.licence))
                while len(pending) > 4 * workers:
                    yield from _settle(pending.popleft(), file_stats)
            # A file's counts must be complete before the next file's stats are made.
            while pending:
                yield from _settle(pending.popleft(), file_stats)


def _units(path: str, fmt: str, file_stats: InputStats) -> Iterator[Reject | tuple[str, list[SourceRecord]]]:
    """A file's records as batches for one reader each, with every reject in its place between them."""
    batch: list[SourceRecord] = []
    reader_name = ""
    for item in source_records(path, fmt, file_stats):
        if batch and (isinstance(item, Reject) or item[0].name != reader_name or len(batch) >= _BATCH):
            yield reader_name, batch
            batch = []
        if isinstance(item, Reject):
            yield item
            continue
        reader_name = item[0].name
        batch.append(item[1])
    if batch:
        yield reader_name, batch


def _settle(unit: Any, file_stats: InputStats) -> list[Converted]:
    if isinstance(unit, list):
        return unit
    converted, batch_stats = unit.result()
    file_stats.read += batch_stats.read
    file_stats.accepted += batch_stats.accepted
    file_stats.rejected += batch_stats.rejected
    file_stats.rejects_by_reason.update(batch_stats.rejects_by_reason)
    return converted


def _convert_batch(reader_name: str, to_format: str, records: list[SourceRecord],
                   licence: str | None) -> tuple[list[Converted], InputStats]:
    """In a worker: read and write one batch of raw records, with its own counts."""
    reader, write = formats.reader(reader_name), formats.writer(to_format)
    batch_stats = InputStats(records[0].path, "", licence=licence)
    return [convert_one(item, write) for rec in records for item in read_record(reader, rec, batch_stats)], batch_stats
