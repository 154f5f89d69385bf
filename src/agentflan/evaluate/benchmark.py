"""The contract between `eval run` and a benchmark: a `Benchmark` loads its items through the run's `Inputs`
(so that the manifest lists every file read, with its sha256) and computes its metrics from the scored records.

What a benchmark loads (`Loaded`) is answered the same way whatever the benchmark: `samples` (one prompt each)
by the backend in batches, strictly classified; `episodes` (BFCL multi-turn) played against their simulated
APIs. A new benchmark is a class implementing `Benchmark`, named in `evaluate.run.benchmarks`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentflan.evaluate.samples import Sample
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sources import Reject


@dataclass
class Loaded:
    """What a benchmark holds for a run."""

    samples: list[Sample] = field(default_factory=list)
    episodes: list[Any] = field(default_factory=list)  # played, not answered (`bfcl_multi_turn.Entry`)
    rejects: list[Reject] = field(default_factory=list)  # records of its data that cannot be used
    source: dict[str, Any] = field(default_factory=dict)  # results.json's ``sources`` entry

    def add(self, items: Iterable[Sample | Reject]) -> Loaded:
        """Samples and rejects, each to its list."""
        for item in items:
            if isinstance(item, Reject):
                self.rejects.append(item)
            else:
                self.samples.append(item)
        return self


class Benchmark(Protocol):
    name: str  # its records' ``bench``, its entry in results.json (``sources``, ``benchmarks``), its rejects' prefix

    def load(self, inputs: Inputs) -> Loaded:
        """Its samples or episodes, read through ``inputs``."""

    def metrics(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Its metrics from the scored records of its ``bench`` (every benchmark of that name together)."""
