"""What every audit section receives for one trajectory: computed once, shared by all sections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agentflan.capabilities import Span
from agentflan.overlap import user_queries
from agentflan.schema import Trajectory

__all__ = ["AuditedRecord", "Examples", "share", "user_queries"]


@dataclass
class AuditedRecord:
    traj: Trajectory
    source: str  # the input as given on the command line (a file or a directory)
    view: str  # see entanglement.view_of
    spans: list[Span]  # supervised spans as the model sees them
    tokens: Counter[str]  # supervised tokens per capability (over `spans`)

    @property
    def id(self) -> str:
        return self.traj.id


@dataclass
class Examples:
    """Up to ``limit`` example record ids per finding, first come first kept (input order is stable)."""

    limit: int = 5
    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, rid: str) -> None:
        bucket = self.ids.setdefault(key, [])
        if len(bucket) < self.limit and rid not in bucket:
            bucket.append(rid)

    def get(self, key: str) -> list[str]:
        return list(self.ids.get(key, []))


def share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0

