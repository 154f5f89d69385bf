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

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentflan.capabilities import capability_tokens, default_capability, spans
from agentflan.schema import Message, Part, Trajectory
from agentflan.seeding import ranked, stable_hash


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


@dataclass(frozen=True)
class Unit:
    """Everything of one capability in one assistant message: masked or kept together."""

    record: int
    message: int
    capability: str
    tokens: int
    order: int


def units(records: list[Trajectory], count: Callable[[str], int]) -> list[Unit]:
    found: dict[tuple[int, int, str], int] = defaultdict(int)
    for r, traj in enumerate(records):
        for span in spans(traj):
            found[(r, span.message, span.capability)] += count(span.text)
    return [Unit(r, m, c, n, stable_hash(records[r].id, m, c)) for (r, m, c), n in found.items() if n > 0]


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
    records = [label(t) for t in records]
    before = token_totals(records, count)
    goal = targets(before, weights, target)
    masked_units = 0
    if mode != "none":
        by_cap: dict[str, list[Unit]] = defaultdict(list)
        # Supervised tokens left per record: a record is never masked whole (it would teach nothing, and
        # training frameworks drop it: XTuner, TRL).
        left: Counter[int] = Counter()
        for u in units(records, count):
            left[u.record] += u.tokens
            if u.capability in goal:
                by_cap[u.capability].append(u)
        for capability, cap_units in sorted(by_cap.items()):
            if mode == "weight":
                w = goal[capability] / before[capability]
                for u in cap_units:
                    records[u.record] = _apply(records[u.record], u.message, capability, {"weight": w}, "weight")
                continue
            remaining = before[capability] - goal[capability]
            for u in ranked(cap_units, seed, "balance", key=lambda u: u.order):
                if remaining <= 0:
                    break
                if u.tokens < 2 * remaining and left[u.record] > u.tokens:  # closer to the target
                    left[u.record] -= u.tokens
                    records[u.record] = _apply(records[u.record], u.message, capability, {"loss": False}, "loss")
                    remaining -= u.tokens
                    masked_units += 1
    after = token_totals(records, count, weighted=(mode == "weight"))
    report = {
        "mode": mode,
        "target": target,
        "weights": dict(sorted(weights.items())),
        "before": dict(sorted(before.items())),
        "after": {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(after.items())},
        "target_tokens": {k: round(v, 3) for k, v in sorted(goal.items())},
        "kept_fraction": {c: round(after.get(c, 0) / before[c], 4) for c in sorted(goal) if before[c]},
        "share_before": _shares(before, weights),
        "share_after": _shares(after, weights),
        "masked_units": masked_units,
    }
    return records, report


def _shares(totals: Counter[str], weights: dict[str, float]) -> dict[str, float]:
    """Each weighted capability's share of the weighted capabilities' supervised tokens."""
    total = sum(totals.get(c, 0) for c in weights)
    return {c: round(totals.get(c, 0) / total, 4) for c in sorted(weights)} if total else {}
