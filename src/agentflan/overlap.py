"""Word n-gram overlap between user queries: the index the audit's contamination check (``--against``) and
Agent-H's decontamination (``--exclude``) share, so that both call the same queries "seen".

A query shares an n-gram with the index (default n = 8), or, when shorter than n words, equals a short indexed
query. An n-gram found in more than 1% of the indexed records (at least 2) is boilerplate, not overlap. Tools
are indexed by name and parameter schema (`tool_key`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from agentflan.schema import Tool, Trajectory


def user_queries(traj: Trajectory) -> list[str]:
    """The user turns' text (observations are `tool` turns in the canonical model, so they are not here)."""
    return [m.content for m in traj.messages if m.role == "user" and m.content.strip()]


_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int) -> set[str]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {"\x00" + " ".join(words)} if words else set()  # whole short query, kept apart from n-grams
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def tool_key(tool: Tool) -> str:
    """A tool's identity for contamination: its name and parameter schema, as canonical JSON, hashed."""
    canonical = json.dumps({"name": tool.name, "parameters": tool.parameters}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


class EvalIndex:
    """n-gram → (evaluation file, id) of the first evaluation query that holds it, and in how many evaluation
    records it occurs."""

    def __init__(self, n: int = 8, boilerplate_share: float = 0.01) -> None:
        self.n = n
        self.boilerplate_share = boilerplate_share
        self.grams: dict[str, tuple[str, str]] = {}
        self.frequency: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        # tool key → (evaluation file, id, tool name) of the first evaluation record offering that tool
        self.tools: dict[str, tuple[str, str, str]] = {}

    def add(self, source: str, traj: Trajectory) -> None:
        self.records[source] += 1
        for tool in traj.tools:
            self.tools.setdefault(tool_key(tool), (source, traj.id, tool.name))
        grams: set[str] = set()
        for query in user_queries(traj):
            grams |= ngrams(query, self.n)
        for gram in grams:
            self.grams.setdefault(gram, (source, traj.id))
        self.frequency.update(grams)

    def add_all(self, source: str | Path, trajs: Iterable[Trajectory]) -> None:
        for t in trajs:
            self.add(str(source), t)

    @property
    def boilerplate_limit(self) -> int:
        return max(1, int(self.boilerplate_share * sum(self.records.values())))

    def lookup(self, gram: str) -> tuple[str, str] | None:
        """Where an n-gram occurs in the evaluation sets, unless it is boilerplate there."""
        found = self.grams.get(gram)
        return found if found is not None and self.frequency[gram] <= self.boilerplate_limit else None

    def boilerplate(self) -> int:
        limit = self.boilerplate_limit
        return sum(1 for c in self.frequency.values() if c > limit)
