"""Contamination: word n-gram overlap between the corpus's user queries and evaluation sets (``--against``).

A record is contaminated when one of its queries shares an n-gram with an evaluation query (default n = 8, the
size used for Llama 2's contamination study), or, for queries shorter than n words, when the whole normalised
query equals a short evaluation query. Evaluation files are read with the same readers as the corpus.

Boilerplate is not contamination: an n-gram found in more than 1% of the evaluation records (at least 2), such
as a fixed "Observation: Episode finished, reward = True" turn or a prompt template, is ignored.

Tools are checked apart from queries: a record offers an evaluation tool when one of its tools has the same name
and the same parameter schema (after the readers' normalisation) as a tool of an evaluation record. A model
trained on such records has seen the evaluation's functions, as calls or as irrelevant tools to decline, which
matters most for tool-use and irrelevance benchmarks (BFCL) even when no query overlaps. Descriptions are left
out of the comparison, since they are the part most often reworded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.audit.record import AuditedRecord, share, user_queries
from agentflan.schema import Tool, Trajectory

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


class Contamination:
    def __init__(self, index: EvalIndex | None, examples: int = 20) -> None:
        self.index = index
        self.limit = examples
        self.n = 0
        self.hits: list[dict[str, Any]] = []
        self.contaminated = 0
        self.by_against: Counter[str] = Counter()
        self.by_source: Counter[str] = Counter()
        self.tool_records = 0
        self.tool_by_against: Counter[str] = Counter()
        self.shared_tools: set[str] = set()
        self.tool_hits: list[dict[str, Any]] = []

    def add(self, rec: AuditedRecord) -> None:
        self.n += 1
        if self.index is None:
            return
        self._add_tools(rec)
        grams: set[str] = set()
        for query in user_queries(rec.traj):
            grams |= ngrams(query, self.index.n)
        hits = {g: where for g in grams if (where := self.index.lookup(g)) is not None}
        if not hits:
            return
        matched = sorted(hits)
        self.contaminated += 1
        self.by_source[rec.source] += 1
        against = set(hits.values())
        for source, _ in against:
            self.by_against[source] += 1
        if len(self.hits) < self.limit:
            first = sorted(against)[0]
            self.hits.append({"id": rec.id, "source": rec.source, "against": first[0], "against_id": first[1],
                              "overlap": share(len(matched), len(grams)),
                              "ngram": matched[0].lstrip("\x00")[:200]})

    def _add_tools(self, rec: AuditedRecord) -> None:
        shared = [(tool.name, where) for tool in rec.traj.tools
                  if (where := self.index.tools.get(tool_key(tool)) if self.index else None) is not None]
        if not shared:
            return
        self.tool_records += 1
        self.shared_tools.update(name for name, _ in shared)
        for source in {where[0] for _, where in shared}:
            self.tool_by_against[source] += 1
        if len(self.tool_hits) < self.limit:
            name, (source, eval_id, _) = shared[0]
            self.tool_hits.append({"id": rec.id, "source": rec.source, "tool": name, "tools_shared": len(shared),
                                   "against": source, "against_id": eval_id})

    def tools_result(self) -> dict[str, Any]:
        return {"records": self.tool_records, "share": share(self.tool_records, self.n),
                "distinct_tools": len(self.shared_tools), "by_against": dict(self.tool_by_against),
                "overlaps": self.tool_hits, "examples": [h["id"] for h in self.tool_hits[:5]]}

    def result(self) -> dict[str, Any]:
        if self.index is None:
            return {"checked": False, "contaminated": 0, "share": 0.0, "overlaps": [],
                    "tools": {"records": 0, "share": 0.0, "distinct_tools": 0, "by_against": {}, "overlaps": [],
                              "examples": []}}
        return {
            "checked": True,
            "n": self.index.n,
            "boilerplate_ngrams_ignored": self.index.boilerplate(),
            "boilerplate_limit": self.index.boilerplate_limit,
            "against": dict(self.index.records),
            "contaminated": self.contaminated,
            "share": share(self.contaminated, self.n),
            "by_source": dict(self.by_source),
            "by_against": dict(self.by_against),
            "overlaps": self.hits,
            "examples": [h["id"] for h in self.hits[:5]],
            "tools": self.tools_result(),
        }
