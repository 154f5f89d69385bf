"""Telling JSON Lines from one document (`sources.container`) and reading a whole-file document
(`sources._read_at_most`): the shortcuts they take must give what the plain way gives, on any file."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.pipeline import sources
from agentflan.pipeline.sources import MAX_RECORD_BYTES, PROBE_LINES, container, iter_records


def _reference_container(path: Path) -> str:
    """`container` as it was before the first line's decoding was deferred: every probed line decoded."""
    with sources.open_binary(path) as stream:
        first = stream.peek(4096).lstrip(b" \t\r\n")[:1]
        if first not in (b"[", b"{"):
            return "jsonl"
        objects = nonempty = 0
        while nonempty < PROBE_LINES and objects < 2:
            line = stream.readline(MAX_RECORD_BYTES + 1)
            if not line:
                break
            if not line.strip():
                continue
            if sources._is_object_line(line):
                objects += 1
            nonempty += 1
    if objects >= 2:
        return "jsonl"
    if objects == 1 and nonempty > 1:
        return "either"
    return "array" if first == b"[" else "object"


_lines = st.sampled_from([
    b'{"i": 0}', b'{"messages": [{"role": "user", "content": "x"}]}', b"{}", b"[1, 2]", b"[", b"]", b"{",
    b"}", b'{"i": 0,', b'  "a": 1', b"", b"   ", b"\t", b"null", b'"text"', b"[{}]", b"{\"i\": NaN}",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines, min_size=1, max_size=40), st.booleans())
def test_the_probe_decides_as_decoding_every_line_would(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.json"
        path.write_bytes(data)
        assert container(path) == _reference_container(path)


def test_a_one_line_document_is_decoded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"answer_generation": {"query": "q", "train_messages": [[{"role": "user", "content": "x" * 5000}]]}}
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(doc))
    probed: list[bytes] = []
    real = sources._is_object_line
    monkeypatch.setattr(sources, "_is_object_line", lambda line: probed.append(line) or real(line))
    assert container(path) == "object"
    assert probed == []  # a file of one line is one document whatever the line holds
    assert [r.value for r in iter_records(path)] == [doc]
    two = tmp_path / "two.json"
    two.write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    assert container(two) == "jsonl" and len(probed) == 2


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 320), st.integers(1, 64))
def test_reading_at_most_a_limit(data: bytes, limit: int, chunk: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "_CHUNK_BYTES", chunk)
        got = sources._read_at_most(io.BufferedReader(io.BytesIO(data)), limit)
    if len(data) <= limit:
        assert got == data
    else:  # enough to tell it is too large, and only what the file holds
        assert len(got) > limit and data.startswith(got)
