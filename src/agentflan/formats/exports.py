"""What the training-framework exports share: tools described once, whole turns, and an account of the loss
masks each export can hold.

**Tools described once.** The chat rendering writes a plain-language tool list at the start of the system text
(marked with `TOOLS_DESCRIPTION` by ``construct.align.tools_system``). An export whose framework renders the structured ``tools``
through its chat template drops that list; a ReAct record or a format-following sample, whose prompt teaches a
text format with the tools in it, is written without structured tools instead::

    system "The following tools are available ...\\n\\n- `search`: ...\\n\\nBe brief."  (description: 95 chars)
    tools  [search]
    → system "Be brief."   tools [search]      (the template shows `search` from `tools`)

**Whole turns.** Formats that must alternate (LLaMA-Factory, ms-swift, XTuner's ``openai_map_fn``) get two turns
of one role merged with a separator (`merge_turns`), never glued, dropped or split by an empty turn.

**Masks.** `MASKS` says at which granularity each export keeps the balancing masks (``parts``: every
labelled part; ``calls``: text parts, and a call's name and arguments under one flag; ``turns``: one flag per
assistant turn, supervised when any of its parts is; ``none``: every assistant token is trained), and
`masks_not_held` counts, for one record, the masked spans an export would train anyway. The build writes those
counts into the manifest next to each output, so nothing is trained silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from agentflan.capabilities import message_spans
from agentflan.schema import Message, Trajectory

# Metadata key of a system message whose text starts with the plain-language tool description (its length in
# characters), set by `construct.align.tools_system`.
TOOLS_DESCRIPTION = "tools_description"
SEPARATOR = "\n\n"

# Export name → the granularity at which its target framework honours loss masks (see the module docstring).
MASKS: dict[str, str] = {
    "agentflan": "turns",  # XTuner openai_map_fn: per-turn `loss`
    "sharegpt": "none",  # LLaMA-Factory trains every gpt/function_call turn
    "hermes": "none",
    "swift": "calls",  # ms-swift: per-message `loss`, tool_call messages carry name and arguments together
    "trl": "none",  # TRL conversational: at most assistant_only_loss (every assistant token)
    "openai": "none",  # labels ride along as extra keys that only agentflan reads
    "trl-tokenized": "parts",  # input_ids + assistant_masks from agentflan's own labelled tokenisation
}


def tools_described_once(traj: Trajectory) -> Trajectory:
    """``traj`` as a template that renders ``tools`` should see it: the plain-language tool description cut
    from the system text; or no structured tools for a record whose own prompt describes its tools and asks for
    a text format (a ReAct record, a format-following sample), which the template's call format would
    contradict. A record whose prompt does not name its tools keeps them for the template to show."""
    if traj.metadata.get("rendering") == "react" or traj.metadata.get("kind") == "instruct":
        prompt = "\n".join(m.content for m in traj.messages if m.role == "system")
        if traj.tools and all(t.name in prompt for t in traj.tools):
            return traj.model_copy(update={"tools": []})
        return traj  # a prompt that does not name them (AgentInstruct's): the template shows them
    messages: list[Message] = []
    changed = False
    for m in traj.messages:
        n = m.metadata.get(TOOLS_DESCRIPTION) if m.role == "system" else None
        if isinstance(n, int) and 0 < n <= len(m.content):
            rest = m.content[n:].removeprefix(SEPARATOR)
            metadata = {k: v for k, v in m.metadata.items() if k != TOOLS_DESCRIPTION}
            changed = True
            if not rest.strip():
                continue
            m = m.model_copy(update={"content": rest, "metadata": metadata})
        messages.append(m)
    if not changed:
        return traj
    if not messages:
        raise ValueError("a trajectory has messages besides its system prompt")  # Trajectory requires one
    return traj.model_copy(update={"messages": messages})


def merge_turns(turns: Iterable[dict[str, Any]], same: Callable[[dict[str, Any], dict[str, Any]], bool],
                content: str = "content", sep: str = SEPARATOR) -> list[dict[str, Any]]:
    """Consecutive turns for which ``same(previous, turn)`` holds joined into the first, texts separated by
    ``sep``; a ``loss`` key becomes true when either turn's is (the turn is supervised if any part of it is)."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        prev = out[-1] if out else None
        if prev is None or not same(prev, turn):
            out.append(dict(turn))
            continue
        prev[content] = sep.join(t for t in (prev[content], turn[content]) if t)
        if "loss" in prev or "loss" in turn:
            prev["loss"] = bool(prev.get("loss")) or bool(turn.get("loss"))
    return out


def masks_not_held(traj: Trajectory, granularity: str) -> Counter[str]:
    """For one record: ``masked`` spans (parts, call names, call arguments with ``loss`` false) and, of those,
    the ``trained`` ones and their ``trained_chars`` under an export of ``granularity``."""
    counts: Counter[str] = Counter()
    for index, message in enumerate(traj.messages):
        if message.role != "assistant":
            continue
        spans = [s for s in message_spans(traj, index, supervised_only=False) if s.text.strip()]
        masked = [s for s in spans if not s.loss]
        counts["masked"] += len(masked)
        if not masked:
            continue
        if granularity == "parts":
            trained = []
        elif granularity == "calls":
            # Text parts keep their own flags; a call's name and arguments share one (supervised if either is).
            n = 2 * len(message.tool_calls)
            call_spans = spans[len(spans) - n:] if n else []
            trained = [s for k, s in enumerate(call_spans)
                       if not s.loss and (call_spans[k - k % 2].loss or call_spans[k - k % 2 + 1].loss)]
        elif granularity == "turns":
            trained = masked if any(s.loss for s in spans) else []
        else:
            trained = masked
        counts["trained"] += len(trained)
        counts["trained_chars"] += sum(len(s.text) for s in trained)
    if counts["trained"]:
        counts["records_with_masks_trained"] = 1
    return counts


def mask_summary(name: str, counts: Counter[str]) -> dict[str, Any]:
    """The manifest entry of one export: what its framework holds, and the masked spans it trains anyway."""
    return {"held": MASKS.get(name, "none"), "masked_spans": counts["masked"],
            "masked_spans_trained": counts["trained"], "masked_chars_trained": counts["trained_chars"],
            "records_with_masks_trained": counts["records_with_masks_trained"]}
