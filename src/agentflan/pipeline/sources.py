"""Reading raw records from files, streaming, whatever the container.

Supported: JSON Lines, a JSON array (streamed with ijson) or a single JSON object, and Parquet, each optionally
gzip- or zstd-compressed (detected by magic bytes, not by name); a leading UTF-8 BOM is ignored. Whether a file
is JSON Lines or one document is decided by its name and its first lines (`container`), never by its first line
alone, so a broken or overlong first line cannot turn a line-oriented file into one unreadable document.

Every record comes with its file, 1-based line (where the container has lines) and 0-based index. A record that
cannot be decoded, or is not strict JSON within the limits of `agentflan.strictjson`, is yielded as a `Reject`
and reading goes on. Only a file that cannot be opened at all raises `InputError`.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from agentflan import strictjson
from agentflan.errors import InputError
from agentflan.files import HashedFile, sha256_file
from agentflan.schema import Trajectory
from agentflan.strictjson import JSONRejected

T = TypeVar("T")

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
BOM = b"\xef\xbb\xbf"

# One JSON Lines record, or one whole-file document, may be this large; past it the record is rejected unread,
# so a file with no newlines cannot exhaust memory. Real corpora stay far below (the longest line here: 24 KB).
MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
# A reject keeps this much of the raw record: enough to find it again, never a copy of someone's file.
RAW_PREFIX_CHARS = 200
# Non-empty lines looked at to tell JSON Lines from one document.
PROBE_LINES = 32
# A whole-file document is read in chunks of this size (`_read_at_most`).
_CHUNK_BYTES = 1 << 20

_LINE_SUFFIXES = {".jsonl", ".ndjson"}
_COMPRESSION_SUFFIXES = {".gz", ".zst"}


@dataclass(slots=True)  # not frozen, as `RawLine`: one per record
class SourceRecord:
    path: str
    index: int
    value: Any
    line: int | None = None
    # About how many bytes the record took in its file, when the reader of the file knows (what executors weigh
    # work by, without encoding the value again); None: unknown.
    size: int | None = dc_field(default=None, compare=False, repr=False)


# Not frozen: a frozen dataclass's constructor took 0.87 us against 0.23 us, and a line listed for workers is made
# twice (listed here, read again where its batch runs).
@dataclass(slots=True)
class RawLine:
    """A JSON Lines record not decoded yet: its bytes, decoded by whoever reads it (`decoded`), which lets a
    parent process hand lines to workers without paying for decoding them itself."""

    path: str
    index: int
    data: bytes
    line: int
    # Where ``data`` starts in the file, for a file that is not compressed (what lets a batch of lines travel to a
    # worker as a span of the file instead of its bytes: `batches.LineSpan`); None in a compressed file.
    offset: int | None = None


@dataclass(frozen=True)
class Reject:
    """A record that could not be used: written to ``*.rejects.jsonl`` and counted by ``reason``."""

    path: str
    reason: str
    detail: str = ""
    line: int | None = None
    index: int | None = None
    field: str | None = None
    item: str | None = None
    raw: Any = None
    extra: dict[str, Any] = dc_field(default_factory=dict)

    @classmethod
    def of(cls, traj: Trajectory, reason: str, detail: str = "", *, path: str | None = None,
           field: str | None = None, **extra: Any) -> Reject:
        """The reject of a trajectory already read: where its provenance says it came from (``path``: the input
        as the command records it, when that differs), naming the trajectory as ``item``."""
        prov = traj.provenance
        return cls(path or (prov.source if prov else "?"), reason, detail, line=prov.line if prov else None,
                   index=prov.index if prov else None, field=field, item=traj.id, extra=extra)

    def to_dict(self, raw_limit: int = RAW_PREFIX_CHARS) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.path, "line": self.line, "index": self.index}
        if self.item is not None:
            out["item"] = self.item
        out["reason"] = self.reason
        if self.field is not None:
            out["field"] = self.field
        if self.detail:
            out["detail"] = self.detail
        if self.raw is not None:
            out["raw"] = raw_prefix(self.raw, raw_limit)
        out.update(self.extra)
        return out


def raw_prefix(raw: Any, limit: int = RAW_PREFIX_CHARS) -> str:
    """The first ``limit`` characters of a raw record as text, saying how much was left out."""
    if not isinstance(raw, str):
        try:
            raw = json.dumps(raw, ensure_ascii=False, default=str)
        except (ValueError, RecursionError):  # nested too deep to print, or a NaN
            raw = f"<a {type(raw).__name__} that cannot be shown as JSON>"
    # Lone surrogates (from an escaped \ud800) cannot be written as UTF-8.
    raw = raw.encode("utf-8", "replace").decode("utf-8")
    return raw if len(raw) <= limit else raw[:limit] + f"... [{len(raw) - limit} more chars]"


def open_binary(path: str | Path, hashed: HashedFile | None = None) -> io.BufferedReader:
    """Open a file, transparently decompressing gzip and zstd and skipping a UTF-8 BOM; read through ``hashed``
    (a `HashedFile` of ``path``) when given."""
    p = Path(path)
    raw = _opened(p, lambda: p.open("rb") if hashed is None else io.BufferedReader(hashed))
    head = raw.peek(4)[:4]
    stream: Any = raw
    if head.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=raw)
    elif head.startswith(ZSTD_MAGIC):
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    buffered = io.BufferedReader(stream, buffer_size=1 << 16)
    try:
        if buffered.peek(3)[:3] == BOM:
            buffered.read(3)
    except _READ_ERRORS:
        pass  # a corrupt stream is reported by the reading that follows
    return buffered


def _opened(p: Path, open_: Callable[[], T]) -> T:
    """``open_()``, with a file that cannot be opened said as an `InputError`."""
    try:
        return open_()
    except OSError as exc:
        raise InputError(f"{p}: cannot open ({exc.strerror or exc})") from exc


def _read_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


# What a damaged compressed stream raises while being read.
_READ_ERRORS = _read_errors()


def iter_records(path: str | Path, digest: Callable[[str], object] | None = None
                 ) -> Iterator[SourceRecord | Reject]:
    """Yield every record of a file, or a `Reject` for each one that cannot be decoded; ``digest`` as in
    `iter_raw`."""
    for rec in iter_raw(path, digest):
        yield decoded(rec) if isinstance(rec, RawLine) else rec


def iter_raw(path: str | Path, digest: Callable[[str], object] | None = None
             ) -> Iterator[SourceRecord | RawLine | Reject]:
    """`iter_records`, with the lines of a JSON Lines container left undecoded (`RawLine`). ``digest`` is given
    the file's sha256: hashed on the way and handed over once the reading ends (the rest of the file hashed then
    when it ends early), or for Parquet, which pyarrow reads, before it is read; not when a seek spoilt the hash
    or the rest cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: not a file")
    with p.open("rb") as probe:
        magic = probe.read(4)
    if magic == PARQUET_MAGIC:
        if digest is not None:  # pyarrow reads it its own way
            digest(sha256_file(p))
        yield from _iter_parquet(p)
        return
    seen = 0
    try:
        kind = container(p)
        hashed = _opened(p, lambda: HashedFile(p)) if digest is not None else None
        with open_binary(p, hashed) as stream:
            try:
                if kind == "jsonl":
                    plain = not magic.startswith((GZIP_MAGIC, ZSTD_MAGIC))
                    records: Iterator[SourceRecord | RawLine | Reject] = _iter_jsonl(p, stream, plain)
                elif kind == "array":
                    records = _iter_json_array(p, stream)
                else:
                    records = _iter_document(p, stream, lines_if_broken=kind == "either")
                for rec in records:
                    seen += 1
                    yield rec
            finally:
                # Also when the reading stops early (a limit, a damaged stream): the rest is hashed now, while
                # the file is the one that was read, as it was when it used to be hashed before reading.
                if hashed is not None and digest is not None:
                    _give_digest(hashed, digest)
    except _READ_ERRORS as exc:
        # A damaged gzip/zstd stream: what came before it was read, the rest cannot be located.
        yield Reject(str(p), "unreadable", f"the file cannot be read past record {seen}: {exc}", index=seen)


