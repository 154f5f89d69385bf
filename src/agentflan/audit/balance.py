"""Capability balance (paper observation 2): supervised tokens and turns per capability, per source, against
the weights the paper trains with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.capabilities import spans
from agentflan.schema import CAPABILITIES

# Paper App. A: reasoning : retrieval : understanding = 1 : 0.25 : 0.75. The released file name
# (`r10r5u7`) suggests 1 : 0.5 : 0.7; both are reported so a reader can judge.
PAPER_WEIGHTS = {"reasoning": 1.0, "retrieval": 0.25, "understanding": 0.75}
RELEASE_WEIGHTS = {"reasoning": 1.0, "retrieval": 0.5, "understanding": 0.7}


class CapabilityBalance:
    """Supervised tokens per capability and, for built data, the share of each capability's tokens that its
    loss masks keep (``kept_fraction``): the unit of the paper's weights (Table 2, App. A)."""

    def __init__(self, examples: int = 5, count: Callable[[str], int] | None = None) -> None:
        self.examples = Examples(examples)
        self.tokens: dict[str, Counter[str]] = {}
        self.turns: dict[str, Counter[str]] = {}
        self.records: Counter[str] = Counter()
        self.count = count or (lambda text: len(text.split()))
        self.masked: Counter[str] = Counter()  # built records: assistant tokens whose loss is off
        self.built: Counter[str] = Counter()  # built records: supervised tokens

    def add(self, rec: AuditedRecord) -> None:
        self.tokens.setdefault(rec.source, Counter()).update(rec.tokens)
        if rec.view == "built":
            self.built.update(rec.tokens)
            for span in spans(rec.traj, supervised_only=False):
                if not span.loss:
                    self.masked[span.capability] += self.count(span.text)
        turns = self.turns.setdefault(rec.source, Counter())
        for cap, _ in {(s.capability, s.message) for s in rec.spans}:
            turns[cap] += 1
            self.examples.add(cap, rec.id)
        self.records[rec.source] += 1

    @staticmethod
    def _summary(tokens: Counter[str], turns: Counter[str]) -> dict[str, Any]:
        total = sum(tokens.values())
        reasoning = tokens.get("reasoning", 0)
        return {
            "tokens": {c: tokens.get(c, 0) for c in CAPABILITIES},
            "turns": {c: turns.get(c, 0) for c in CAPABILITIES},
            "shares": {c: share(tokens.get(c, 0), total) for c in CAPABILITIES},
            # Relative to reasoning, the way the paper states its weights; None when there is no reasoning.
            "ratio_to_reasoning": {c: (round(tokens.get(c, 0) / reasoning, 4) if reasoning else None)
                                   for c in PAPER_WEIGHTS},
        }

    def report(self) -> Findings:
        balance = self.result()
        return Findings({"capability_tokens": balance["tokens"], "capability_balance": balance})

    def result(self) -> dict[str, Any]:
        all_tokens: Counter[str] = Counter()
        all_turns: Counter[str] = Counter()
        for source in self.tokens:
            all_tokens.update(self.tokens[source])
            all_turns.update(self.turns[source])
        kept = {c: round(self.built[c] / (self.built[c] + self.masked[c]), 4)
                for c in CAPABILITIES if self.built[c] + self.masked[c]}
        reasoning = kept.get("reasoning")
        return {
            **self._summary(all_tokens, all_turns),
            "kept_fraction": kept,
            # The paper's weights are kept fractions relative to reasoning (1 : 0.25 : 0.75).
            "kept_relative_to_reasoning": {c: round(kept[c] / reasoning, 4) for c in PAPER_WEIGHTS
                                           if c in kept and reasoning},
            "paper_weights": PAPER_WEIGHTS,
            "release_weights": RELEASE_WEIGHTS,
            "by_source": {s: self._summary(self.tokens[s], self.turns[s]) for s in self.tokens},
            "examples": {c: self.examples.get(c) for c in CAPABILITIES if self.examples.get(c)},
        }
