"""A file's records as batches, the tasks every executor runs (`executors`): the process that lists them only
splits lines and detects formats, and a batch is read wherever it runs (`read_batch`), with its own counts that
the caller folds into the file's ledger. JSON Lines records travel undecoded: lines of a file that is not
compressed as the span of the file they fill (`LineSpan`, read again where the batch runs), other lines as their
bytes (`sources.RawLine`); records of other containers (arrays, documents, Parquet, one-record files) travel
decoded.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import orjson

from agentflan import formats
from agentflan.errors import InputError
from agentflan.pipeline.read import InputStats, read_record, source_records
from agentflan.pipeline.sources import GZIP_MAGIC, ZSTD_MAGIC, RawLine, Reject, SourceRecord
from agentflan.schema import Trajectory

# Raw records per batch: large enough that a batch's work outweighs shipping it, small enough to keep every
# worker busy and the records in flight few.
BATCH = 256
# Raw records in each of the first `SMALL_BATCHES` batches of a command's input: the process executor measures
# the step on them before it decides whether workers pay off, while the other CPU idles (ReAct: 256 records took
# 32-37 ms). The first batch's time holds the step's one-time costs (API-Bank's first file: 11.7 ms, the next
# ones 1.4-1.6 ms), so the decision waits for the second.
FIRST_BATCH = 16
SMALL_BATCHES = 2
# The last `TAIL_BYTES` of an uncompressed file of `TAIL_FROM` bytes or more go in batches of at most
# `TAIL_BATCH` records, so that workers end within a small batch of each other: at ReAct 10x (15 MB) the first
# worker to finish idled 4-39 ms while the other ended a 256-record batch.
TAIL_BYTES = 1 << 20
TAIL_FROM = 4 << 20
TAIL_BATCH = 32


@dataclass
class Batch:
    """Consecutive raw records of one input, read by one reader."""

    reader: str
    source: str  # the input as recorded (its ledger's path)
    licence: str | None
    records: list[SourceRecord | RawLine]
    flag_calls: bool = True

    def __getstate__(self) -> dict[str, Any]:
        """What travels to another process: lines of an uncompressed file as their span of it, not their bytes
        (which the worker reads faster than this process could pickle and send them)."""
        state = dict(self.__dict__)
        span = LineSpan.of(self.records)
        if span is not None:
            state["records"] = span
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def lines(self) -> list[SourceRecord | RawLine]:
        """The batch's records (read from the file when the batch arrived as a span)."""
        if isinstance(self.records, LineSpan):
            self.records = self.records.read()
        return self.records

    def weight(self) -> int:
        """About how many bytes the batch holds (what executors measure work by): a raw line's bytes, a decoded
        record's size in its file where the source knew it."""
        return sum(len(r.data) if isinstance(r, RawLine) else r.size if r.size is not None else _size(r.value)
                   for r in self.records)


@dataclass(frozen=True)
class LineSpan:
    """Consecutive lines of one uncompressed file, by place: the bytes from ``start`` that hold them, and each
    line's offset from ``start``, length, line number and record index."""

    path: str
    start: int
    offsets: array[int]
    lengths: array[int]
    line_numbers: array[int]
    indexes: array[int]

    @classmethod
    def of(cls, records: list[SourceRecord | RawLine]) -> LineSpan | None:
        """The span of ``records``, or None unless all are lines of one uncompressed file."""
        if not records:
            return None
        first = records[0]
        if not isinstance(first, RawLine) or first.offset is None:
            return None
        offsets, lengths, line_numbers, indexes = array("q"), array("q"), array("q"), array("q")
        for rec in records:
            if not isinstance(rec, RawLine) or rec.offset is None or rec.path != first.path:
                return None
            offsets.append(rec.offset - first.offset)
            lengths.append(len(rec.data))
            line_numbers.append(rec.line)
            indexes.append(rec.index)
        return cls(first.path, first.offset, offsets, lengths, line_numbers, indexes)

    def read(self) -> list[SourceRecord | RawLine]:
        """The lines, read from the file; `InputError` when it no longer holds them (changed while read)."""
        size = self.offsets[-1] + self.lengths[-1]
        try:
            with open(self.path, "rb") as f:
                data = os.pread(f.fileno(), size, self.start)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot be read again ({exc.strerror or exc})") from exc
        # every line but a file's last ends in a newline: anything else means the lines moved
        if len(data) != size or any(data[end - 1] != 0x0A for end in _ends(self.offsets, self.lengths)[:-1]):
            raise InputError(f"{self.path}: changed while it was being read (bytes {self.start:,} to "
                             f"{self.start + size:,} are not the lines listed)")
        return [RawLine(self.path, index, data[o:o + n], line, self.start + o)
                for o, n, line, index in zip(self.offsets, self.lengths, self.line_numbers, self.indexes, strict=True)]


