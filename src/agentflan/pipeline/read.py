"""Reading one file: raw records in, canonical trajectories or rejects out, with per-input counts that add up
(``read == accepted + rejected``). Every command reads through `pipeline.inputs.Inputs`, which runs this per file.

A file is opened by its path and recorded (in provenance, rejects and the manifest) by its *source*: the path
relative to the data root for recipe inputs, the path as given on the command line otherwise. No exception from
a reader escapes: whatever a reader did not foresee becomes a reject (``reader_error``, which the fuzz tests
require never to happen), so one record can never stop a run.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan import formats, strictjson
from agentflan.errors import RecordError
from agentflan.files import sha256_file
from agentflan.formats.base import ItemRejected, Reader, RecordContext
from agentflan.pipeline.provenance import licence_for
from agentflan.pipeline.sidefiles import SideFiles, merged
from agentflan.pipeline.sources import RawLine, Reject, SourceRecord, decoded, iter_raw, iter_records
from agentflan.schema import Trajectory
from agentflan.validate import call_flags, with_flags


class _NoReasons(Counter[str]):
    """The empty reject count that ledgers share until their first reject (`InputStats.count_reason`): counting
    into it directly would count into every ledger, so it refuses."""

    def __setitem__(self, reason: str, count: int) -> None:
        raise TypeError("a ledger counts its rejects through InputStats.count_reason")


_NO_REASONS: Counter[str] = _NoReasons()
_NO_SIDE_FILES: Mapping[str, str] = {}


@dataclass(slots=True)  # one per input file: thousands in a large build
class InputStats:
    """One input's ledger. ``path`` is the file as recorded (its source); ``side_files`` maps each side file its
    reader opened (recorded path) to its sha256: shared with other inputs, so replaced (`note_side_files`), never
    modified."""

    path: str
    digest: str  # the file's sha256 once known, else "" (`sha256` finds it)
    format: str | None = None
    licence: str | None = None
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    # Both start as one shared empty mapping (a build at 30x the corpora holds 10,903 ledgers, and an empty
    # Counter and dict cost 168 bytes together): `count_reason` gives a ledger its own Counter at its first
    # reject, and side files are only ever replaced.
    rejects_by_reason: Counter[str] = field(default_factory=lambda: _NO_REASONS)
    side_files: Mapping[str, str] = field(default_factory=lambda: _NO_SIDE_FILES)
    # The file to hash for `sha256` when reading it did not (read in part, or Parquet); None: a ledger of a part.
    hash_from: str | None = None

    @property
    def sha256(self) -> str:
        """The file's sha256: hashed while it was read whole (`sources.iter_raw`), else now, from `hash_from`."""
        if not self.digest and self.hash_from is not None:
            self.hashed(sha256_file(self.hash_from))
        return self.digest

    def hasher(self) -> Callable[[str], None] | None:
        """What a reading of the whole file should hand its sha256 to (`sources.iter_raw`); None once it is known
        (a file read again, as build's passes do, is not hashed again)."""
        return None if self.digest else self.hashed

    def hashed(self, digest: str) -> None:
        """Take the sha256 that reading the whole file found (and let go of its path: a ledger per file, 10,903 in
        a build at 30x the corpora)."""
        self.digest = self.digest or digest
        self.hash_from = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "licence": self.licence,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
        }
        if self.side_files:
            out["side_files"] = len(self.side_files)  # listed with their sha256 once, in the manifest's side_files
        return out

    def add(self, other: InputStats) -> None:
        """Fold in the counts of a part of this input read elsewhere (a batch in a worker process)."""
        self.read += other.read
        self.accepted += other.accepted
        self.rejected += other.rejected
        for reason, count in other.rejects_by_reason.items():
            self.count_reason(reason, count)
        self.note_side_files(other.side_files)

    def count_reason(self, reason: str, count: int = 1) -> None:
        if type(self.rejects_by_reason) is _NoReasons:  # the shared one, or its copy back from a worker
            self.rejects_by_reason = Counter()
        self.rejects_by_reason[reason] += count

    def note_side_files(self, opened: Mapping[str, str]) -> None:
        """Record the side files (recorded path → sha256) a reader opened for this input."""
        self.side_files = merged(self.side_files, opened)


def side_files_of(stats: list[InputStats]) -> list[dict[str, str]]:
    """Every side file the readers of these inputs opened, once each, with its sha256 (for a manifest)."""
    found: dict[str, str] = {}
    for s in stats:
        found.update(s.side_files)
    return [{"path": p, "sha256": h} for p, h in sorted(found.items())]


def read_file(
    path: str | Path, fmt: str = "auto", stats: InputStats | None = None, flag_calls: bool = True,
    source: str | None = None,
) -> Iterator[Trajectory | Reject]:
    """Trajectories from one file, or a `Reject` for each record (or part of a record) that cannot be read.

    ``fmt="auto"`` picks the reader from the file's first decodable record. Doubtful calls (unknown tool,
    arguments breaking the schema) are flagged on the trajectory, not rejected. ``source`` is how the file is
    recorded (default: ``path`` as given; ``stats.path`` when stats are given).
    """
    p = str(path)
    stats = stats if stats is not None else InputStats(source or p, "", hash_from=p)
    for item in source_records(p, fmt, stats):
        if isinstance(item, Reject):
            yield item
        else:
            yield from read_record(*item, stats, flag_calls)


