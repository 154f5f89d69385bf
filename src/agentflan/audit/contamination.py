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

from collections import Counter
from typing import Any

from agentflan.audit.record import AuditedRecord, share
from agentflan.audit.section import Findings
from agentflan.overlap import EvalIndex, ngrams, tool_key, user_queries

__all__ = ["Contamination", "EvalIndex", "ngrams", "tool_key"]

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

    def report(self) -> Findings:
        c = self.result()
        return Findings({"contamination": c}, {"contamination": c["share"], "tool_contamination": c["tools"]["share"]})

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
