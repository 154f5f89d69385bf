"""Capability decomposition and balancing (paper §4.2).

`label` makes every supervised part carry its capability explicitly (using `capabilities.default_capability`
for text the rendering left unlabelled). `balance` then brings each capability's supervised tokens to its
target, either by masking whole units (all the spans of one capability in one assistant turn: the thought, the
tool choice, the arguments) chosen in a seeded order, or by setting loss weights.

Masking is not a per-unit coin flip: on small data a coin flip with p = 0.25 can keep 10% or 40% of a
capability. Units are visited in a seeded order and masked while masking brings the kept tokens closer to the
target, which lands within half of one unit of it. For example, with 400 retrieval tokens in 100 units and
weight 0.25 (kept_fraction), about 75 units are masked and close to 100 tokens stay supervised.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from agentflan.capabilities import capability_tokens, default_capability, spans
from agentflan.schema import Message, Part, Trajectory
from agentflan.seeding import stable_hash


def label(traj: Trajectory) -> Trajectory:
    """Every assistant part labelled explicitly (message text without parts becomes one labelled part)."""
    messages: list[Message] = []
    changed = False
    for msg in traj.messages:
        if msg.role != "assistant" or not msg.content:
            messages.append(msg)
            continue
        fallback = msg.capability or default_capability(msg, traj)
        parts = msg.parts if msg.parts is not None else [Part(text=msg.content)]
        if all(p.capability for p in parts) and msg.parts is not None:
            messages.append(msg)
            continue
        new_parts = [p if p.capability else p.model_copy(update={"capability": fallback}) for p in parts]
        messages.append(msg.model_copy(update={"parts": new_parts}))
        changed = True
    return traj.model_copy(update={"messages": messages}) if changed else traj


def token_totals(records: list[Trajectory], count: Callable[[str], int], weighted: bool = False) -> Counter[str]:
    totals: Counter[str] = Counter()
    for traj in records:
        totals.update(capability_tokens(traj, count, weighted=weighted))
    return totals


def targets(before: Counter[str], weights: dict[str, float], target: str) -> dict[str, float]:
    """Supervised tokens each weighted capability should keep."""
    present = {c: w for c, w in weights.items() if before.get(c, 0) > 0}
    if target == "kept_fraction":
        return {c: w * before[c] for c, w in present.items()}
    # share: the largest totals in the weights' ratio that masking can reach (never more than what exists).
    scale = min((before[c] / w for c, w in present.items() if w > 0), default=0.0)
    return {c: w * scale for c, w in present.items()}


def _apply(traj: Trajectory, message: int, capability: str, update: dict[str, Any], call_update: str) -> Trajectory:
    msg = traj.messages[message]
    fallback = msg.capability or default_capability(msg, traj)
    parts = [p.model_copy(update=update) if (p.capability or fallback) == capability else p
             for p in (msg.parts or [])]
    calls = msg.tool_calls
    if capability == "retrieval":
        calls = [c.model_copy(update={f"name_{call_update}": next(iter(update.values()))}) for c in calls]
    elif capability == "understanding":
        calls = [c.model_copy(update={f"arguments_{call_update}": next(iter(update.values()))}) for c in calls]
    new = msg.model_copy(update={"parts": parts if msg.parts is not None else None, "tool_calls": calls})
    messages = list(traj.messages)
    messages[message] = new
    return traj.model_copy(update={"messages": messages})


def balance(records: list[Trajectory], weights: dict[str, float], seed: int, count: Callable[[str], int],
            mode: str = "mask", target: str = "kept_fraction") -> tuple[list[Trajectory], dict[str, Any]]:
    """Balance supervised tokens per capability over ``records``; returns the records and a report."""
    out: list[Trajectory] = []
    report = balance_into(records, out.append, weights, seed, count, mode, target)
    return out, report


def balance_into(records: Iterable[Trajectory], emit: Callable[[Trajectory], None], weights: dict[str, float],
                 seed: int, count: Callable[[str], int], mode: str = "mask",
                 target: str = "kept_fraction") -> dict[str, Any]:
    """`balance` in two passes over ``records`` (read twice), holding only the units' token counts: the first
    counts the tokens of every unit, the decisions are made on those counts, the second applies them and hands
    each balanced record to ``emit``, in order. Returns the report."""
    index = _Units(set(weights))
    for r, traj in enumerate(records):
        index.add(r, label(traj), count)
    before = index.before
    goal = targets(before, weights, target)
    updates = index.decide(goal, before, seed, mode) if mode != "none" else array("q")
    names = index.capabilities
    del index.units  # the decisions are made: only the counts of the report are still needed
    change = ({c: ({"weight": goal[c] / before[c]}, "weight") for c in goal if before[c]} if mode == "weight"
              else dict.fromkeys(names, ({"loss": False}, "loss")))  # one dict for every unit: read only
    after: Counter[str] = Counter()
    u = 0
    for r, traj in enumerate(records):
        traj = label(traj)
        while u < len(updates) and updates[u] >> _RECORD_SHIFT == r:
            message, capability = updates[u] >> _CAPABILITY_BITS & _MESSAGE_MASK, names[updates[u] & _CAPABILITY_MASK]
            traj = _apply(traj, message, capability, *change[capability])
            u += 1
        after.update(capability_tokens(traj, count, weighted=(mode == "weight")))
        emit(traj)
    return {
        "mode": mode,
        "target": target,
        "weights": dict(sorted(weights.items())),
        "before": dict(sorted(before.items())),
        "after": {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(after.items())},
        "target_tokens": {k: round(v, 3) for k, v in sorted(goal.items())},
        "kept_fraction": {c: round(after.get(c, 0) / before[c], 4) for c in sorted(goal) if before[c]},
        "share_before": _shares(before, weights),
        "share_after": _shares(after, weights),
        "masked_units": index.masked,
    }


class _Units:
    """The balancing index: every unit's (record, message, tokens, order) of each weighted capability, in
    compact arrays (the others are never masked or weighted: only their tokens count), and the supervised tokens
    of each record."""

    def __init__(self, weighted: set[str]) -> None:
        self.weighted = weighted
        self.before: Counter[str] = Counter()
        # 4-byte record, message and token numbers: 20 bytes a unit, the index being the balancing's peak.
        self.units: dict[str, tuple[array[int], array[int], array[int], array[int]]] = {}
        self.left = array("q")  # supervised tokens per record
        self.masked = 0

    def add(self, r: int, traj: Trajectory, count: Callable[[str], int]) -> None:
        self.before.update(capability_tokens(traj, count))
        found: dict[tuple[int, str], int] = defaultdict(int)
        for span in spans(traj):
            found[(span.message, span.capability)] += count(span.text)
        self.left.append(0)
        for (m, c), n in found.items():
            if n <= 0:
                continue
            self.left[r] += n
            if c not in self.weighted:
                continue
            cols = self.units.setdefault(c, (array("i"), array("i"), array("i"), array("Q")))
            for col, value in zip(cols, (r, m, n, stable_hash(traj.id, m, c)), strict=True):
                col.append(value)

    @property
    def capabilities(self) -> list[str]:
        return sorted(self.units)

    def decide(self, goal: dict[str, float], before: Counter[str], seed: int, mode: str) -> array[int]:
        """The units to change, each packed as one int (record, message, capability by its place in
        `capabilities`), sorted by record: every unit of a weighted capability, or the units masked in a seeded
        order while masking brings the kept tokens closer to the target (a record is never masked whole: it would
        teach nothing, and XTuner and TRL drop it). The units of one record touch disjoint parts and calls (one
        capability of one message each), so the order they are applied in does not change the record."""
        names = self.capabilities
        updates = array("q")
        for capability in sorted(c for c in self.units if c in goal):
            rec, msg, tokens, order = self.units[capability]
            code = names.index(capability)
            if mode == "weight":
                if before[capability]:
                    updates.extend(_unit(rec[i], msg[i], code) for i in range(len(rec)))
                continue
            remaining = before[capability] - goal[capability]
            for i in _ranked_units(order, seed):
                if remaining <= 0:
                    break
                if tokens[i] < 2 * remaining and self.left[rec[i]] > tokens[i]:  # closer to the target
                    self.left[rec[i]] -= tokens[i]
                    updates.append(_unit(rec[i], msg[i], code))
                    remaining -= tokens[i]
                    self.masked += 1
        return array("q", sorted(updates))


_RANK_BUCKETS = 16


def _ranked_units(order: array[int], seed: int) -> Iterator[int]:
    """The units' indices by (stable_hash(seed, order, "balance"), order, index), the seeded masking order, one
    bucket of the hash's range at a time: each unit's rank is one int (hash, order, index) sorted in place, and a
    list of every unit's (about 56 bytes each) was the balancing's peak."""
    assert len(order) < 1 << 32
    hashes = array("Q", (stable_hash(seed, o, "balance") for o in order))
    shift = 64 - _RANK_BUCKETS.bit_length() + 1
    for bucket in range(_RANK_BUCKETS):
        ranks = [h << 96 | order[i] << 32 | i for i, h in enumerate(hashes) if h >> shift == bucket]
        ranks.sort()
        for rank in ranks:
            yield rank & 0xFFFFFFFF


# A changed unit as one int: record, message, capability (the place of its name in `_Units.capabilities`).
_CAPABILITY_BITS = 8
_CAPABILITY_MASK = (1 << _CAPABILITY_BITS) - 1
_MESSAGE_BITS = 23
_MESSAGE_MASK = (1 << _MESSAGE_BITS) - 1
_RECORD_SHIFT = _CAPABILITY_BITS + _MESSAGE_BITS


def _unit(record: int, message: int, capability: int) -> int:
    assert message <= _MESSAGE_MASK and capability <= _CAPABILITY_MASK and record < 1 << (63 - _RECORD_SHIFT)
    return record << _RECORD_SHIFT | message << _CAPABILITY_BITS | capability


def _shares(totals: Counter[str], weights: dict[str, float]) -> dict[str, float]:
    """Each weighted capability's share of the weighted capabilities' supervised tokens."""
    total = sum(totals.get(c, 0) for c in weights)
    return {c: round(totals.get(c, 0) / total, 4) for c in sorted(weights)} if total else {}
