"""Counting helpers shared by every benchmark's metrics (percentages rounded to 2 decimals, ``None`` for 0/0)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from agentflan.evaluate.classify import OUTCOMES


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def outcome_summary(outcomes: Iterable[str]) -> dict[str, Any]:
    """``{"outcomes": {outcome: count}, "outcome_rates": {outcome: percent}}`` over every outcome (zeros
    included, so tables from different runs line up)."""
    counts = Counter(outcomes)
    total = sum(counts.values())
    return {
        "outcomes": {o: counts.get(o, 0) for o in OUTCOMES},
        "outcome_rates": {o: percent(counts.get(o, 0), total) for o in OUTCOMES},
    }