def _ends(offsets: array[int], lengths: array[int]) -> list[int]:
    return [o + n for o, n in zip(offsets, lengths, strict=True)]


def _size(value: object) -> int:
    """The bytes of a decoded record whose size in its file is unknown (ijson arrays, Parquet, one-record files
    made of lines): its encoding."""
    try:
        return len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return 1024


def batches(path: Path, fmt: str, stats: InputStats, size: int = BATCH,
            flag_calls: bool = True, first: int | None = None) -> Iterator[Batch | Reject]:
    """A file's records as batches for one reader each, with every reject found while listing them (counted in
    ``stats``) in its place between them; the first `SMALL_BATCHES` batches hold at most ``first`` records
    (default ``size``), those after the first in a large file's last `TAIL_BYTES` at most `TAIL_BATCH`."""
    batch: list[SourceRecord | RawLine] = []
    reader_name = ""
    limits = chain([first] * SMALL_BATCHES if first else [], repeat(size))
    limit = next(limits)
    tail: int | None = None
    sized = False  # the size is asked only of a file longer than a batch: a stat for each of 5,000 small files
    for item in source_records(str(path), fmt, stats, raw=True):
        if batch and (isinstance(item, Reject) or item[0].name != reader_name or len(batch) >= limit):
            yield Batch(reader_name, stats.path, stats.licence, batch, flag_calls)
            batch, limit = [], next(limits)
            if not sized:
                tail, sized = _tail_start(path), True
        if isinstance(item, Reject):
            yield item
            continue
        reader_name, record = item[0].name, item[1]
        if tail is not None and isinstance(record, RawLine) and record.offset is not None and record.offset >= tail:
            limit = min(limit, TAIL_BATCH)
        batch.append(record)
    if batch:
        yield Batch(reader_name, stats.path, stats.licence, batch, flag_calls)


def _tail_start(path: Path) -> int | None:
    """Where the small batches of ``path``'s end begin (an offset), or None for a file too small to need them."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None  # reading it will say why
    return size - TAIL_BYTES if size >= TAIL_FROM else None


def read_batch(batch: Batch) -> tuple[list[Trajectory | Reject], InputStats]:
    """The trajectories and rejects of a batch, in order, with the batch's counts (for `InputStats.add`)."""
    reader = formats.reader(batch.reader)
    stats = InputStats(batch.source, "", licence=batch.licence)
    return [item for rec in batch.lines() for item in read_record(reader, rec, stats, batch.flag_calls)], stats


def expected_bytes(path: Path) -> int:
    """About how many bytes reading ``path`` yields: its size, or for gzip its recorded uncompressed size (exact
    below 4 GiB), for zstd the frame's content size when recorded."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(18)
        if head.startswith(GZIP_MAGIC) and size >= 18:
            f.seek(-4, 2)
            return max(size, int.from_bytes(f.read(4), "little"))
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        try:
            content = zstandard.frame_content_size(head)
        except zstandard.ZstdError:
            content = -1
        return content if content > 0 else 4 * size
    return size


def read_task(task: Batch | Reject) -> tuple[list[Trajectory | Reject], InputStats | None]:
    """The step of reading, under any executor: a batch's items and counts; a reject found while listing is
    already counted (None)."""
    return ([task], None) if isinstance(task, Reject) else read_batch(task)


def task_weight(task: Batch | Reject) -> int:
    return task.weight() if isinstance(task, Batch) else 0
