"""BFCL v4 (Berkeley Function Calling Leaderboard), single-turn categories, scored strictly.

- ``irrelevance``, ``live_irrelevance``: no offered tool fits; success = the reply makes no call **and no call
  attempt** (``abstain``; an ``empty`` reply says nothing, so it is not one). BFCL itself counts a reply whose
  call fails to parse, and an empty one, as a correct abstention (gorilla #443, #1362); that lenient rate is
  reported beside ours as ``no_call_rate_bfcl``.
- ``live_relevance``: a tool fits; success = a well-formed call (any arguments: BFCL has no ground truth here).
- ``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``, ``live_simple``, ``live_multiple``,
  ``live_parallel``, ``live_parallel_multiple``: success = ``call_correct`` against ``possible_answer`` with
  BFCL's type and value rules (`evaluate.matching`).
- ``multi_turn_*`` (``bfcl.multi_turn`` for all four): episodes scored by state and response
  (`evaluate.bfcl_multi_turn`); outcome ``correct`` or the first failed check.

Data is read with the ``bfcl`` format reader (`agentflan.formats.bfcl`), which attaches
``metadata["bfcl"] = {"category", "ground_truth"}`` from the sibling ``possible_answer/`` file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflan.errors import ConfigError, InputError, RecordError, UsageError
from agentflan.evaluate.benchmark import Loaded
from agentflan.evaluate.classify import CALL_OUTCOMES
from agentflan.evaluate.metrics import outcome_summary, percent
from agentflan.evaluate.samples import Sample, prompt_messages, tool_dicts
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

IRRELEVANCE = ("irrelevance", "live_irrelevance")
RELEVANCE = ("live_relevance",)
ACCURACY = ("simple_python", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple",
            "live_parallel", "live_parallel_multiple")
CATEGORIES: tuple[str, ...] = IRRELEVANCE + RELEVANCE + ACCURACY
# Episodes against BFCL's simulated APIs (`evaluate.bfcl_multi_turn`); not part of plain ``bfcl``.
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_param", "multi_turn_miss_func", "multi_turn_long_context")


def categories_for(names: Iterable[str]) -> list[str]:
    """``bfcl`` → every category; ``bfcl.simple_python`` (or ``bfcl:...``) → one; unknown names are a usage error."""
    out: list[str] = []
    for name in names:
        if name == "bfcl":
            out.extend(c for c in CATEGORIES if c not in out)
            continue
        category = name.split(".", 1)[1] if "." in name else name.split(":", 1)[1] if ":" in name else name
        if category == "multi_turn":
            out.extend(c for c in MULTI_TURN if c not in out)
            continue
        if category.startswith(("memory", "web_search", "format_sensitivity")):
            raise UsageError(f"BFCL category {category!r} is not scored by agentflan yet: it needs web access or "
                             "BFCL's memory backends (use BFCL's own bfcl-eval for it); choose from: "
                             f"{', '.join(CATEGORIES + MULTI_TURN)}")
        if category not in CATEGORIES + MULTI_TURN:
            raise UsageError(f"unknown BFCL category {category!r}; choose from: {', '.join(CATEGORIES + MULTI_TURN)}")
        if category not in out:
            out.append(category)
    return out


def question_file(category: str, data: Path | None = None) -> Path:
    """``BFCL_v4_<category>.json`` from ``data`` (a BFCL folder, or a data root holding ``gorilla/bfcl_v4``),
    else from ``AGENTFLAN_DATA``, else from the cached ``bfcl-eval`` wheel (`bfcldata.bfcl_file`)."""
    from agentflan.bfcldata import bfcl_file

    name = f"BFCL_v4_{category}.json"
    if data is not None and (data / name).is_file():
        return data / name
    try:
        return bfcl_file(name, data)
    except ConfigError as exc:
        raise InputError(str(exc)) from None


def load_samples(categories: Iterable[str], data: Path | None = None, limit: int | None = None,
                 inputs: Inputs | None = None) -> Iterator[Sample | Reject]:
    """Samples of each category (the first ``limit`` per category), or a `Reject` per unusable record; read
    through ``inputs`` when given (so that a manifest lists the files, ``possible_answer`` included)."""
    inputs = inputs if inputs is not None else Inputs()
    for category in categories:
        path = question_file(category, data)
        taken = 0
        for item in (i for file in inputs.add([path], "bfcl") for i in inputs.read(file)):
            if limit is not None and taken >= limit:
                break
            if isinstance(item, Reject):
                yield item
                continue
            try:
                yield to_sample(item, category)
                taken += 1
            except RecordError as err:
                yield Reject(str(path), err.reason, err.detail, field=err.field, item=item.id)


@dataclass
class BFCLCategories:
    """What the BFCL benchmarks share: their ``categories`` (the first ``limit`` of each), from ``data``;
    ``asked``: every category the run names, for results.json; the same name and metrics."""

    categories: list[str]
    asked: list[str]
    data: Path | None = None
    limit: int | None = None
    name = "bfcl"

    def metrics(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return metrics(records)


class BFCLSingleTurn(BFCLCategories):
    """BFCL's single-turn categories as an `eval run` benchmark (`evaluate.benchmark.Benchmark`)."""

    def load(self, inputs: Inputs) -> Loaded:
        loaded = Loaded(source={"path": str(question_file(self.categories[0], self.data).parent),
                                "categories": self.asked})
        return loaded.add(load_samples(self.categories, self.data, self.limit, inputs))


