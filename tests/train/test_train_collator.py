"""Padding and packing: sample boundaries kept, no attention across samples, labels aligned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from agentflan.train.collator import Collator, pack
from agentflan.train.config import TinyModel
from agentflan.train.labels import IGNORE, NONE, Example
from agentflan.train.tiny import build_model


def example(i: int, n: int, source: str = "a", supervised_from: int = 1) -> Example:
    ids = np.arange(10 + i, 10 + i + n, dtype=np.int64) % 90 + 3
    caps = np.full(n, NONE, dtype=np.int8)
    caps[supervised_from:] = i % 7
    return Example(f"e{i}", source, ids, caps, None)


@given(st.lists(st.integers(1, 20), min_size=1, max_size=30), st.integers(20, 40))
def test_pack_never_splits_or_loses_a_sample(lengths, max_length):
    examples = [example(i, n) for i, n in enumerate(lengths)]
    rows = pack(examples, max_length)
    assert sorted(ex.id for row in rows for ex in row) == sorted(ex.id for ex in examples)
    assert all(sum(len(ex) for ex in row) <= max_length for row in rows)


def test_collator_positions_restart_and_first_token_ignored():
    a, b, c = example(0, 4, "x"), example(1, 3, "y", supervised_from=0), example(2, 5, "x")
    batch = Collator({"x": 0, "y": 1}, pad_token_id=0, packed=True)([[a, b], [c]])
    assert batch["input_ids"].shape == (2, 7)
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert batch["position_ids"][1].tolist() == [0, 1, 2, 3, 4, 0, 1]  # padding is its own block
    # b's first token is supervised in b, but must not be predicted from a's last token.
    assert batch["labels"][0, 4].item() == IGNORE
    assert batch["labels"][0, 5:].tolist() == b.input_ids[1:].tolist()
    assert batch["labels"][1, 5:].tolist() == [IGNORE, IGNORE]
    assert batch["source_ids"][0].tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert "attention_mask" not in batch and "loss_weights" not in batch


def test_collator_unpacked_pads_with_attention_mask_and_weights():
    a, b = example(0, 4), example(1, 2)
    b.weight = np.full(2, 0.5, dtype=np.float32)
    batch = Collator({"a": 0}, pad_token_id=0, packed=False)([[a], [b]])
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["labels"][1].tolist()[2:] == [IGNORE, IGNORE]
    assert batch["loss_weights"][1].tolist() == [0.5, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_separate_logits(tiny_tokenizer, attn):
    """No attention leaks across packed samples: each sample's logits are those it gets alone."""
    model = build_model(TinyModel(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2), tiny_tokenizer,
                        seed=0)
    model.config._attn_implementation = attn
    model.eval()
    a, b = example(0, 6), example(3, 5)
    packed = Collator({"a": 0}, pad_token_id=0, packed=True)([[a, b]])
    with torch.no_grad():
        together = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"],
                         use_cache=False).logits[0]  # as in training: with a cache, positions are not read
        alone_a = model(input_ids=torch.from_numpy(a.input_ids)[None]).logits[0]
        alone_b = model(input_ids=torch.from_numpy(b.input_ids)[None]).logits[0]
    torch.testing.assert_close(together[:6], alone_a, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(together[6:], alone_b, atol=1e-5, rtol=1e-4)