def _give_digest(hashed: HashedFile, digest: Callable[[str], object]) -> None:
    """Hand ``digest`` the sha256 of ``hashed``'s file, unless a seek spoilt it or the rest cannot be read (then
    the ledger hashes the file when asked: `read.InputStats.sha256`)."""
    try:
        found = hashed.hexdigest()
    except OSError:
        return
    if found is not None:
        digest(found)


def decoded(rec: RawLine) -> SourceRecord | Reject:
    """A JSON Lines record decoded strictly, or its reject."""
    try:
        value = strictjson.loads(rec.data.removeprefix(BOM))
    except JSONRejected as exc:
        return Reject(rec.path, exc.reason, exc.detail, line=rec.line, index=rec.index,
                      raw=rec.data.decode("utf-8", "replace"))
    return SourceRecord(rec.path, rec.index, value, line=rec.line, size=len(rec.data))


def container(path: Path) -> str:
    """How to read a JSON file: ``jsonl`` (line by line), ``array``, ``object``, or ``either`` (one document if
    the whole file parses as one, else line by line).

    A name ending in ``.jsonl``/``.ndjson`` (before any ``.gz``/``.zst``) is JSON Lines. Otherwise a file that
    does not start with ``[`` or ``{`` is read line by line, and one that does is JSON Lines when two of its first
    non-empty lines each hold a complete, non-empty JSON object (a pretty-printed document has no such line),
    one document when none does, and ``either`` when exactly one does."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    if suffixes and suffixes[-1] in _LINE_SUFFIXES:
        return "jsonl"
    with open_binary(path) as stream:
        first = stream.peek(4096).lstrip(b" \t\r\n")[:1]
        if first not in (b"[", b"{"):
            return "jsonl"
        objects = nonempty = 0
        # The first non-empty line is decoded only once another follows: a file of one line is one document
        # whatever that line holds (ToolBench's answers: one object of 20-290 KB per file, decoded again to read).
        held: bytes | None = None
        while nonempty < PROBE_LINES and objects < 2:
            line = stream.readline(MAX_RECORD_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_RECORD_BYTES:
                _skip_line(stream)
                line = b""  # not an object
            elif not line.strip():
                continue
            nonempty += 1
            if nonempty == 1:
                held = line
                continue
            if held is not None:
                objects += _is_object_line(held)
                held = None
            objects += _is_object_line(line)
    if objects >= 2:
        return "jsonl"
    if objects == 1 and nonempty > 1:
        return "either"
    return "array" if first == b"[" else "object"


def _is_object_line(line: bytes) -> bool:
    line = line.removeprefix(BOM)
    try:  # orjson first: a one-line JSON document is probed whole (ToolBench's answers, 20-290 KB each)
        value = orjson.loads(line)
    except orjson.JSONDecodeError:  # what the standard library alone takes (NaN, big integers, deep nesting)
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            return False
    return isinstance(value, dict) and bool(value)


def _skip_line(stream: IO[bytes]) -> int:
    """Read past the rest of the current line; the number of bytes skipped."""
    skipped = 0
    while chunk := stream.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def _iter_jsonl(path: Path, stream: IO[bytes], plain: bool = False) -> Iterator[RawLine | Reject]:
    """The lines of a JSON Lines stream; with ``plain`` (``stream`` reads the file itself, not a decompression of
    it), each with its offset in the file."""
    index = line_no = 0
    p = str(path)
    offset = stream.tell() if plain else None  # past a byte order mark, which `open_binary` skips
    while line := stream.readline(MAX_RECORD_BYTES + 1):
        line_no += 1
        start = offset
        if offset is not None:
            offset += len(line)
        if len(line) > MAX_RECORD_BYTES:
            size = len(line) + _skip_line(stream)
            if offset is not None:
                offset += size - len(line)
            yield Reject(p, "record_too_large", f"a line of {size:,} bytes (at most {MAX_RECORD_BYTES:,})",
                         line=line_no, index=index, raw=line[:RAW_PREFIX_CHARS].decode("utf-8", "replace"))
            index += 1
            continue
        if line.isspace():  # blank: whitespace only (`strip` would copy every line to tell)
            continue
        yield RawLine(p, index, line, line_no, start)
        index += 1


def _iter_json_array(path: Path, stream: IO[bytes]) -> Iterator[SourceRecord | Reject]:
    import ijson

    index = 0
    try:
        for value in ijson.items(stream, "item", use_float=True):
            yield _checked(path, index, value, None)
            index += 1
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        # Past a syntax error the rest of an array cannot be located reliably: one reject stands for it.
        yield Reject(str(path), "invalid_json", f"array broken after record {index}: {exc}", index=index)


def _checked(path: Path, index: int, value: Any, line: int | None) -> SourceRecord | Reject:
    """A record decoded by a parser that does not apply the limits itself (ijson, Parquet)."""
    try:
        return SourceRecord(str(path), index, strictjson.check(value), line=line)
    except JSONRejected as exc:
        return Reject(str(path), exc.reason, exc.detail, line=line, index=index, raw=value)


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """The stream's bytes, or more than ``limit`` of them when it holds more. Read in chunks: one ``read(limit +
    1)`` allocates the whole limit first (256 MiB for a document), which made reading ToolBench's answer files
    2.8x slower."""
    parts: list[bytes] = []
    total = 0
    while total <= limit and (chunk := stream.read(_CHUNK_BYTES)):
        parts.append(chunk)
        total += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _iter_document(path: Path, stream: IO[bytes], lines_if_broken: bool) -> Iterator[SourceRecord | RawLine | Reject]:
    """One JSON document: an object is one record, an array each of its items. With ``lines_if_broken``, a file
    that is not one document is read as JSON Lines instead."""
    data = _read_at_most(stream, MAX_DOCUMENT_BYTES)
    if len(data) > MAX_DOCUMENT_BYTES:
        yield Reject(str(path), "record_too_large", f"a JSON document over {MAX_DOCUMENT_BYTES:,} bytes; write it "
                     "as JSON Lines", index=0)
        return
    try:
        value = strictjson.loads(data)
    except JSONRejected as exc:
        if lines_if_broken and exc.reason in ("invalid_json", "truncated_json"):
            yield from _iter_jsonl(path, io.BytesIO(data))
            return
        yield Reject(str(path), exc.reason, exc.detail, line=exc.line, index=0, raw=data[:RAW_PREFIX_CHARS].decode(
            "utf-8", "replace"))
        return
    if isinstance(value, list):
        share = len(data) // max(1, len(value))  # each item weighed as the average
        for index, item in enumerate(value):
            yield SourceRecord(str(path), index, item, size=share)
    else:
        yield SourceRecord(str(path), 0, value, line=1, size=len(data))


def _iter_parquet(path: Path) -> Iterator[SourceRecord | Reject]:
    import pyarrow.parquet as pq

    from agentflan.pipeline.sinks import JSON_COLUMNS_KEY

    try:
        pf = pq.ParquetFile(path)
        meta = pf.schema_arrow.metadata or {}
        json_columns = set(strictjson.loads(meta.get(JSON_COLUMNS_KEY.encode(), b"[]")))
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    index = 0
    try:
        for batch in pf.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                yield _parquet_row(path, index, row, json_columns)
                index += 1
    except Exception as exc:  # a damaged row group: pyarrow's error types vary
        yield Reject(str(path), "unreadable", f"the file cannot be read past record {index}: {exc}", index=index)


def _parquet_row(path: Path, index: int, row: dict[str, Any], json_columns: set[str]) -> SourceRecord | Reject:
    for column in json_columns & row.keys():
        if isinstance(row[column], str):
            try:
                row[column] = strictjson.loads(row[column])
            except JSONRejected as exc:
                return Reject(str(path), exc.reason, f"column {column}: {exc.detail}", index=index, field=column,
                              raw=row[column])
    return _checked(path, index, row, None)


def build_records(folder: Path) -> Path | None:
    """The file to read from an `agentflan build` output folder: its ``canonical.jsonl``, since the exports beside
    it (agentflan.jsonl, openai.jsonl, ...) hold the same records again. None for any other folder."""
    canonical = folder / "canonical.jsonl"
    return canonical if canonical.is_file() and (folder / "manifest.json").is_file() else None


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the data files under named directories (sorted, for stable output order); an
    `agentflan build` output folder stands for its ``canonical.jsonl`` alone."""
    files: list[Path] = []
    for item in inputs:
        p = item if isinstance(item, Path) else Path(item)  # the caller's Path kept: a copy is ~500 bytes a file
        if p.is_dir() and (records := build_records(p)) is not None:
            files.append(records)
        elif p.is_dir():
            files.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file() and any(s in {".json", ".jsonl", ".parquet", ".gz", ".zst"} for s in f.suffixes)
                )
            )
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return files
