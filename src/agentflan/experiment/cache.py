"""A reply cache in front of any evaluation backend, shared by every evaluation of an experiment.

A reply is stored under the hash of (model identity, generation settings, the sample's prompt and tools), so a
request asked again for the same model — an evaluation redone after a kill, the same prompt in two benchmarks,
a benchmark list that grew — costs nothing. The model identity is the key of the unit that made the model
(`experiment.units`), so two cells never share replies unless they made the same model.

A request is answered from the cache only when every sample of it is there. Greedy decoding of a batch can
depend on what else is in the batch (padding changes the shapes the kernels see), so a partly cached request is
generated again as a whole: the replies are then those an uninterrupted run would have got. The model is loaded
only when a request misses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentflan.evaluate.backends import Backend, GenerationError, Reply
from agentflan.evaluate.samples import Sample
from agentflan.experiment.units import key_of


class CachedBackend:
    name = "cached"

    def __init__(self, make: Callable[[], Backend], model_id: str, settings: dict[str, Any], folder: Path,
                 describe_as: dict[str, Any]) -> None:
        self._make = make
        self._inner: Backend | None = None
        self.model_id = model_id
        self.settings = settings
        self.folder = folder
        self._describe = describe_as
        self.hits = 0
        self.misses = 0

    def describe(self) -> dict[str, Any]:
        # What produced the replies, without machine paths or cache counts: the same in every run.
        return dict(self._describe)

    def _path(self, sample: Sample) -> Path:
        digest = key_of({"model": self.model_id, "settings": self.settings, "messages": sample.messages,
                         "tools": sample.tools, "native_tools": sample.native_tools})
        return self.folder / digest[:2] / f"{digest}.json"

    def generate(self, samples: list[Sample]) -> list[Reply]:
        paths = [self._path(s) for s in samples]
        cached = [_load(p) for p in paths]
        if all(c is not None for c in cached):
            self.hits += len(samples)
            return [c["reply"] for c in cached if c is not None]
        if self._inner is None:
            self._inner = self._make()
        replies = self._inner.generate(samples)
        self.misses += len(samples)
        for path, reply in zip(paths, replies, strict=True):
            if not isinstance(reply, GenerationError):
                _store(path, reply)
        return replies

    def close(self) -> None:
        """Let the model go (the next evaluation loads its own)."""
        self._inner = None


def _load(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and "reply" in value else None


def _store(path: Path, reply: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"reply": reply}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a killed run never leaves half a reply
