"""Capability labelling and balancing: every supervised part labelled; token shares reach the weights within
±5% (masks) or are weighted exactly (weights); seeded and deterministic."""

from __future__ import annotations

from array import array

import pytest
from construct_fixtures import agent_traj
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.capabilities import spans
from agentflan.construct import align, decompose
from agentflan.schema import Message, Trajectory
from agentflan.seeding import stable_hash
from agentflan.tokens import approx_count

WEIGHTS = {"reasoning": 1.0, "retrieval": 0.25, "understanding": 0.75}


def _records(n: int) -> list[Trajectory]:
    return [align.render_chat(agent_traj(i, steps=1 + i % 3), 0) for i in range(n)]


def test_label_makes_every_supervised_part_explicit() -> None:
    traj = Trajectory(id="x", messages=[Message(role="user", content="q"), Message(role="assistant", content="a")])
    labelled = decompose.label(traj)
    assert labelled.messages[1].parts[0].capability == "answer"
    assert labelled.messages[1].content == "a"
    general = decompose.label(traj.model_copy(update={"metadata": {"kind": "general"}}))
    assert general.messages[1].parts[0].capability == "general"


@pytest.mark.parametrize("n", [6, 20, 60])
def test_mask_reaches_the_kept_fraction(n: int) -> None:
    out, report = decompose.balance(_records(n), WEIGHTS, seed=0, count=approx_count)
    for cap, w in WEIGHTS.items():
        assert abs(report["kept_fraction"][cap] - w) <= 0.05, (cap, report)
    # the report is what the records say
    after = decompose.token_totals(out, approx_count)
    assert dict(after) == {k: v for k, v in report["after"].items()}
    assert report["before"]["retrieval"] > report["after"]["retrieval"]


def test_masks_whole_units_and_keeps_the_text() -> None:
    records = _records(10)
    out, _ = decompose.balance(records, WEIGHTS, seed=0, count=approx_count)
    for before, after in zip(records, out, strict=True):
        assert [m.content for m in before.messages] == [m.content for m in after.messages]
        for m in after.messages:
            retrieval_parts = [p.loss for p in m.parts or [] if p.capability == "retrieval"]
            names = [c.name_loss for c in m.tool_calls]
            if retrieval_parts and names:  # the elicit statement and the call name are one unit
                assert retrieval_parts[0] in (None, False) and (retrieval_parts[0] is False) == (names[0] is False)


def test_share_target_puts_capabilities_in_the_weights_ratio() -> None:
    _, report = decompose.balance(_records(40), WEIGHTS, seed=0, count=approx_count, target="share")
    share = report["share_after"]
    total = sum(WEIGHTS.values())
    for cap, w in WEIGHTS.items():
        assert abs(share[cap] - w / total) <= 0.05, report


def test_weight_mode_sets_loss_weights_instead_of_masks() -> None:
    out, report = decompose.balance(_records(8), WEIGHTS, seed=0, count=approx_count, mode="weight")
    assert all(s.loss for t in out for s in spans(t, supervised_only=False))
    weights = {s.capability: s.weight for t in out for s in spans(t)}
    assert weights["retrieval"] == pytest.approx(0.25) and weights["understanding"] == pytest.approx(0.75)
    assert report["kept_fraction"]["retrieval"] == pytest.approx(0.25, abs=1e-3)


def test_mode_none_changes_nothing() -> None:
    records = [decompose.label(t) for t in _records(5)]
    out, report = decompose.balance(records, WEIGHTS, seed=0, count=approx_count, mode="none")
    assert out == records and report["masked_units"] == 0


def test_balance_is_seeded() -> None:
    a, _ = decompose.balance(_records(30), WEIGHTS, seed=1, count=approx_count)
    b, _ = decompose.balance(_records(30), WEIGHTS, seed=1, count=approx_count)
    c, _ = decompose.balance(_records(30), WEIGHTS, seed=2, count=approx_count)
    assert a == b and a != c


@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=15, max_value=40), w_ret=st.sampled_from([0.1, 0.25, 0.5, 0.9]),
       w_und=st.sampled_from([0.3, 0.5, 0.75]), seed=st.integers(0, 1000))
def test_mask_hits_any_weights_on_small_data(n: int, w_ret: float, w_und: float, seed: int) -> None:
    weights = {"reasoning": 1.0, "retrieval": w_ret, "understanding": w_und}
    _, report = decompose.balance(_records(n), weights, seed=seed, count=approx_count)
    for cap, w in weights.items():
        assert abs(report["kept_fraction"][cap] - w) <= 0.05, (cap, report["kept_fraction"])


def test_mask_never_leaves_a_record_without_supervised_tokens() -> None:
    from agentflan.schema import Part

    # Records whose one reply is a single retrieval part: masking them all would reach the target, but would
    # leave records that teach nothing (XTuner and TRL drop such rows).
    lone = [Trajectory(id=f"r{i}", messages=[Message(role="user", content="q"), Message(role="assistant", parts=[
        Part(text="I will use `weather`.", capability="retrieval")])]) for i in range(8)]
    out, report = decompose.balance(_records(10) + lone, WEIGHTS, seed=0, count=approx_count)
    assert report["masked_units"] > 0
    assert all(any(True for _ in spans(t)) for t in out)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=60), st.integers(0, 5))
def test_units_ranked_bucket_by_bucket_come_in_the_one_sort_order(orders: list[int], seed: int) -> None:
    expected = sorted(range(len(orders)), key=lambda i: (stable_hash(seed, orders[i], "balance"), orders[i], i))
    assert list(decompose._ranked_units(array("Q", orders), seed)) == expected
