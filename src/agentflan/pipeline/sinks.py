"""Writing outputs atomically: records go to a temporary file that is renamed into place only when complete, so
an interrupted run never leaves a file that looks finished, and the temporaries a killed run left behind are
removed by the next run that writes the same file. JSONL or Parquet by extension (``.gz``/``.zst`` compress
JSONL, reproducibly: no name or time in the header). Every line is strict JSON (`agentflan.strictjson`): a record
that is not is refused with `JSONRejected` and nothing of it is written."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from agentflan import strictjson
from agentflan.files import (
    json_document,
    pid_alive,
    remove_stale_temporaries,
    sha256_file,
    temporary_path,
    write_json_atomic,
)
from agentflan.pipeline.spool import Spooled, take
from agentflan.strictjson import dumps

# The whole-file helpers live in `agentflan.files`; they stay importable from here for code written against it.
__all__ = ["JSON_COLUMNS_KEY", "RecordSink", "dumps", "json_document", "pid_alive", "remove_stale_temporaries",
           "sha256_file", "temporary_path", "write_json_atomic"]

JSON_COLUMNS_KEY = "agentflan.json_columns"
_PARQUET_BATCH = 2048


class RecordSink:
    """Context manager that writes dict records to ``path`` and renames into place on clean exit.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> with RecordSink(out) as sink:
    ...     sink.write({"id": "a", "text": "é"})
    >>> out.read_text(encoding="utf-8")
    '{"id":"a","text":"é"}\\n'
    >>> import shutil; shutil.rmtree(out.parent)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp = temporary_path(self.path)
        self.count = 0
        self._parquet = self.path.suffix == ".parquet"
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None
        self._json_columns: list[str] | None = None
        self._fh: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None  # the file under a gzip stream, which GzipFile does not close
        # The sha256 of a plain file, taken as its bytes are written: hashing it once closed is another pass over
        # the whole output at the end of the run (ReAct 30x: 90 MB, 0.06 s), where workers would leave a CPU idle.
        self._digest: Any = None
        self._closed = False

    def __enter__(self) -> RecordSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.path)
        if not self._parquet:
            raw = self.tmp.open("wb")
            if self.path.suffix == ".gz":
                # No file name (it would be the temporary's, with a pid) and mtime 0: the same records give the
                # same bytes on every run.
                self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)  # type: ignore[assignment]
                self._raw = raw
            elif self.path.suffix == ".zst":
                import zstandard

                self._fh = zstandard.ZstdCompressor().stream_writer(raw)
            else:
                self._fh = raw
                self._digest = hashlib.sha256()
        return self

    @property
    def sha256(self) -> str | None:
        """The file's sha256 when it was taken as the file was written (a plain JSONL file), else None."""
        return self._digest.hexdigest() if self._digest is not None else None

    def _put(self, data: bytes) -> None:
        assert self._fh is not None
        if self._digest is not None:
            self._digest.update(data)
        self._fh.write(data)

    def write(self, record: dict[str, Any]) -> None:
        """Write one record; `JSONRejected` (nothing written, not counted) when it is not strict JSON."""
        if self._parquet:
            self._buffer.append(strictjson.check(record))
            if len(self._buffer) >= _PARQUET_BATCH:
                self._flush_parquet()
        else:
            self._put(strictjson.dumps_line(record))
        self.count += 1

    def write_lines(self, lines: bytes | Spooled, count: int) -> None:
        """Write ``count`` records already encoded as strict JSON lines (`strictjson.dumps_line`, in a worker
        process, which may have spooled them: `spool`): appended as they are, or decoded again for Parquet."""
        if self._parquet:
            for line in take(lines).splitlines():
                self.write(strictjson.loads(line))
            return
        self._put(take(lines))
        self.count += count

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
        self._finish(keep=exc_type is None)

    def close(self) -> None:
        """Finish the file and rename it into place (once; later calls do nothing)."""
        self._finish(keep=True)

    def discard(self) -> None:
        """Stop writing and remove the temporary file; nothing appears at ``path``."""
        self._finish(keep=False)

    def _finish(self, keep: bool) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._parquet:
                if keep:
                    self._flush_parquet()
                    if self._writer is None:  # no records: still write a valid empty file
                        import pyarrow as pa
                        import pyarrow.parquet as pq

                        pq.write_table(pa.table({}), self.tmp)
                if self._writer is not None:
                    self._writer.close()
            elif self._fh is not None:
                self._fh.close()
                if self._raw is not None:
                    self._raw.close()
        finally:
            if keep:
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
