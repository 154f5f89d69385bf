"""`agentflan convert`: read any supported format, write another, with rejects and a manifest."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan import formats
from agentflan.errors import RecordError
from agentflan.formats.base import Writer
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.read import InputStats, read_record, source_records
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sources import Reject, SourceRecord
from agentflan.schema import Trajectory
from agentflan.strictjson import JSONRejected


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
    workers: int = 1, overwrite: bool = False, argv: list[str] | None = None,
) -> ConvertResult:
    """Convert ``inputs`` to ``out``. With ``workers`` > 1, batches of raw records are read and written in that
    many processes; the output, rejects and manifest are byte-identical to a single process's.

    ``out`` must not be an input (or inside an input folder), nor an existing file that is not an earlier
    conversion, unless ``overwrite``: `UsageError` before anything is read."""
    out = Path(out)
    write = formats.writer(to_format)
    if from_format != "auto":
        formats.reader(from_format)  # fail on a bad name before touching any file
    files = Inputs(inputs, from_format)
    with RunDir(out, "convert", file=True, inputs=files, overwrite=overwrite, argv=argv) as run:
        results = (_converted_in_order(files, to_format, workers) if workers > 1
                   else (convert_one(item, write) for item in files))
        written, reasons, flag_counts = _write_all(results, run, to_format, show_progress)
        manifest = run.manifest(**{
            "from": from_format,
            "to": to_format,
            "read": files.read_count,
            "written": written,
            "rejected": sum(reasons.values()),
            "rejects_by_reason": dict(sorted(reasons.items())),
            "flags_by_code": dict(sorted(flag_counts.items())),
        })
    if write.companion is not None:
        write.companion(out)
    return ConvertResult(manifest, out, run.rejects_path, run.manifest_path)


def _write_all(results: Iterable[Converted], run: RunDir, to_format: str,
               show_progress: bool) -> tuple[int, Counter[str], Counter[str]]:
    """Write each converted record, or its reject; (written, rejects by reason, flags by code)."""
    reasons: Counter[str] = Counter()
    flag_counts: Counter[str] = Counter()
    written = 0
    sink, rejects = run.sink(), run.rejects
    with RecordProgress(f"convert → {to_format}", enabled=show_progress) as progress:
        for result in results:
            progress.advance()
            if result.record is not None:
                try:
                    sink.write(result.record)
                except JSONRejected as exc:  # e.g. a NaN a writer computed: never written
                    result = result.refused(f"write:{exc.reason}", exc.detail)
                else:
                    written += 1
                    flag_counts.update(result.flags)
                    continue
            reasons[result.reason] += 1
            rejects.write(result.reject or {})
    return written, reasons, flag_counts


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


# Raw records per task: large enough that a task's work outweighs shipping it, small enough to keep every
# worker busy and the records in flight few.
_BATCH = 256


def _converted_in_order(files: Inputs, to_format: str, workers: int) -> Iterator[Converted]:
    """`convert_one` over every record, reading and writing in ``workers`` processes, results in input order.

    This process decodes the files and detects their formats (`source_records`); the workers run the readers,
    the validation and the writer. At most ``4 × workers`` batches are in flight, so memory stays bounded."""
    import multiprocessing
    import os
    from concurrent.futures import Future, ProcessPoolExecutor

    pending: deque[Future[tuple[list[Converted], InputStats]] | list[Converted]] = deque()
    write = formats.writer(to_format)
    # spawn: the parent may hold threads (the progress bar), which fork would copy in an unknown state.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        for file in files.of("input"):
            file_stats = files.ledger(file)
            for unit in _units(str(file.path), file.fmt, file_stats):
                if isinstance(unit, Reject):
                    pending.append([convert_one(unit, write)])
                else:
                    reader_name, batch = unit
                    pending.append(pool.submit(_convert_batch, reader_name, to_format, batch, file_stats.licence,
                                               file_stats.path))
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
    file_stats.add(batch_stats)
    return converted


def _convert_batch(reader_name: str, to_format: str, records: list[SourceRecord], licence: str | None,
                   source: str) -> tuple[list[Converted], InputStats]:
    """In a worker: read and write one batch of raw records, with its own counts."""
    reader, write = formats.reader(reader_name), formats.writer(to_format)
    batch_stats = InputStats(source, "", licence=licence)
    return [convert_one(item, write) for rec in records for item in read_record(reader, rec, batch_stats)], batch_stats


def die_with_parent(parent: int) -> None:
    """In a worker: exit as soon as the process that started it is gone, so that killing `convert` never leaves
    workers running (they would otherwise wait on their task queue indefinitely)."""
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
