"""The end of a large uncompressed file goes in small batches (`batches.TAIL_BATCH`), so that workers end close
together; the records, their order and the rejects between them are those of the usual batches. A file's first
batch is never small for this: its size is asked only once it proves longer than a batch."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.pipeline import batches as batches_module
from agentflan.pipeline import sources
from agentflan.pipeline.batches import Batch, batches
from agentflan.pipeline.read import InputStats
from agentflan.pipeline.sources import RawLine, Reject

_record = st.integers(0, 10**6).map(lambda i: b'{"i": %d}' % i)
_line = st.one_of(_record, _record, st.just(b""), st.just(b"{broken"),
                  st.integers(70, 120).map(lambda n: b'{"long": "' + b"x" * n + b'"}'))


def _listed(path: Path) -> list[tuple[str, object]]:
    """Every task of ``path`` as (kind, what it holds): a batch's lines, a reject's line."""
    out: list[tuple[str, object]] = []
    for task in batches(path, "openai", InputStats(str(path), ""), size=7, first=3):
        if isinstance(task, Reject):
            out.append(("reject", task.line))
        else:
            assert isinstance(task, Batch)
            out.append(("batch", [r.line for r in task.records]))
    return out


def _flat(listed: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The same tasks' records one by one, batches undone."""
    return [(kind, line) for kind, held in listed
            for line in (held if isinstance(held, list) else [held])]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, min_size=1, max_size=80), st.integers(20, 400))
def test_the_tail_is_listed_in_small_batches_and_nothing_else_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[bytes], tail_bytes: int) -> None:
    monkeypatch.setattr(sources, "MAX_RECORD_BYTES", 100)  # the long lines are rejects found while listing
    path = tmp_path / "a.jsonl"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    monkeypatch.setattr(batches_module, "TAIL_FROM", 1 << 40)
    usual = _listed(path)
    monkeypatch.setattr(batches_module, "TAIL_FROM", 0)
    monkeypatch.setattr(batches_module, "TAIL_BYTES", tail_bytes)
    monkeypatch.setattr(batches_module, "TAIL_BATCH", 2)
    tailed = _listed(path)
    assert _flat(tailed) == _flat(usual)
    tail = len(data) - tail_bytes
    offsets = {r.line: r.offset for r in sources.iter_raw(path) if isinstance(r, RawLine)}
    batches_after_the_first = [held for kind, held in tailed if kind == "batch"][1:]
    for held in batches_after_the_first:
        if all(offsets[line] >= tail for line in held):  # type: ignore[union-attr]
            assert len(held) <= 2  # type: ignore[arg-type]
    for kind, held in usual:  # what lies before the tail is batched as before
        if kind == "batch" and all(offsets[line] < tail for line in held):  # type: ignore[union-attr]
            assert (kind, held) in tailed
    # a compressed file has no offsets: its batches are the usual ones
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(data))
    monkeypatch.setattr(batches_module, "TAIL_FROM", 1 << 40)
    usual_gz = _listed(gz)
    monkeypatch.setattr(batches_module, "TAIL_FROM", 0)
    assert _listed(gz) == usual_gz


def test_a_small_file_keeps_the_usual_batches(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"".join(b'{"i": %d}\n' % i for i in range(600)))
    assert path.stat().st_size < batches_module.TAIL_FROM
    sizes = [len(t.records) for t in batches(path, "openai", InputStats(str(path), "")) if isinstance(t, Batch)]
    assert sizes == [256, 256, 88]


def test_only_a_file_longer_than_a_batch_is_asked_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Path] = []
    monkeypatch.setattr(batches_module, "_tail_start", lambda path: asked.append(path))
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_bytes(b'{"i": 1}\n{"i": 2}\n')
    large.write_bytes(b"".join(b'{"i": %d}\n' % i for i in range(20)))
    for path in (small, large):
        list(batches(path, "openai", InputStats(str(path), ""), size=7))
    assert asked == [large]
