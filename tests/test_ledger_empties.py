"""`InputStats` ledgers start with one shared empty reject count and side-file mapping (thousands of ledgers in a
large build): counting into one ledger must never show in another, here or after a trip through a worker."""

from __future__ import annotations

import pickle

from agentflan.pipeline.read import InputStats, count_reject
from agentflan.pipeline.sources import Reject


def test_a_reject_counts_in_its_own_ledger_only() -> None:
    a, b, c = InputStats("a.jsonl", ""), InputStats("b.jsonl", ""), InputStats("c.jsonl", "")
    count_reject(a, Reject("a.jsonl", "invalid_json"))
    count_reject(a, Reject("a.jsonl", "invalid_json"))
    assert dict(a.rejects_by_reason) == {"invalid_json": 2} and (a.read, a.rejected) == (2, 2)
    assert dict(b.rejects_by_reason) == {} and dict(c.rejects_by_reason) == {}
    assert dict(InputStats("d.jsonl", "").rejects_by_reason) == {}
    # a batch read elsewhere comes back pickled and is folded in
    part = pickle.loads(pickle.dumps(a))
    b.add(part)
    b.add(pickle.loads(pickle.dumps(c)))
    assert dict(b.rejects_by_reason) == {"invalid_json": 2} and dict(a.rejects_by_reason) == {"invalid_json": 2}
    assert dict(c.rejects_by_reason) == {} and dict(InputStats("e.jsonl", "").rejects_by_reason) == {}
    c.note_side_files({"tools.json": "ab"})
    assert dict(c.side_files) == {"tools.json": "ab"} and dict(InputStats("f.jsonl", "").side_files) == {}
    assert a.to_dict()["rejects_by_reason"] == {"invalid_json": 2} and "side_files" not in a.to_dict()


def test_the_shared_empty_count_refuses_a_direct_count() -> None:
    """Counting into a fresh ledger's rejects directly would count into every ledger: it raises instead."""
    import pytest

    fresh = InputStats("g.jsonl", "")
    with pytest.raises(TypeError):
        fresh.rejects_by_reason["invalid_json"] += 1
    assert dict(InputStats("h.jsonl", "").rejects_by_reason) == {}
    back = pickle.loads(pickle.dumps(fresh))  # a worker's ledger, unpickled here, counts through count_reason
    back.count_reason("invalid_json")
    assert dict(back.rejects_by_reason) == {"invalid_json": 1} and dict(fresh.rejects_by_reason) == {}