def to_sample(traj: Trajectory, category: str | None = None) -> Sample:
    info = traj.metadata.get("bfcl") or {}
    category = category or info.get("category")
    if category not in CATEGORIES:
        raise RecordError("bfcl_category", f"{traj.id}: category {category!r} is not scored here", "metadata.bfcl")
    expected: list[dict[str, Any]] | None
    if category in IRRELEVANCE:
        expected = []
    elif category in RELEVANCE:
        expected = None
    else:
        ground_truth = info.get("ground_truth")
        if not isinstance(ground_truth, list) or not ground_truth:
            raise RecordError("no_ground_truth", f"{traj.id}: no possible_answer entry", "metadata.bfcl.ground_truth")
        expected = ground_truth
    return Sample(id=traj.id, bench="bfcl", category=category, messages=prompt_messages(traj),
                  tools=tool_dicts(traj), expected=expected, meta={"source": "bfcl_v4"})


def success(category: str, outcome: str) -> bool:
    """Whether one classified reply scores on its category (strict: malformed is never a success)."""
    if category in IRRELEVANCE:
        return outcome == "abstain"
    if category in RELEVANCE:
        return outcome in CALL_OUTCOMES
    if category in MULTI_TURN:
        return outcome == "correct"
    return outcome == "call_correct"


def metrics(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-category metrics from scored records (``category``, ``outcome``)."""
    by_category: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_category.setdefault(rec["category"], []).append(rec)
    out: dict[str, Any] = {}
    for category in [c for c in CATEGORIES + MULTI_TURN if c in by_category]:
        recs = by_category[category]
        n = len(recs)
        wins = sum(success(category, r["outcome"]) for r in recs)
        if category in MULTI_TURN:  # an episode's outcome is `correct` or the first check it failed
            failures = Counter(r["outcome"] for r in recs if r["outcome"] != "correct")
            out[category] = {"n": n, "accuracy": percent(wins, n), "failures": dict(sorted(failures.items()))}
            continue
        entry: dict[str, Any] = {"n": n, **outcome_summary(r["outcome"] for r in recs)}
        if category in IRRELEVANCE:
            entry["no_call_rate"] = percent(wins, n)
            lenient = sum(r["outcome"] in ("abstain", "empty", "malformed") for r in recs)
            entry["no_call_rate_bfcl"] = percent(lenient, n)
        elif category in RELEVANCE:
            entry["call_rate"] = percent(wins, n)
        else:
            entry["accuracy"] = percent(wins, n)
        out[category] = entry
    acc = [out[c]["accuracy"] for c in ACCURACY if c in out and out[c]["accuracy"] is not None]
    irr = [out[c]["no_call_rate"] for c in IRRELEVANCE if c in out and out[c]["no_call_rate"] is not None]
    summary: dict[str, Any] = {}
    if acc:
        summary["mean_accuracy"] = round(sum(acc) / len(acc), 2)
    if irr:
        summary["mean_no_call_rate"] = round(sum(irr) / len(irr), 2)
    multi = [out[c]["accuracy"] for c in MULTI_TURN if c in out and out[c]["accuracy"] is not None]
    if multi:
        summary["mean_multi_turn_accuracy"] = round(sum(multi) / len(multi), 2)
    if summary:
        out["summary"] = summary
    return out
