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
        if message.role == "assistant":
            yield from message_spans(traj, index, supervised_only)


def message_spans(traj: Trajectory, index: int, supervised_only: bool = True) -> list[Span]:
    """The spans of one assistant message: its text parts first, then each call's name and arguments."""
    # The same resolution as `Message.segments`, without building Part models: this runs per sample on the
    # tokenisation hot path.
    message = traj.messages[index]
    supervised = message.supervised
    inherited = 1.0 if message.weight is None else message.weight
    fallback = message.capability or default_capability(message, traj)
    out: list[Span] = []
    if message.parts is None:
        if message.content and (supervised or not supervised_only):
            out.append(Span(fallback, message.content, supervised, inherited, index))
    else:
        for part in message.parts:
            loss = supervised if part.loss is None else part.loss
            if part.text and (loss or not supervised_only):
                weight = inherited if part.weight is None else part.weight
                out.append(Span(part.capability or fallback, part.text, loss, weight, index))
    for call in message.tool_calls:
        name_loss = supervised if call.name_loss is None else call.name_loss
        if name_loss or not supervised_only:
            weight = inherited if call.name_weight is None else call.name_weight
            out.append(Span("retrieval", call.name, name_loss, weight, index))
        args_loss = supervised if call.arguments_loss is None else call.arguments_loss
        if args_loss or not supervised_only:
            weight = inherited if call.arguments_weight is None else call.arguments_weight
            out.append(Span("understanding", arguments_text(call.arguments), args_loss, weight, index))
    return out


def capability_tokens(traj: Trajectory, count: Callable[[str], int], weighted: bool = False) -> Counter[str]:
    """Supervised tokens per capability (optionally multiplied by the span weights)."""
    totals: Counter[str] = Counter()
    for span in spans(traj):
        n = count(span.text)
        # Weighted counts are fractional: a Counter holds floats as well (typeshed types its values as int).
        totals[span.capability] += n * span.weight if weighted else n  # type: ignore[assignment]
    return totals
