"""The pretraining corpus of a model trained from scratch: the natural-language text of a build, each text a
document of its own.

Paper observation 1 says agent data moves training away from the natural-conversation distribution of
pretraining. A randomly initialised model has no such distribution, so the CPU preset first pretrains its tiny
model on the text the corpora hold that is not agent format: general data (instructions and replies), the users'
requests, and tool observations. System prompts, assistant turns of agent records, format-following and
negative samples are left out: they are what fine-tuning teaches.

Each text becomes a one-turn trajectory whose reply is the text, labelled ``general``, so the training loop
supervises every token of it. Texts are deduplicated and ordered by their hash (independent of file order).

>>> from agentflan.schema import Message, Trajectory
>>> t = Trajectory(id="x", messages=[Message(role="user", content="Find  flights"),
...                                   Message(role="assistant", content="On it."),
...                                   Message(role="tool", content="3 flights")], metadata={"kind": "agent"})
>>> sorted(texts_of(t, {"user", "observation"}))
[('observation', '3 flights'), ('user', 'Find  flights')]
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentflan.errors import InputError
from agentflan.pipeline.read import read_file
from agentflan.pipeline.sinks import RecordSink
from agentflan.schema import Message, Trajectory

KINDS = ("general", "user", "observation")
_SKIPPED_KINDS = {"instruct", "negative", "react"}  # format taught on purpose, or prompts built for it


def texts_of(traj: Trajectory, kinds: set[str]) -> Iterator[tuple[str, str]]:
    """(kind, text) of each natural-language text of one build record."""
    kind = traj.metadata.get("kind")
    if kind in _SKIPPED_KINDS:
        return
    for m in traj.messages:
        text = m.content.strip()
        if not text:
            continue
        if kind == "general":
            if "general" in kinds and m.role in ("user", "assistant"):
                yield "general", text
        elif m.role == "tool" or (m.role == "user" and m.metadata.get("observation")):
            if "observation" in kinds:
                yield "observation", text
        elif m.role == "user" and "user" in kinds:
            yield "user", text


def write_corpus(build_dir: Path, kinds: Iterable[str], out: Path) -> dict[str, Any]:
    """Write the corpus of ``build_dir``'s canonical.jsonl to ``out`` (canonical JSONL); returns its counts."""
    source = build_dir / "canonical.jsonl"
    wanted = set(kinds)
    docs: dict[str, tuple[str, str]] = {}
    for item in read_file(source, "canonical"):
        if isinstance(item, Trajectory):
            for kind, text in texts_of(item, wanted):
                docs.setdefault(hashlib.sha256(text.encode("utf-8")).hexdigest(), (kind, text))
    if not docs:
        raise InputError(f"{source}: no {', '.join(sorted(wanted))} text to pretrain on")
    counts: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    with RecordSink(out) as sink:
        for digest in sorted(docs):
            kind, text = docs[digest]
            counts[kind] += 1
            chars[kind] += len(text)
            sink.write(Trajectory(id=f"pretrain/{kind}/{digest[:16]}", messages=[Message(role="assistant",
                                                                                         content=text)],
                                  metadata={"kind": "general", "source": f"pretrain-{kind}"}).to_dict())
    return {"documents": dict(sorted(counts.items())), "characters": dict(sorted(chars.items())),
            "total_documents": sum(counts.values())}
