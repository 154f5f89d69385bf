"""An input's sha256 is found while the file is read (`files.HashedFile` under `sources.iter_raw`), so a file read
whole is read once: the digest equals a separate read's in every container; a file whose reading stops early has
its rest hashed then, a Parquet file (which pyarrow reads) is hashed before it is read, and a ledger whose file
was never read is hashed when asked."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.errors import InputError
from agentflan.files import HashedFile, sha256_file
from agentflan.pipeline import read as read_module
from agentflan.pipeline import sources
from agentflan.pipeline.convert import convert
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import iter_raw, iter_records

MESSAGES = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


def _openai_lines(n: int) -> bytes:
    return b"".join(json.dumps({"id": f"r{i}", "messages": MESSAGES}).encode() + b"\n" for i in range(n))


@given(data=st.binary(max_size=5000), reads=st.lists(st.integers(min_value=-1, max_value=700), max_size=12))
@settings(max_examples=60, deadline=None)
def test_hashed_file_digest_is_the_whole_files_whatever_was_read(tmp_path_factory: pytest.TempPathFactory,
                                                                 data: bytes, reads: list[int]) -> None:
    path = tmp_path_factory.mktemp("h") / "f.bin"
    path.write_bytes(data)
    hashed = HashedFile(path)
    with io.BufferedReader(hashed, buffer_size=64) as stream:
        got = b"".join(stream.readline() if n < 0 else stream.read(n) for n in reads)
        stream.tell()  # asking where it is does not spoil the hash
        assert data.startswith(got)
        assert hashed.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_seek_elsewhere_spoils_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 64)
    hashed = HashedFile(path)
    with io.BufferedReader(hashed, buffer_size=64) as stream:
        stream.read(4)
        stream.seek(10_000)  # past what was buffered: the bytes between were never read
        stream.read()
        assert hashed.hexdigest() is None


@pytest.mark.parametrize("container", ["jsonl", "bom", "gzip", "zstd", "array", "document"])
def test_digest_found_while_reading_equals_the_files(tmp_path: Path, container: str) -> None:
    lines = _openai_lines(40)
    raw = {
        "jsonl": lines,
        "bom": b"\xef\xbb\xbf" + lines,
        "gzip": gzip.compress(lines),
        "zstd": zstandard.ZstdCompressor().compress(lines),
        "array": json.dumps([json.loads(line) for line in lines.splitlines()]).encode() + b"\n\n  ",
        "document": json.dumps({"id": "doc", "messages": MESSAGES}, indent=2).encode(),
    }[container]
    path = tmp_path / f"in.{container}"
    path.write_bytes(raw)
    found: list[str] = []
    assert list(iter_raw(path, found.append))
    assert found == [hashlib.sha256(raw).hexdigest()]


def test_a_file_read_whole_is_not_read_again_for_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_openai_lines(30))

    def no_second_read(p: object) -> str:
        raise AssertionError(f"{p} was read again to hash it")

    monkeypatch.setattr(read_module, "sha256_file", no_second_read)
    stats = InputStats(str(path), "", hash_from=str(path))
    assert len([t for t in read_file(path, "auto", stats)]) == 30
    assert stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_read_in_part_is_hashed_when_its_reading_stops(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_openai_lines(3000))
    files = Inputs([path], "auto")
    (file,) = files.of("input")
    stream = files.read(file)
    next(stream)
    stream.close()  # stopped after one record (`eval --limit`): the rest is hashed now
    original = path.read_bytes()
    path.write_bytes(b"changed later\n")  # what the manifest records is the file that was read
    assert files.ledger(file).digest == hashlib.sha256(original).hexdigest()


def test_a_ledger_never_read_is_hashed_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_openai_lines(3))
    files = Inputs([path], "auto")
    (file,) = files.of("input")
    assert files.ledger(file).sha256 == sha256_file(path)


def test_a_parquet_input_is_hashed_before_pyarrow_reads_it(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "messages": [json.dumps(MESSAGES)] * 2}), path)
    found: list[str] = []
    assert len(list(iter_raw(path, found.append))) == 2
    assert found == [sha256_file(path)]


def test_a_file_that_cannot_be_opened_for_hashing_is_an_input_error(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_openai_lines(3))

    def refuse(p: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sources, "HashedFile", refuse)
    with pytest.raises(InputError, match="cannot open"):
        list(iter_raw(path, lambda digest: None))


def test_records_read_without_a_reader_are_hashed_on_the_way(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_bytes(b'{"q": 1}\n{"q": 2}\n')
    files = Inputs([path], "auto")
    (file,) = files.of("input")
    assert len(list(files.records(file))) == 2
    assert files.ledger(file).digest == sha256_file(path)


def test_iter_records_without_digest_hashes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_openai_lines(3))
    assert len(list(iter_records(path))) == 3


@pytest.mark.parametrize("workers", [1, 2])
def test_convert_manifest_holds_the_inputs_sha256(tmp_path: Path, workers: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTFLAN_WORKERS_ALWAYS", "1")
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(_openai_lines(700)))
    result = convert([path], "auto", "openai", tmp_path / f"out{workers}.jsonl", show_progress=False,
                     workers=workers)
    assert [i["sha256"] for i in result.manifest["inputs"]] == [sha256_file(path)]
