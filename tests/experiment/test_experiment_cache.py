"""The reply cache: whole requests answered from disk, partial hits generated again as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentflan.evaluate.backends import GenerationError
from agentflan.evaluate.samples import Sample
from agentflan.experiment.cache import CachedBackend


class Echo:
    name = "echo"

    def __init__(self, log: list[list[str]], fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.log = log
        self.fail = fail

    def generate(self, samples: list[Sample]) -> list[Any]:
        self.log.append([s.id for s in samples])
        return [GenerationError("down") if s.id in self.fail else f"reply to {s.messages[-1]['content']}"
                for s in samples]

    def describe(self) -> dict[str, Any]:
        return {"backend": "echo"}


def _sample(i: int) -> Sample:
    return Sample(id=f"s{i}", bench="agent-h", category="d", messages=[{"role": "user", "content": f"q{i}"}])


def _cached(tmp_path: Path, log: list[list[str]], model: str = "m1", loads: list[int] | None = None,
            fail: set[str] = frozenset()) -> CachedBackend:  # type: ignore[assignment]
    def make() -> Echo:
        if loads is not None:
            loads.append(1)
        return Echo(log, fail)
    return CachedBackend(make, model, {"max_new_tokens": 8}, tmp_path / "cache", {"backend": "echo", "model": model})


def test_whole_request_from_cache_without_loading_the_model(tmp_path: Path) -> None:
    log: list[list[str]] = []
    first = _cached(tmp_path, log)
    assert first.generate([_sample(1), _sample(2)]) == ["reply to q1", "reply to q2"]
    loads: list[int] = []
    second = _cached(tmp_path, log, loads=loads)
    assert second.generate([_sample(2), _sample(1)]) == ["reply to q2", "reply to q1"]
    assert log == [["s1", "s2"]] and loads == [] and second.hits == 2
    assert second.describe() == {"backend": "echo", "model": "m1"}  # no counts or paths: the same every run


def test_partial_hit_generates_the_whole_request_again(tmp_path: Path) -> None:
    log: list[list[str]] = []
    _cached(tmp_path, log).generate([_sample(1)])
    _cached(tmp_path, log).generate([_sample(1), _sample(3)])
    assert log == [["s1"], ["s1", "s3"]]  # the batch an uninterrupted run would have sent


def test_other_model_other_replies_and_errors_not_kept(tmp_path: Path) -> None:
    log: list[list[str]] = []
    _cached(tmp_path, log, "m1").generate([_sample(1)])
    _cached(tmp_path, log, "m2").generate([_sample(1)])
    assert log == [["s1"], ["s1"]]
    failing = _cached(tmp_path, log, "m3", fail={"s5"})
    assert isinstance(failing.generate([_sample(5)])[0], GenerationError)
    _cached(tmp_path, log, "m3").generate([_sample(5)])
    assert log[-2:] == [["s5"], ["s5"]]  # a failure is asked again, never served from the cache
