"""Issue 12, readers: JSON Lines is never read as one document, a BOM loses nothing, and what is not strict JSON
(or is beyond the limits) is one reject with its reason, never a crash and never copied to the output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from agentflan import strictjson
from agentflan.pipeline import sources
from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import Reject, SourceRecord, container, iter_records

FIRE = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "Thought: t\nAction: finish[a]"}]}


def _outcomes(path: Path) -> list:
    return [r.value if isinstance(r, SourceRecord) else r.reason for r in iter_records(path)]


@pytest.mark.parametrize("name", ["x.jsonl", "x.json", "x.json.gz", "x.ndjson"])
def test_a_broken_first_line_loses_only_that_line(tmp_path: Path, name: str) -> None:
    lines = [json.dumps({**FIRE, "i": i}) for i in range(500)]
    lines[0] = lines[0][:37]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    out = list(iter_records(path))
    assert len(out) == 500
    assert isinstance(out[0], Reject) and out[0].reason == "truncated_json" and out[0].line == 1
    assert [r.value["i"] for r in out[1:]] == list(range(1, 500))


@pytest.mark.integration
def test_the_real_fireact_file_with_a_truncated_first_line(real_file, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agentflan.cli import app

    lines = real_file("FireAct/gpt_format/hotpotqa.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 500
    for name in ("hotpotqa.jsonl", "hotpotqa.json"):
        broken = tmp_path / name
        broken.write_bytes(lines[0][:100] + b"\n" + b"".join(lines[1:]))
        out = tmp_path / f"{name}.out.jsonl"
        result = CliRunner().invoke(app, ["convert", str(broken), "--to", "openai", "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
        m = json.loads(out.with_name(out.name + ".manifest.json").read_text())
        assert (m["read"], m["written"], m["rejected"]) == (500, 499, 1), name
        assert m["rejects_by_reason"] == {"truncated_json": 1}


@pytest.mark.parametrize("name", ["x.jsonl", "x.json"])
def test_a_first_line_over_64_kib_is_still_one_record(tmp_path: Path, name: str) -> None:
    long = {**FIRE, "pad": "x" * 70_000}
    (tmp_path / name).write_text("\n".join(json.dumps(r) for r in [long, FIRE, FIRE]) + "\n")
    assert _outcomes(tmp_path / name) == [long, FIRE, FIRE]


def test_documents_are_still_documents(tmp_path: Path) -> None:
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"a": [{"b": 1}, {"c": {}}], "d": "e"}, indent=2))
    assert container(pretty) == "object" and _outcomes(pretty) == [{"a": [{"b": 1}, {"c": {}}], "d": "e"}]
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"i": 0}, {"i": 1}], indent=1))
    assert container(array) == "array" and _outcomes(array) == [{"i": 0}, {"i": 1}]
    # One object per line, as an array: only the last line parses alone, and the whole file is one document.
    rows = tmp_path / "rows.json"
    rows.write_text('[\n{"i": 0},\n{"i": 1}\n]\n')
    assert container(rows) == "either" and _outcomes(rows) == [{"i": 0}, {"i": 1}]
    # The same shape that is not one document: JSON Lines with a broken first line.
    two = tmp_path / "two.json"
    two.write_text('{"i": 0, \n{"i": 1}\n')
    assert container(two) == "either" and _outcomes(two) == ["truncated_json", {"i": 1}]


def test_a_broken_pretty_printed_document_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"conversation": [{"role": "user", "text": "hi"}] * 5}, indent=1)[:-20])
    (rej,) = iter_records(path)
    assert isinstance(rej, Reject) and rej.reason == "truncated_json"


@pytest.mark.parametrize("name", ["x.jsonl", "x.json", "x.json.gz"])
def test_a_bom_loses_nothing(tmp_path: Path, name: str) -> None:
    data = b"\xef\xbb\xbf" + b'{"i": 0}\r\n{"i": 1}\r\n'
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert _outcomes(tmp_path / name) == [{"i": 0}, {"i": 1}]


def test_a_bom_before_a_json_document(tmp_path: Path) -> None:
    doc = {"conversation": [{"role": "user", "text": "hi"}], "apis_used": []}
    (tmp_path / "conv.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, indent=1).encode())
    (tmp_path / "arr.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([doc, doc]).encode())
    assert _outcomes(tmp_path / "conv.json") == [doc]
    assert _outcomes(tmp_path / "arr.json") == [doc, doc]


BAD_VALUES = {
    "nan": ('{"a": NaN}', "non_finite_number"),
    "infinity": ('{"a": -Infinity}', "non_finite_number"),
    "overflowing float": ('{"a": 1e999}', "non_finite_number"),
    "huge integer": ('{"a": ' + "9" * 4301 + "}", "number_too_large"),
    "integer past the limit": ('{"a": ' + "9" * (strictjson.MAX_INT_DIGITS + 1) + "}", "number_too_large"),
    "deep nesting": ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nesting_too_deep"),
    "nesting past the limit": ('{"a": ' + "[" * strictjson.MAX_DEPTH + "]" * strictjson.MAX_DEPTH + "}",
                               "nesting_too_deep"),
    "lone surrogate": ('{"a": "x\\ud800y"}', "lone_surrogate"),
    "lone surrogate key": ('{"\\udfff": 1}', "lone_surrogate"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
@pytest.mark.parametrize("container_name", ["x.jsonl", "x.json", "doc.json", "arr.json"])
def test_values_beyond_strict_json_are_rejected_with_a_reason(tmp_path: Path, case: str,
                                                              container_name: str) -> None:
    text, reason = BAD_VALUES[case]
    good = '{"a": [1, "\\ud83d\\ude00", 1.5e300]}'
    path = tmp_path / container_name
    if container_name == "doc.json":
        path.write_text(text)
        assert _outcomes(path) == [reason]
        return
    if container_name == "arr.json":
        path.write_text(f"[{good}, {text}, {good}]")
        # ijson refuses NaN, overflowing numbers and huge integers as syntax: the rest of the array goes with it.
        assert _outcomes(path)[0] == json.loads(good)
        assert len(_outcomes(path)) in (2, 3) and all(isinstance(o, dict | str) for o in _outcomes(path))
        return
    path.write_text(f"{good}\n{text}\n{good}\n")
    assert _outcomes(path) == [json.loads(good), reason, json.loads(good)]


def test_the_limits_hold_at_their_edge() -> None:
    depth = strictjson.MAX_DEPTH
    assert strictjson.loads("[" * depth + "]" * depth) is not None
    assert strictjson.loads("9" * strictjson.MAX_INT_DIGITS) > 0
    assert strictjson.check({"a": [1.5, "\U0001f600"]}) == {"a": [1.5, "\U0001f600"]}


def test_long_strings_and_records_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strictjson, "MAX_STRING_CHARS", 100)
    monkeypatch.setattr(sources, "MAX_RECORD_BYTES", 1000)
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([json.dumps({"a": "y" * 101}), json.dumps({"a": "y" * 5000}), '{"a": 1}']) + "\n")
    assert _outcomes(path) == ["string_too_long", "record_too_large", {"a": 1}]
    rejects = [r for r in iter_records(path) if isinstance(r, Reject)]
    assert [r.line for r in rejects] == [1, 2]
    assert all(len(r.to_dict()["raw"]) < 300 for r in rejects)


def test_a_reject_keeps_a_bounded_prefix_of_the_raw_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": ' + json.dumps("z" * 10_000) + ",\n")
    (rej,) = iter_records(path)
    raw = rej.to_dict()["raw"]
    assert raw.startswith('{"a": "zzz') and len(raw) < sources.RAW_PREFIX_CHARS + 40
    assert raw.endswith("more chars]")


def test_a_damaged_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    import random

    rng = random.Random(0)
    data = gzip.compress(b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, rng.randbytes(60).hex().encode())
                                  for i in range(4000)))
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    out = list(iter_records(path))
    assert isinstance(out[-1], Reject) and out[-1].reason == "unreadable"
    assert [r.value["i"] for r in out[:-1]] == list(range(len(out) - 1)) and len(out) > 100


def test_parquet_values_are_checked(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0, float("nan"), 2.0]}), tmp_path / "n.parquet")
    assert _outcomes(tmp_path / "n.parquet") == [{"x": 1.0}, "non_finite_number", {"x": 2.0}]
    with RecordSink(tmp_path / "j.parquet") as sink:
        sink.write({"id": "a", "messages": [{"role": "user"}]})
    assert _outcomes(tmp_path / "j.parquet") == [{"id": "a", "messages": [{"role": "user"}]}]
