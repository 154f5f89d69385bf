"""Benchmarks from the held-out split of the corpora (the recipes' ``held_out``), which no variant trains on.

- **Held-out calls**: for each chosen agent trajectory, the conversation up to its first call (the source's own
  system prompt left out, since it often prescribes a format) with its tools offered natively; the expected
  reply is that call. ``call_correct`` = tool and arguments right (values compared exactly, numbers by value),
  ``call_wrong_args`` = right tool. Trajectories are taken round-robin over their sources in a seeded order, so
  that one large source does not make up the whole benchmark.
- **Held-out loss**: held-out agent trajectories and general questions with reference replies, scored by the
  model's loss on those replies (no generation): per capability for the agent ones, and as the general ability
  check (the paper's Table 4 asks whether agent tuning costs general ability).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.evaluate.samples import Sample, tool_dicts
from agentflan.pipeline.read import read_file
from agentflan.pipeline.sinks import RecordSink
from agentflan.schema import Trajectory
from agentflan.seeding import stable_hash

BENCH = "held-out"


def read_held_out(build_dirs: Iterable[Path]) -> list[Trajectory]:
    """The held-out records of every build (the same query is held out in each), once each, sorted by id."""
    seen: dict[str, Trajectory] = {}
    for folder in build_dirs:
        path = folder / "held_out.jsonl"
        if not path.exists():
            continue
        for item in read_file(path, "canonical"):
            if isinstance(item, Trajectory):
                seen.setdefault(item.id, item)
    return [seen[k] for k in sorted(seen)]


def call_sample(traj: Trajectory) -> Sample:
    """The prompt up to the first call of ``traj``, expecting that call; `RecordError` when there is none to ask."""
    offered = {t.name for t in traj.tools}
    messages: list[dict[str, Any]] = []
    for m in traj.messages:
        if m.role == "assistant" and m.tool_calls:
            if not any(x["role"] == "user" for x in messages):
                raise RecordError("no_user_turn", f"{traj.id}: the first call comes before any user turn")
            invented = [c.name for c in m.tool_calls if c.name not in offered]
            if invented:
                raise RecordError("unknown_tool", f"{traj.id}: the source calls {invented[0]!r}, which it does not offer")
            expected = [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls]
            return Sample(id=f"{BENCH}/{traj.id}", bench=BENCH, category=str(traj.metadata.get("source", "?")),
                          messages=messages, tools=tool_dicts(traj), expected=expected, native_tools=True,
                          meta={"source": traj.metadata.get("source")})
        if m.role == "tool":
            break
        if m.role in ("user", "assistant") and m.content.strip():
            messages.append({"role": m.role, "content": m.content})
    raise RecordError("no_call", f"{traj.id}: no call to ask for")


def round_robin(items: list[Any], source: Any, seed: int, purpose: str, limit: int | None) -> list[Any]:
    """Up to ``limit`` items, one per source in turn, each source's items in a seeded order (its own key)."""
    by_source: dict[str, list[Any]] = defaultdict(list)
    for item in sorted(items, key=lambda it: stable_hash(seed, purpose, it[0])):
        by_source[source(item)].append(item)
    out: list[Any] = []
    queues = [by_source[s] for s in sorted(by_source)]
    while queues and (limit is None or len(out) < limit):
        for q in queues:
            if q and (limit is None or len(out) < limit):
                out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out


def call_samples(held_out: list[Trajectory], limit: int, seed: int) -> tuple[list[Sample], dict[str, Any]]:
    """The held-out call benchmark and its manifest (how many trajectories could not be asked, and why)."""
    usable: list[tuple[str, Sample]] = []
    skipped: dict[str, int] = defaultdict(int)
    for traj in held_out:
        if traj.metadata.get("kind") != "agent":
            continue
        try:
            usable.append((traj.id, call_sample(traj)))
        except RecordError as err:
            skipped[err.reason] += 1
    chosen = [s for _, s in round_robin(usable, lambda it: it[1].category, seed, "held-out-calls", limit)]
    by_source: dict[str, int] = defaultdict(int)
    for s in chosen:
        by_source[s.category] += 1
    return chosen, {"samples": len(chosen), "candidates": len(usable), "skipped": dict(sorted(skipped.items())),
                    "by_source": dict(sorted(by_source.items())), "seed": seed, "limit": limit}


def loss_sets(held_out: list[Trajectory], agent: int, general: int, seed: int) -> dict[str, list[Trajectory]]:
    """Held-out records scored by loss: ``agent`` trajectories with a call (round-robin over sources) and
    ``general`` questions with a reference reply."""
    def replied(t: Trajectory) -> bool:
        return any(m.role == "assistant" and (m.content.strip() or m.tool_calls) for m in t.messages)

    agents = [(t.id, t) for t in held_out if t.metadata.get("kind") == "agent" and t.calls()]
    generals = [(t.id, t) for t in held_out if t.metadata.get("kind") == "general" and replied(t)]
    def source(item: tuple[str, Trajectory]) -> str:
        return str(item[1].metadata.get("source"))

    return {"agent": [t for _, t in round_robin(agents, source, seed, "held-out-loss", agent)] if agent else [],
            "general": [t for _, t in round_robin(generals, source, seed, "held-out-loss", general)]
            if general else []}


def write_trajectories(items: list[Trajectory], path: Path) -> None:
    with RecordSink(path) as sink:
        for t in items:
            sink.write(t.to_dict())


def write_samples(samples: list[Sample], path: Path) -> None:
    with RecordSink(path) as sink:
        for s in samples:
            sink.write(s.to_dict())


def call_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Call accuracy (tool and arguments), tool accuracy (right tool), and how the rest went, over scored
    held-out replies."""
    from agentflan.evaluate.metrics import outcome_summary, percent

    recs = [r for r in records if r.get("bench") == BENCH and r["outcome"] != "error"]
    n = len(recs)
    correct = sum(r["outcome"] == "call_correct" for r in recs)
    right_tool = correct + sum(r["outcome"] == "call_wrong_args" for r in recs)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        by_source[r["category"]].append(r)
    return {"n": n, "call_accuracy": percent(correct, n), "tool_accuracy": percent(right_tool, n),
            **outcome_summary(r["outcome"] for r in recs),
            "by_source": {s: {"n": len(rs), "call_accuracy": percent(sum(r["outcome"] == "call_correct" for r in rs),
                                                                     len(rs))}
                          for s, rs in sorted(by_source.items())}}
