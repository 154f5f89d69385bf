"""Which capability each supervised piece of a trajectory exercises, and how many tokens that is.

One definition serves `build` (manifest ``capability_tokens``), `audit` (capability balance) and `train`
(default labels for text the recipe did not label). Unlabelled assistant text defaults to ``reasoning`` when the
turn makes a call (it is the thought before the action) and to ``answer`` otherwise; a call's name is
``retrieval`` and its arguments ``understanding`` (paper §3, following T-Eval's thought/name/args steps).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import NamedTuple

from agentflan.schema import Capability, Message, Trajectory


class Span(NamedTuple):
    """One labelled piece of supervised text (a tuple: built per part on the tokenisation hot path)."""

    capability: Capability
    text: str
    loss: bool
    weight: float
    message: int  # index of the message the span belongs to


def default_capability(message: Message, traj: Trajectory) -> Capability:
    kind = traj.metadata.get("kind")
    if kind == "general":
        return "general"
    if kind == "negative" and not message.tool_calls:
        return "abstain"
    return "reasoning" if message.tool_calls else "answer"


def arguments_text(arguments: dict) -> str:
    """The canonical text of a call's arguments (what a JSON tool call supervises)."""
    return json.dumps(arguments, ensure_ascii=False)


def spans(traj: Trajectory, supervised_only: bool = True) -> Iterator[Span]:
    """Every assistant span with its resolved capability, loss flag and weight."""
    for index, message in enumerate(traj.messages):
        if message.role != "assistant":
            continue
        fallback = message.capability or default_capability(message, traj)
        # The same resolution as `Message.segments`, without building Part models: this runs per sample on the
        # tokenisation hot path.
        pieces = ([(message.content, None, None, None)] if message.parts is None
                  else [(p.text, p.capability, p.loss, p.weight) for p in message.parts])
        for text, capability, own_loss, weight in pieces:
            if not text:
                continue
            loss = own_loss if own_loss is not None else message.supervised
            if loss or not supervised_only:
                yield Span(capability or fallback, text, loss, _w(weight, message.weight), index)
        for call in message.tool_calls:
            name_loss = call.name_loss if call.name_loss is not None else message.supervised
            args_loss = call.arguments_loss if call.arguments_loss is not None else message.supervised
            if name_loss or not supervised_only:
                yield Span("retrieval", call.name, name_loss, _w(call.name_weight, message.weight), index)
            if args_loss or not supervised_only:
                yield Span("understanding", arguments_text(call.arguments), args_loss,
                           _w(call.arguments_weight, message.weight), index)


def _w(*weights: float | None) -> float:
    return next((w for w in weights if w is not None), 1.0)


def capability_tokens(traj: Trajectory, count: Callable[[str], int], weighted: bool = False) -> Counter[str]:
    """Supervised tokens per capability (optionally multiplied by the span weights)."""
    totals: Counter[str] = Counter()
    for span in spans(traj):
        n = count(span.text)
        totals[span.capability] += n * span.weight if weighted else n
    return totals
