"""Reading raw records from files, streaming, whatever the container.

Supported: JSON Lines (``.jsonl``, and ``.json`` files that are JSONL in disguise, as BFCL's are), a JSON array
or a single JSON object (``.json``; arrays are streamed with ijson), Parquet, each optionally gzip- or
zstd-compressed (detected by magic bytes, not by name). Every record comes with its file, 1-based line (where the
container has lines) and 0-based index; a record that cannot be decoded is yielded as a `Reject` and reading goes
on. Only a file that cannot be opened at all raises `InputError`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import IO, Any

from agentflan.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class SourceRecord:
    path: str
    index: int
    value: Any
    line: int | None = None


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

    def to_dict(self, raw_limit: int = 2000) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.path, "line": self.line, "index": self.index}
        if self.item is not None:
            out["item"] = self.item
        out["reason"] = self.reason
        if self.field is not None:
            out["field"] = self.field
        if self.detail:
            out["detail"] = self.detail
        if self.raw is not None:
            raw = self.raw if isinstance(self.raw, str) else json.dumps(self.raw, ensure_ascii=False, default=str)
            out["raw"] = raw if len(raw) <= raw_limit else raw[:raw_limit] + f"... [{len(raw) - raw_limit} more chars]"
        out.update(self.extra)
        return out


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file, transparently decompressing gzip and zstd."""
    p = Path(path)
    try:
        raw = p.open("rb")
    except OSError as exc:
        raise InputError(f"{p}: cannot open ({exc.strerror or exc})") from exc
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)  # type: ignore[return-value]
    return raw


def _first_significant_byte(stream: io.BufferedReader) -> bytes:
    data = stream.peek(4096)
    stripped = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    return stripped[:1]


def iter_records(path: str | Path) -> Iterator[SourceRecord | Reject]:
    """Yield every record of a file, or a `Reject` for each one that cannot be decoded."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: not a file")
    with p.open("rb") as probe:
        magic = probe.read(4)
    if magic == PARQUET_MAGIC:
        yield from _iter_parquet(p)
        return
    stream = io.BufferedReader(open_binary(p), buffer_size=1 << 16)  # type: ignore[arg-type]
    with stream:
        first = _first_significant_byte(stream)
        if first == b"":
            return  # an empty file has no records; the caller reports it
        if first == b"[" and not _looks_like_jsonl(stream):
            yield from _iter_json_array(p, stream)
        elif first == b"{" and not _looks_like_jsonl(stream):
            yield from _iter_single_object(p, stream)
        else:
            yield from _iter_jsonl(p, stream)


def _looks_like_jsonl(stream: io.BufferedReader) -> bool:
    """True when the first non-empty line is a complete JSON value and another value follows on a later line."""
    sample = stream.peek(1 << 16)
    lines = [ln for ln in sample.split(b"\n") if ln.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(lines[0])
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _iter_jsonl(path: Path, stream: IO[bytes]) -> Iterator[SourceRecord | Reject]:
    index = 0
    for line_no, raw_line in enumerate(stream, start=1):
        if not raw_line.strip():
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Reject(str(path), "invalid_utf8", f"byte {exc.start}: {exc.reason}", line=line_no, index=index,
                         raw=raw_line.decode("utf-8", "replace"))
            index += 1
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            # A value cut off by the end of the line is a truncation (a partial write); anything else is malformed.
            at_end = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
            reason = "truncated_json" if at_end else "invalid_json"
            yield Reject(str(path), reason, f"{exc.msg} at column {exc.colno}", line=line_no, index=index, raw=text)
            index += 1
            continue
        yield SourceRecord(str(path), index, value, line=line_no)
        index += 1


def _iter_json_array(path: Path, stream: IO[bytes]) -> Iterator[SourceRecord | Reject]:
    import ijson

    index = 0
    try:
        for value in ijson.items(stream, "item", use_float=True):
            yield SourceRecord(str(path), index, value)
            index += 1
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        # Past a syntax error the rest of an array cannot be located reliably: one reject stands for it.
        yield Reject(str(path), "invalid_json", f"array broken after record {index}: {exc}", index=index)


def _iter_single_object(path: Path, stream: IO[bytes]) -> Iterator[SourceRecord | Reject]:
    data = stream.read()
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield Reject(str(path), "invalid_utf8", f"byte {exc.start}: {exc.reason}", index=0)
        return
    except json.JSONDecodeError as exc:
        yield Reject(str(path), "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}",
                     line=exc.lineno, index=0)
        return
    yield SourceRecord(str(path), 0, value, line=1)


def _iter_parquet(path: Path) -> Iterator[SourceRecord | Reject]:
    import pyarrow.parquet as pq

    from agentflan.pipeline.sinks import JSON_COLUMNS_KEY

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    meta = pf.schema_arrow.metadata or {}
    json_columns = set(json.loads(meta.get(JSON_COLUMNS_KEY.encode(), b"[]")))
    index = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            for column in json_columns & row.keys():
                if isinstance(row[column], str):
                    row[column] = json.loads(row[column])
            yield SourceRecord(str(path), index, row)
            index += 1


def build_records(folder: Path) -> Path | None:
    """The file to read from an `agentflan build` output folder: its ``canonical.jsonl``, since the exports beside
    it (agentflan.jsonl, openai.jsonl, ...) hold the same records again. None for any other folder."""
    canonical = folder / "canonical.jsonl"
    return canonical if canonical.is_file() and (folder / "manifest.json").is_file() else None


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files named directly, plus the data files under named directories (sorted, for stable output order); an
    `agentflan build` output folder stands for its ``canonical.jsonl`` alone."""
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
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
