"""Writing outputs atomically: records go to a temporary file that is renamed into place only when complete, so
an interrupted run never leaves a file that looks finished. JSONL or Parquet by extension (``.gz``/``.zst``
compress JSONL)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

JSON_COLUMNS_KEY = "agentflan.json_columns"
_PARQUET_BATCH = 2048


def dumps(record: Any) -> str:
    """The one JSON encoding used for every output line (compact, UTF-8, stable key order as given)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class RecordSink:
    """Context manager that writes dict records to ``path`` and renames into place on clean exit.

    >>> with RecordSink(tmp / "out.jsonl") as sink:   # doctest: +SKIP
    ...     sink.write({"id": "a"})
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp = _tmp_name(self.path)
        self.count = 0
        self._parquet = self.path.suffix == ".parquet"
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None
        self._json_columns: list[str] | None = None
        self._fh: IO[str] | None = None

    def __enter__(self) -> RecordSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._parquet:
            if self.path.suffix == ".gz":
                # mtime=0 keeps compressed output byte-identical across runs.
                raw = gzip.GzipFile(self.tmp, "wb", mtime=0)
                self._fh = _TextOver(raw)
            elif self.path.suffix == ".zst":
                import zstandard

                self._fh = _TextOver(zstandard.ZstdCompressor().stream_writer(self.tmp.open("wb")))
            else:
                self._fh = self.tmp.open("w", encoding="utf-8", newline="\n")
        return self

    def write(self, record: dict[str, Any]) -> None:
        self.count += 1
        if self._parquet:
            self._buffer.append(record)
            if len(self._buffer) >= _PARQUET_BATCH:
                self._flush_parquet()
        else:
            assert self._fh is not None
            self._fh.write(dumps(record) + "\n")

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffer:
            return
        if self._json_columns is None:
            # Nested values vary record to record (tool schemas, arguments), which Arrow cannot type as one
            # struct: such columns are stored as JSON text and decoded again by the reader.
            keys: list[str] = []
            for rec in self._buffer:
                keys.extend(k for k in rec if k not in keys)
            self._json_columns = [k for k in keys if any(isinstance(r.get(k), dict | list) for r in self._buffer)]
            fields = [
                pa.field(k, pa.string() if k in self._json_columns else _arrow_type(self._buffer, k)) for k in keys
            ]
            schema = pa.schema(fields, metadata={JSON_COLUMNS_KEY: json.dumps(self._json_columns)})
            self._writer = pq.ParquetWriter(self.tmp, schema)
        rows = [
            {k: (dumps(r[k]) if k in self._json_columns and k in r else r.get(k)) for k in self._writer.schema.names}
            for r in self._buffer
        ]
        self._writer.write_table(pa.Table.from_pylist(rows, schema=self._writer.schema))
        self._buffer.clear()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._parquet:
                if exc_type is None:
                    self._flush_parquet()
                    if self._writer is None:  # no records: still write a valid empty file
                        import pyarrow as pa
                        import pyarrow.parquet as pq

                        pq.write_table(pa.table({}), self.tmp)
                if self._writer is not None:
                    self._writer.close()
            elif self._fh is not None:
                self._fh.close()
        finally:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            else:
                self.tmp.unlink(missing_ok=True)


def _arrow_type(records: list[dict[str, Any]], key: str) -> Any:
    import pyarrow as pa

    values = [r.get(key) for r in records if r.get(key) is not None]
    if values and all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


class _TextOver:
    """Minimal text writer over a binary compressed stream."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        return self.raw.write(text.encode("utf-8"))

    def close(self) -> None:
        self.raw.close()


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write one JSON document (manifests, reports) atomically, pretty-printed with sorted keys."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(p)
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, p)
