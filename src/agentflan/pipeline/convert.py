"""`agentflan convert`: read any supported format, write another, with rejects and a manifest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from agentflan import formats
from agentflan.errors import RecordError
from agentflan.formats.base import Writer
from agentflan.pipeline import spool
from agentflan.pipeline.batches import FIRST_BATCH, Batch, batches, expected_bytes, read_task, task_weight
from agentflan.pipeline.executors import note, open_executor
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sources import Reject
from agentflan.pipeline.spool import Spooled
from agentflan.schema import Trajectory
from agentflan.strictjson import JSONRejected, dumps_line


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
    workers: int = 1, overwrite: bool = False, argv: list[str] | None = None, executor: str | None = None,
    ray_address: str | None = None,
) -> ConvertResult:
    """Convert ``inputs`` to ``out``, reading and writing batches of records under ``executor`` (`executors`;
    default: local, or process when ``workers`` > 1). The output, rejects and manifest counts are byte-identical
    under every executor and worker count.

    ``out`` must not be an input (or inside an input folder), nor an existing file that is not an earlier
    conversion, unless ``overwrite``: `UsageError` before anything is read."""
    out = Path(out)
    write = formats.writer(to_format)
    if from_format != "auto":
        formats.reader(from_format)  # fail on a bad name before touching any file
    files = Inputs(inputs, from_format)
    with open_executor(executor, workers, ray_address) as ex, \
            RunDir(out, "convert", file=True, inputs=files, overwrite=overwrite, argv=argv) as run:
        results = ex.map(partial(convert_batch, to_format=to_format), _tasks(files), weight=task_weight,
                         total=sum(expected_bytes(f.path) for f in files.of("input")))
        written, reasons, flag_counts = _write_all(results, run, files, to_format, show_progress)
        manifest = run.manifest(**{
            "from": from_format,
            "to": to_format,
            "read": files.read_count,
            "written": written,
            "rejected": sum(reasons.values()),
            "rejects_by_reason": dict(sorted(reasons.items())),
            "flags_by_code": dict(sorted(flag_counts.items())),
            "executor": ex.describe(),
        })
    note(ex)
    if write.companion is not None:
        write.companion(out)
    return ConvertResult(manifest, out, run.rejects_path, run.manifest_path)


def _tasks(files: Inputs) -> Iterator[Batch | Reject]:
    for n, file in enumerate(files.of("input")):
        yield from batches(file.path, file.fmt, files.ledger(file), first=FIRST_BATCH if n == 0 else None)


def _write_all(results: Iterable[ConvertedBatch], run: RunDir, files: Inputs, to_format: str,
               show_progress: bool) -> tuple[int, Counter[str], Counter[str]]:
    """Write each batch's records and rejects; (written, rejects by reason, flags by code)."""
    reasons: Counter[str] = Counter()
    flag_counts: Counter[str] = Counter()
    written = 0
    sink, rejects = run.sink(), run.rejects
    with RecordProgress(f"convert → {to_format}", enabled=show_progress) as progress:
        for result in results:
            if result.stats is not None:
                files.input_ledger(result.stats.path).add(result.stats)
            sink.write_lines(result.lines, result.written)
            rejects.write_lines(result.rejects, sum(result.reasons.values()))
            written += result.written
            reasons.update(result.reasons)
            flag_counts.update(result.flags)
            progress.advance(result.written + sum(result.reasons.values()))
    return written, reasons, flag_counts


@dataclass
class ConvertedBatch:
    """A batch converted: its output lines and reject lines (serialised where they were made), its counts."""

    lines: bytes | Spooled
    written: int
    rejects: bytes | Spooled
    reasons: Counter[str]
    flags: Counter[str]
    stats: InputStats | None  # the reading counts of the batch; None for a reject found while listing


def convert_batch(task: Batch | Reject, to_format: str) -> ConvertedBatch:
    """The step of `convert`, under any executor: read a batch, write each record or its reject."""
    write = formats.writer(to_format)
    items, stats = read_task(task)
    lines, rejects = bytearray(), bytearray()
    reasons: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    written = 0
    for item in items:
        result = convert_one(item, write)
        if result.record is not None:
            try:
                lines += dumps_line(result.record)
            except JSONRejected as exc:  # e.g. a NaN a writer computed: never written
                result = result.refused(f"write:{exc.reason}", exc.detail)
            else:
                written += 1
                flags.update(result.flags)
                continue
        reasons[result.reason] += 1
        rejects += dumps_line(result.reject or {})
    return ConvertedBatch(spool.put(lines), written, spool.put(rejects), reasons, flags, stats)


@dataclass
class Converted:
    """One input item's fate: the written record (with its flags and where it came from), or a reject (with
    its reason)."""

    record: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    reject: dict[str, Any] | None = None
    reason: str = ""
    origin: Reject | None = None  # for a record: a reject naming its source, should writing it fail

    def refused(self, reason: str, detail: str) -> Converted:
        origin = self.origin or Reject("?", reason)
        rej = Reject(origin.path, reason, detail, line=origin.line, index=origin.index, item=origin.item)
        return Converted(reject=rej.to_dict(), reason=reason)


def convert_one(item: Trajectory | Reject, write: Writer) -> Converted:
    if isinstance(item, Reject):
        return Converted(reject=item.to_dict(), reason=item.reason)
    origin = Reject.of(item, "")
    try:
        return Converted(record=write.write(item), flags=[f.code for f in item.flags], origin=origin)
    except RecordError as err:
        return Converted(origin=origin).refused(f"write:{err.reason}", err.detail)
    except Exception as exc:  # a writer's bug must not stop the run; the fuzz tests keep this branch unused
        return Converted(origin=origin).refused("write:writer_error", f"{write.name} writer failed: "
                                                f"{type(exc).__name__}: {str(exc)[:300]}")
