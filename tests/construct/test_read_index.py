"""What `build` keeps while reading, compactly: the packed rows of the records it leaves out, the streaming cap
that drops them, the key sets let go after each label, the records index."""

from __future__ import annotations

from construct_fixtures import recipe_dict
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.construct import stages
from agentflan.construct.dropped import Dropped
from agentflan.construct.mix import pick
from agentflan.construct.recipe import InputSpec, Recipe
from agentflan.construct.store import Records, Store
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Provenance, Trajectory
from agentflan.seeding import ranked
from agentflan.tokens import token_counter

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)


def _traj(traj_id: str, line: int | None, index: int | None) -> Trajectory:
    return Trajectory(id=traj_id, messages=[Message(role="user", content="hi")],
                      provenance=Provenance(source="s", line=line, index=index))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_text, st.tuples(_text, st.none() | st.integers(0, 10**12), st.none() | st.integers(0, 99),
                                        st.booleans()), max_size=20))
def test_rows_come_back_sorted_by_key_with_what_a_reject_of_the_record_holds(
        rows: dict[str, tuple[str, int | None, int | None, bool]]) -> None:
    dropped = Dropped()
    expected = []
    for key, (path, line, index, renamed) in rows.items():
        traj_id = f"{key}x" if renamed else key.rpartition("/")[2] or key  # an id the key does not end with, or does
        traj = _traj(traj_id, line, index)
        dropped.add(key, path, "over_cap", "cap 1", traj)
        reject = Reject.of(traj, "over_cap", "cap 1", path=path)
        expected.append((key, path, "over_cap", "cap 1", reject.line, reject.index, reject.item))
    assert list(dropped.rows()) == sorted(expected)
    assert len(dropped) == len(rows)
    assert sorted(dropped.paths_and_reasons()) == sorted((p, "over_cap") for p, *_ in rows.values())


@settings(max_examples=40, deadline=None)
@given(st.lists(_text, unique=True, max_size=30), st.integers(0, 12))
def test_the_streaming_cap_keeps_what_pick_keeps_in_reading_order(keys: list[str], cap: int) -> None:
    spec = InputSpec(path="x.jsonl", name="x", cap=cap)
    state = stages.BuildState(Recipe.model_validate(recipe_dict()), Inputs(), [("agent", spec, [])],
                              token_counter(None)[0])
    taken = stages._Taken(state, 0)
    for i, key in enumerate(keys):
        taken.add(key, _traj(f"t{i}", i + 1, i), "x.jsonl")
    chosen = set(pick(keys, cap, state.seed, "cap"))
    assert [it.key for it in taken.kept()] == [k for k in keys if k in chosen]
    assert sorted(row[0] for row in state.ledger.dropped.rows()) == sorted(set(keys) - chosen)
    assert taken.dropped == len(keys) - len(chosen)


def test_keys_stay_unique_per_label_and_across_labels_that_nest() -> None:
    def spec(label: str) -> tuple[str, InputSpec, list[object]]:
        return ("agent", InputSpec(path=f"{label}.jsonl", name=label), [])

    flat = stages._Keys([spec("a"), spec("b"), spec("a")])  # type: ignore[list-item]
    assert not flat.shared and flat.of("a") is not flat.of("b")
    flat.of("a").add("a/1")
    flat.done(0)
    assert "a/1" in flat.of("a")  # "a" has a later input: its keys are still needed
    flat.done(1)
    assert "b" not in flat.sets
    flat.done(2)
    assert "a" not in flat.sets
    nested = stages._Keys([spec("a"), spec("a/b")])  # type: ignore[list-item]
    assert nested.shared and nested.of("a") is nested.of("a/b")  # "a/b/1" is a key of both
    nested.done(0)
    assert nested.sets


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d\u00e9", "e\U0001f600"]) | _text, max_size=25), st.integers(0, 3))
def test_records_ranked_by_packed_hashes_come_in_ranked_order(ids: list[str], seed: int) -> None:
    records = Records(Store())
    for traj_id in ids:  # repeated ids share a hash: the ties are ordered by id, then position
        records.append(_traj(traj_id, None, None))
    assert stages._ranked_records(records, seed) == ranked(range(len(ids)), seed, "order", key=ids.__getitem__)
    assert records.ids() == ids
