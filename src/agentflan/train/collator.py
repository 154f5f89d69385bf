"""Batches of labelled samples: padding, and packing that keeps sample boundaries.

A *row* is a list of `Example`s laid end to end. Without packing every row holds one sample and the batch is
right-padded with an attention mask. With packing a row holds several samples up to ``max_length``; instead of
an attention mask the row carries ``position_ids`` that restart at 0 for each sample, from which transformers
builds a block-diagonal causal mask (sdpa/eager) or variable-length attention (flash-attention), so no token
attends to another sample. Before / after::

    pack([a(3 tokens), b(2), c(4)], max_length=5) → [[a, b], [c]]
    row [a, b]: input_ids a0 a1 a2 b0 b1 · position_ids 0 1 2 0 1 · labels of b0 ignored (no prediction of b
    from a's last token)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from agentflan.train.labels import IGNORE, NONE, Example


def pack(examples: Sequence[Example], max_length: int) -> list[list[Example]]:
    """Greedy first-fit in the given order (deterministic); a sample is never split across rows."""
    rows: list[list[Example]] = []
    room: list[int] = []
    for ex in examples:
        n = len(ex)
        for i, free in enumerate(room):
            if n <= free:
                rows[i].append(ex)
                room[i] -= n
                break
        else:
            rows.append([ex])
            room.append(max_length - n)
    return rows


class RowDataset(torch.utils.data.Dataset):
    def __init__(self, rows: list[list[Example]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> list[Example]:
        return self.rows[i]


class Collator:
    """Turns rows into model inputs plus what the capability-aware loss needs: ``capability_ids`` and
    ``source_ids`` per token, and ``loss_weights`` when any sample sets weights."""

    def __init__(self, source_ids: dict[str, int], pad_token_id: int, packed: bool) -> None:
        self.source_ids = source_ids
        self.other = source_ids.get("other", len(source_ids) - 1)
        self.pad = pad_token_id
        self.packed = packed

    def __call__(self, rows: list[list[Example]]) -> dict[str, torch.Tensor]:
        width = max(sum(len(ex) for ex in row) for row in rows)
        n = len(rows)
        input_ids = np.full((n, width), self.pad, dtype=np.int64)
        labels = np.full((n, width), IGNORE, dtype=np.int64)
        caps = np.full((n, width), NONE, dtype=np.int64)
        sources = np.zeros((n, width), dtype=np.int64)
        weights = np.ones((n, width), dtype=np.float32)
        positions = np.zeros((n, width), dtype=np.int64)
        attention = np.zeros((n, width), dtype=np.int64)
        any_weights = False
        for r, row in enumerate(rows):
            at = 0
            for ex in row:
                end = at + len(ex)
                input_ids[r, at:end] = ex.input_ids
                labels[r, at:end] = ex.labels()
                labels[r, at] = IGNORE  # a sample's first token is never predicted from the previous sample
                caps[r, at:end] = ex.capability
                sources[r, at:end] = self.source_ids.get(ex.source, self.other)
                positions[r, at:end] = np.arange(len(ex))
                if ex.weight is not None:
                    weights[r, at:end] = ex.weight
                    any_weights = True
                at = end
            attention[r, :at] = 1
            # Padding forms its own "sample" (positions restart), so it never joins a real one's attention.
            positions[r, at:] = np.arange(width - at)
        batch = {
            "input_ids": torch.from_numpy(input_ids),
            "labels": torch.from_numpy(labels),
            "capability_ids": torch.from_numpy(caps),
            "source_ids": torch.from_numpy(sources),
        }
        if self.packed:
            batch["position_ids"] = torch.from_numpy(positions)
        else:
            batch["attention_mask"] = torch.from_numpy(attention)
        if any_weights:
            batch["loss_weights"] = torch.from_numpy(weights)
        return batch