def source_records(path: str, fmt: str, stats: InputStats,
                   raw: bool = False) -> Iterator[tuple[Reader, SourceRecord | RawLine] | Reject]:
    """A file's raw records, each with the reader that reads it (detected from the first decodable record when
    ``fmt`` is auto; a whole file as one record for readers that take one), or a `Reject` counted in ``stats``.
    `read_file` reads them in turn; with ``raw``, JSON Lines records stay undecoded (`RawLine`: the reader's
    caller decodes them, `read_record` does), so that a parent process can hand them to workers as bytes."""
    stats.licence = stats.licence or licence_for(path)
    chosen: Reader | None = None if fmt == "auto" else formats.reader(fmt)
    stats.format = chosen.name if chosen else None
    empty = True
    digest = stats.hasher()
    records: Iterator[SourceRecord | RawLine | Reject] = iter_raw(path, digest) if raw else iter_records(path, digest)
    if chosen is not None and chosen.group_file:
        records = _grouped(path, records)
    for rec in records:
        empty = False
        if chosen is None and isinstance(rec, RawLine):
            rec = decoded(rec)  # the reader is chosen from a decoded record
        if isinstance(rec, Reject):
            yield count_reject(stats, rec)
            continue
        if chosen is None:
            assert isinstance(rec, SourceRecord)
            chosen = formats.detect_reader(rec.value, path)
            if chosen is None:
                yield count_reject(stats, Reject(path, "unknown_format", "no reader recognises this file's records "
                                                 "(use --from)", line=rec.line, index=rec.index, raw=rec.value))
                # Every record of an undetectable file is rejected, so counts still add up.
                continue
            stats.format = chosen.name
            if chosen.group_file:
                for grouped in _grouped(path, _chain(rec, records)):
                    yield count_reject(stats, grouped) if isinstance(grouped, Reject) else (chosen, grouped)
                return
        yield chosen, rec
    if empty:
        yield count_reject(stats, Reject(path, "empty_file", "the file holds no records"))


def count_reject(stats: InputStats, rej: Reject) -> Reject:
    """Count ``rej`` against its input, recorded under the input's source."""
    stats.read += 1
    stats.rejected += 1
    stats.count_reason(rej.reason)
    return rej if rej.path == stats.path else dataclasses.replace(rej, path=stats.path)


def _grouped(path: str, records: Iterator[SourceRecord | RawLine | Reject]) -> Iterator[SourceRecord | Reject]:
    """All lines of a file as one record; a file with an undecodable line is one reject (a dialogue with a
    missing turn cannot be used)."""
    values: list[Any] = []
    bad: list[Reject] = []
    for rec in records:
        if isinstance(rec, RawLine):
            rec = decoded(rec)
        if isinstance(rec, Reject):
            bad.append(rec)
        else:
            values.append(rec.value)
    if bad:
        lines = ", ".join(str(b.line) for b in bad[:10])
        yield Reject(path, bad[0].reason, f"{len(bad)} undecodable line(s) in a one-record file (lines {lines}): "
                     f"{bad[0].detail}", line=bad[0].line, index=0)
    elif values:
        yield SourceRecord(path, 0, values, line=1)


def _chain(first: SourceRecord, rest: Iterator[SourceRecord | RawLine | Reject]) -> Iterator[SourceRecord | RawLine | Reject]:
    yield first
    yield from rest


def read_record(reader: Reader, rec: SourceRecord | RawLine, stats: InputStats,
                flag_calls: bool = True) -> Iterator[Trajectory | Reject]:
    """The trajectories of one raw record (usually one), or rejects; counted in ``stats``."""
    if isinstance(rec, RawLine):
        got = decoded(rec)
        if isinstance(got, Reject):
            yield count_reject(stats, got)
            return
        rec = got
    opener = SideFiles(rec.path, stats.path)
    ctx = RecordContext(path=rec.path, index=rec.index, format=reader.name, line=rec.line, licence=stats.licence,
                        source=stats.path, side_files=opener)
    try:
        yield from _read_items(reader, rec, ctx, stats, flag_calls)
    finally:
        stats.note_side_files(opener.opened)


def _read_items(reader: Reader, rec: SourceRecord, ctx: RecordContext, stats: InputStats,
                flag_calls: bool) -> Iterator[Trajectory | Reject]:
    try:
        for item in reader.read(rec.value, ctx):
            if isinstance(item, ItemRejected):
                err = item.error
                yield count_reject(stats, Reject(stats.path, err.reason, err.detail, line=rec.line, index=rec.index,
                                                 field=err.field, item=item.item))
                continue
            traj = with_flags(item, call_flags(item)) if flag_calls else item
            _check_parsed(traj)
            stats.read += 1
            stats.accepted += 1
            yield traj
    except RecordError as err:
        yield count_reject(stats, Reject(stats.path, err.reason, err.detail, line=rec.line, index=rec.index,
                                         field=err.field, raw=rec.value))
    except strictjson.JSONRejected as err:
        # A value parsed from text inside the record (call arguments, a tool list) that is not strict JSON.
        yield count_reject(stats, Reject(stats.path, err.reason, err.detail, line=rec.line, index=rec.index,
                                         raw=rec.value))
    except RecursionError:
        yield count_reject(stats, Reject(stats.path, "nesting_too_deep", "nested too deeply to read", line=rec.line,
                                         index=rec.index, raw=rec.value))
    except Exception as exc:  # a reader's bug must not stop the run; the fuzz tests keep this branch unused
        yield count_reject(stats, Reject(stats.path, "reader_error", f"{reader.name} reader failed: "
                                         f"{type(exc).__name__}: {str(exc)[:300]}", line=rec.line, index=rec.index,
                                         raw=rec.value))


def _check_parsed(traj: Trajectory) -> None:
    """Values readers parse out of text (arguments, tool schemas) are strict JSON like the rest of the record."""
    for tool in traj.tools:
        strictjson.check(tool.parameters)
    for message in traj.messages:
        for call in message.tool_calls:
            strictjson.check(call.arguments)
