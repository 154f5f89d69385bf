from __future__ import annotations

import gzip
import json
from pathlib import Path

import zstandard

from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import Reject, SourceRecord, iter_records


def _values(path: Path) -> list:
    return [r.value if isinstance(r, SourceRecord) else r.reason for r in iter_records(path)]


def test_jsonl_with_bad_lines_keeps_the_rest(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a": 1}\n{"a": \n\xff\xfe{"b": 2}\n\n{"a": [}\n{"a": 3}\n')
    out = list(iter_records(p))
    assert [type(r) for r in out] == [SourceRecord, Reject, Reject, Reject, SourceRecord]
    assert [r.reason for r in out if isinstance(r, Reject)] == ["truncated_json", "invalid_utf8", "invalid_json"]
    assert [r.line for r in out] == [1, 2, 3, 5, 6]


def test_json_array_single_object_and_jsonl_in_json(tmp_path: Path) -> None:
    (tmp_path / "arr.json").write_text(json.dumps([{"i": 0}, {"i": 1}]))
    (tmp_path / "obj.json").write_text(json.dumps({"i": 0}, indent=2))
    (tmp_path / "lines.json").write_text('{"i": 0}\n{"i": 1}\n')
    assert _values(tmp_path / "arr.json") == [{"i": 0}, {"i": 1}]
    assert _values(tmp_path / "obj.json") == [{"i": 0}]
    assert _values(tmp_path / "lines.json") == [{"i": 0}, {"i": 1}]


def test_compressed_inputs_are_transparent(tmp_path: Path) -> None:
    data = b'{"i": 0}\n{"i": 1}\n'
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    assert _values(tmp_path / "a.jsonl.gz") == [{"i": 0}, {"i": 1}]
    assert _values(tmp_path / "a.jsonl.zst") == [{"i": 0}, {"i": 1}]


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(b"")
    assert _values(tmp_path / "e.jsonl") == []


def test_parquet_round_trip_of_nested_records(tmp_path: Path) -> None:
    records = [{"id": "a", "n": 1, "messages": [{"role": "user", "content": "x"}], "tools": []},
               {"id": "b", "n": 2, "messages": [{"role": "user", "content": "y", "extra": {"k": [1]}}], "tools": [{}]}]
    with RecordSink(tmp_path / "o.parquet") as sink:
        for r in records:
            sink.write(r)
    assert _values(tmp_path / "o.parquet") == records


def test_sink_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "o.jsonl"
    try:
        with RecordSink(target) as sink:
            sink.write({"a": 1})
            raise RuntimeError("interrupted")
    except RuntimeError:
        pass
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_build_folder_stands_for_its_canonical_records(tmp_path: Path) -> None:
    from agentflan.pipeline.sources import expand_inputs

    build = tmp_path / "build"
    build.mkdir()
    for name in ("canonical.jsonl", "openai.jsonl", "sharegpt.jsonl", "rejects.jsonl"):
        (build / name).write_text('{"id": "x"}\n')
    (build / "manifest.json").write_text('{"command": "build"}')
    assert expand_inputs([build]) == [build / "canonical.jsonl"]
    # Without a manifest it is just a folder of data files.
    (build / "manifest.json").unlink()
    assert [p.name for p in expand_inputs([build])] == ["canonical.jsonl", "openai.jsonl", "rejects.jsonl",
                                                         "sharegpt.jsonl"]
