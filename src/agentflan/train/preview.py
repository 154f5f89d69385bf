"""What a run will train on, token by token: each sample as the model sees it, supervised tokens coloured by
capability, in the terminal or as one self-contained HTML page (``agentflan train --show-labels``).

Check the masks before spending GPU hours: a template that hides the tool-call wrapper from the loss, a turn
header that is supervised, or a sample cut off before its reply shows up here at a glance.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
from rich.console import Console
from rich.text import Text

from agentflan.schema import CAPABILITIES
from agentflan.train.labels import Example, LabelStats, stats_line

# One colour per capability (the tab10 order the loss plot uses), readable on dark and light backgrounds.
COLOURS = dict(zip(CAPABILITIES, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"],
                   strict=True))
UNSUPERVISED = "#888888"


class Segment(NamedTuple):
    """Consecutive tokens sharing a label, decoded to text."""

    text: str
    capability: str | None  # None: no loss on these tokens
    weight: float
    tokens: int


def segments(example: Example, tokenizer: Any) -> list[Segment]:
    """The sample split where the label or the weight changes, each piece decoded by the tokenizer.

    A character split over two tokens with different labels (rare: byte-level BPE merges across a label
    boundary almost never) decodes as a replacement character on both sides."""
    caps = example.capability
    weights = example.weight if example.weight is not None else np.ones(len(caps), dtype=np.float32)
    change = np.flatnonzero((np.diff(caps) != 0) | (np.diff(weights) != 0)) + 1
    bounds = [0, *change.tolist(), len(caps)]
    out: list[Segment] = []
    for lo, hi in pairwise(bounds):
        text = tokenizer.decode(example.input_ids[lo:hi].tolist(), skip_special_tokens=False,
                                clean_up_tokenization_spaces=False)
        cap = int(caps[lo])
        out.append(Segment(text, CAPABILITIES[cap] if cap >= 0 else None, float(weights[lo]), hi - lo))
    return out


def supervised_counts(example: Example) -> dict[str, int]:
    counts = np.bincount(example.capability[example.capability >= 0], minlength=len(CAPABILITIES))
    return {CAPABILITIES[i]: int(n) for i, n in enumerate(counts) if n}


def legend() -> Text:
    text = Text("legend: ")
    text.append("no loss", style=UNSUPERVISED)
    for cap, colour in COLOURS.items():
        text.append("  ")
        text.append(cap, style=f"bold {colour}")
    return text


def print_examples(console: Console, examples: Sequence[Example], tokenizer: Any, stats: LabelStats) -> None:
    """The labelling counts, a legend, then every sample with its supervised tokens coloured."""
    console.print(stats_line(stats.to_dict()), highlight=False)
    console.print(legend())
    for example in examples:
        counts = ", ".join(f"{k} {v}" for k, v in supervised_counts(example).items())
        console.rule(f"{example.id} ({example.source}): {len(example)} tokens; supervised: {counts}")
        body = Text()
        for seg in segments(example, tokenizer):
            if seg.capability is None:
                body.append(seg.text, style=UNSUPERVISED)
            else:
                style = f"bold {COLOURS[seg.capability]}" + (" underline" if seg.weight != 1.0 else "")
                body.append(seg.text, style=style)
        console.print(body)


def html_page(examples: Sequence[Example], tokenizer: Any, stats: LabelStats, title: str) -> str:
    """A self-contained page (no scripts, no external files): hovering a piece shows its label and weight."""
    styles = "\n".join(f".c-{cap} {{ color: {colour}; font-weight: bold; }}" for cap, colour in COLOURS.items())
    keys = " ".join(f'<span class="c-{cap}">{cap}</span>' for cap in COLOURS)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
        "<style>",
        "body { font-family: system-ui, sans-serif; margin: 2em; max-width: 110ch; }",
        "pre { white-space: pre-wrap; word-break: break-word; background: #fafafa; border: 1px solid #ddd;"
        " padding: 1em; font-size: 0.85em; }",
        f".none {{ color: {UNSUPERVISED}; }} .weighted {{ text-decoration: underline; }}", styles,
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(stats_line(stats.to_dict()))}</p>",
        f'<p>legend: <span class="none">no loss</span> {keys} (underlined: loss weight other than 1)</p>',
    ]
    for example in examples:
        counts = ", ".join(f"{k} {v}" for k, v in supervised_counts(example).items())
        parts.append(f"<h2>{html.escape(example.id)} <small>({html.escape(example.source)}, {len(example)} tokens; "
                     f"supervised: {html.escape(counts)})</small></h2>")
        pieces = []
        for seg in segments(example, tokenizer):
            if seg.capability is None:
                pieces.append(f'<span class="none" title="no loss">{html.escape(seg.text)}</span>')
            else:
                cls = f"c-{seg.capability}" + (" weighted" if seg.weight != 1.0 else "")
                pieces.append(f'<span class="{cls}" title="{seg.capability}, weight {seg.weight:g}, '
                              f'{seg.tokens} tokens">{html.escape(seg.text)}</span>')
        parts.append("<pre>" + "".join(pieces) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
