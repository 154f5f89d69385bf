"""What travels between the parent and its workers: batches of an uncompressed file's lines as spans of the file
(`batches.LineSpan`), read again where they run, and large results as spooled files (`spool`), copied into the
output by the kernel. Either way the bytes that arrive are the bytes that left."""

from __future__ import annotations

import gzip
import hashlib
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.errors import InputError
from agentflan.pipeline import sources, spool
from agentflan.pipeline.batches import Batch, LineSpan, batches
from agentflan.pipeline.read import InputStats
from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import BOM, RawLine, iter_raw

# Lines as a file may hold them: records, blank and whitespace-only lines, CRLF ends, long lines (past a small
# `MAX_RECORD_BYTES`), with or without a final newline and a byte order mark.
_record = st.integers(0, 10**6).map(lambda i: b'{"i": %d}' % i)
_line = st.one_of(_record, st.just(b""), st.sampled_from([b"  ", b"\t", b"\r"]), _record.map(lambda r: r + b"\r"),
                  st.integers(70, 200).map(lambda n: b'{"long": "' + b"x" * n + b'"}'))
_files = st.tuples(st.lists(_line, min_size=1, max_size=40), st.booleans(), st.booleans())


def _write(path: Path, lines: list[bytes], final_newline: bool, bom: bool) -> bytes:
    data = (BOM if bom else b"") + b"\n".join(lines) + (b"\n" if final_newline else b"")
    path.write_bytes(data)
    return data


def _small_records_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        case: tuple[list[bytes], bool, bool]) -> tuple[Path, bytes]:
    """``case`` written as ``a.jsonl``, read with a record limit its long lines pass: (the path, its bytes)."""
    monkeypatch.setattr(sources, "MAX_RECORD_BYTES", 64)
    path = tmp_path / "a.jsonl"
    return path, _write(path, *case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files)
def test_every_line_of_a_plain_file_knows_where_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      case: tuple[list[bytes], bool, bool]) -> None:
    path, data = _small_records_file(tmp_path, monkeypatch, case)
    lines = [r for r in iter_raw(path) if isinstance(r, RawLine)]
    for line in lines:
        assert line.offset is not None and data[line.offset:line.offset + len(line.data)] == line.data
    # a compressed file has no offsets to read again: its lines travel as bytes
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(data))
    assert [(r.data, r.offset) for r in iter_raw(gz) if isinstance(r, RawLine)] == [(r.data, None) for r in lines]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files)
def test_a_batch_arrives_with_the_lines_it_left_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     case: tuple[list[bytes], bool, bool]) -> None:
    path, _ = _small_records_file(tmp_path, monkeypatch, case)
    for task in batches(path, "openai", InputStats(str(path), ""), size=7):
        if not isinstance(task, Batch):
            continue
        shipped = pickle.dumps(task)
        assert len(shipped) < 1000 + 40 * len(task.records)  # places, not the lines' bytes
        assert not any(r.data in shipped for r in task.records if len(r.data) > 12)
        arrived = pickle.loads(shipped)
        assert isinstance(arrived.records, LineSpan)
        assert arrived.lines() == task.records


def test_a_file_changed_under_a_batch_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"i": 1}\n{"i": 2}\n{"i": 3}\n')
    (task,) = [t for t in batches(path, "openai", InputStats(str(path), "")) if isinstance(t, Batch)]
    arrived = pickle.loads(pickle.dumps(task))
    path.write_bytes(b'{"i": 1}\n{"i": 22}\n{"i": 3}\n')
    with pytest.raises(InputError, match="changed while it was being read"):
        arrived.lines()


def test_lines_of_a_compressed_file_travel_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"i": 1}\n{"i": 2}\n'))
    (task,) = [t for t in batches(path, "openai", InputStats(str(path), "")) if isinstance(t, Batch)]
    arrived = pickle.loads(pickle.dumps(task))
    assert arrived.records == task.records and all(isinstance(r, RawLine) for r in arrived.records)


@pytest.fixture
def spooling(tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    spool.configure(str(folder))
    yield folder
    spool.configure(None)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_spooled_lines_land_in_order_in_any_output(tmp_path: Path, spooling: Path, suffix: str) -> None:
    big = b"".join(b'{"n": %d}\n' % i for i in range(20_000))
    assert len(big) >= spool.MIN_BYTES
    spooled = spool.put(big)
    small = spool.put(b'{"n": -1}\n')
    assert isinstance(spooled, spool.Spooled) and small == b'{"n": -1}\n'
    out = tmp_path / f"out{suffix}"
    with RecordSink(out) as sink:
        sink.write({"n": -2})
        sink.write_lines(spooled, 20_000)
        sink.write_lines(small, 1)
        sink.write({"n": -3})
    raw = out.read_bytes()
    if suffix == ".jsonl.gz":
        raw = gzip.decompress(raw)
    elif suffix == ".jsonl.zst":
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
    assert raw == b'{"n":-2}\n' + big + b'{"n": -1}\n{"n":-3}\n'
    assert sink.count == 20_003
    assert list(spooling.iterdir()) == []  # taken, so removed
    # a plain file's sha256 is taken as it is written; a compressed one's is left to a read of the file
    assert sink.sha256 == (hashlib.sha256(out.read_bytes()).hexdigest() if suffix == ".jsonl" else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.tuples(st.just("record"), st.integers(-10**6, 10**6)),
                          st.tuples(st.just("lines"), st.integers(0, 3000))), max_size=12))
def test_a_manifest_names_the_sha256_of_the_bytes_on_disk(tmp_path: Path, spooling: Path,
                                                          writes: list[tuple[str, int]]) -> None:
    """Whatever mix of records, lines and spooled lines a run writes, the sha256 its manifest gives each output
    is that of the file as it lies on disk."""
    from agentflan.pipeline.run import RunDir

    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    with RunDir(out, "demo") as run:
        sink = run.sink("out.jsonl")
        for kind, n in writes:
            if kind == "record":
                sink.write({"n": n})
            else:  # n lines, spooled from about 2,000 on
                sink.write_lines(spool.put(b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"x" * 20) for i in range(n))), n)
        manifest = run.manifest()
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert listed["out.jsonl"] == hashlib.sha256((out / "out.jsonl").read_bytes()).hexdigest()


def test_outside_a_worker_nothing_is_spooled() -> None:
    data = bytearray(b"x" * (spool.MIN_BYTES * 2))
    assert spool.put(data) == bytes(data)
