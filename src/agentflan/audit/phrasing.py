"""The wording of supervised replies: how varied the replies of negative samples are, and whether the
sentences that name a tool use the phrases Agent-H counts as a call.

**Reply diversity.** A fixed sentence repeated across many negatives teaches one more format to over-fit. Per
negative type (``metadata.negative``), over the samples whose reply makes no call: distinct replies, distinct
sentences, and the most repeated sentence with the share of that type's samples that contain it. A sentence
used once is not repeated, so ``top_repeated_share`` is 0 when no sentence occurs twice; the bar is 5%.

**Call phrases.** Agent-H's H_General counts a reply as a hallucinated call when it says "I will use", "let me
call" and the like. Tool-naming sentences in training data that use those phrases teach the model to say them,
and blur what the metric measures. Counted over assistant turns that make a call or hold a tool-choice
(``retrieval``) part: the share whose text uses one.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from agentflan.audit.negatives import negative_type
from agentflan.audit.record import AuditedRecord, Examples, share
from agentflan.audit.section import Findings
from agentflan.phrasing import GENERAL_PHRASES

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """Normalised sentences (case and spacing folded) of a reply."""
    return [" ".join(s.split()).casefold() for s in _SENTENCE.split(text) if s.strip()]


class Phrasing:
    def __init__(self, examples: int = 5) -> None:
        self.replies: dict[str, Counter[str]] = {}
        self.sentences: dict[str, Counter[str]] = {}
        self.samples: Counter[str] = Counter()
        self.call_turns = 0
        self.phrase_turns = 0
        self.phrases: Counter[str] = Counter()
        self.examples = Examples(examples)
        self.general = GENERAL_PHRASES

    def add(self, rec: AuditedRecord) -> None:
        traj = rec.traj
        for msg in traj.messages:
            # A turn that calls, or names the tool it is about to call in a part of its own (the retrieval part
            # of built data, whose call may follow in the next turn).
            naming = [p.text for p in msg.parts or [] if p.capability == "retrieval"]
            if msg.role == "assistant" and (msg.tool_calls or naming):
                self.call_turns += 1
                text = msg.content.casefold()
                used = [p for p in self.general if p in text]
                if used:
                    self.phrase_turns += 1
                    self.phrases.update(used)
                    self.examples.add("call_phrases", rec.id)
        kind = negative_type(traj)
        if kind is None or traj.calls():
            return
        reply = "\n".join(m.content for m in traj.messages if m.role == "assistant")
        self.samples[kind] += 1
        self.replies.setdefault(kind, Counter())[" ".join(reply.split()).casefold()] += 1
        self.sentences.setdefault(kind, Counter()).update(set(sentences(reply)))
        self.examples.add(kind, rec.id)

    def _kind(self, kind: str) -> dict[str, Any]:
        n = self.samples[kind]
        counts = self.sentences.get(kind, Counter())
        # Ties go to the first sentence in order, never to set or hash order: the report is the same every run.
        top, top_count = min(counts.items(), key=lambda kv: (-kv[1], kv[0])) if counts else ("", 0)
        return {
            "samples": n,
            "distinct_replies": len(self.replies.get(kind, {})),
            "distinct_sentences": len(counts),
            "top_sentence": top[:200],
            "top_sentence_samples": top_count,
            "top_sentence_share": share(top_count, n),
            "top_repeated_share": share(top_count, n) if top_count > 1 else 0.0,
        }

    def report(self) -> Findings:
        p = self.result()
        return Findings({"phrasing": p}, {"negative_reply_repetition": p["max_repeated_share"],
                                          "call_phrases": p["call_phrase_share"]})

    def result(self) -> dict[str, Any]:
        kinds = {k: self._kind(k) for k in sorted(self.samples)}
        return {
            "replies": kinds,
            "max_repeated_share": max((k["top_repeated_share"] for k in kinds.values()), default=0.0),
            "call_turns": self.call_turns,
            "call_phrase_turns": self.phrase_turns,
            "call_phrase_share": share(self.phrase_turns, self.call_turns),
            "call_phrases_used": dict(self.phrases.most_common()),
            "examples": {k: self.examples.get(k) for k in (*kinds, "call_phrases") if self.examples.get(k)},
        }
