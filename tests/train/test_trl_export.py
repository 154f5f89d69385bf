"""The pre-tokenised TRL rows: TRL's own dataset preparation and two SFTTrainer steps on a tiny model train
exactly the tokens of the ``loss: true`` parts (masks included), nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agentflan.schema import Trajectory
from agentflan.train.labels import IGNORE, Labeller, LabelStats
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.trl import sft_labels, write_rows

pytest.importorskip("trl")


def _masked(corpus: list[Trajectory]) -> list[Trajectory]:
    """Balancing's masks, by hand: the tool choice (call name and elicit part) masked in every other sample."""
    out = []
    for i, t in enumerate(corpus):
        if i % 2 and t.calls():
            messages = [m.model_copy(update={"tool_calls": [c.model_copy(update={"name_loss": False})
                                                            for c in m.tool_calls]}) for m in t.messages]
            t = t.model_copy(update={"messages": messages})
        out.append(t)
    return out


@pytest.mark.slow
def test_trl_trains_exactly_the_supervised_tokens(tiny_tokenizer, tmp_path: Path) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    corpus = _masked(synthetic_corpus(12))
    examples = list(Labeller(tiny_tokenizer).examples(corpus, LabelStats()))
    path = tmp_path / "train.jsonl"
    counts = write_rows(examples, path)
    assert counts["rows"] == len(corpus) == len(examples)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tiny_tokenizer), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    labels = sft_labels(path, tiny_tokenizer, tmp_path / "run", max_steps=2, model=model)
    assert len(labels) == len(rows)  # TRL dropped nothing
    trained_names = masked_names = 0
    for row, (ids, got) in zip(rows, labels, strict=True):  # SFTConfig.shuffle_dataset is off by default
        assert ids == row["input_ids"]
        mask = np.array(row["assistant_masks"], dtype=bool)
        assert got == np.where(mask, ids, IGNORE).tolist()  # token for token
        trained = tiny_tokenizer.decode(np.array(ids)[mask])
        for _, call in next(t for t in corpus if t.id == row["id"]).calls():
            if call.name_loss is False:
                masked_names += 1
                assert f'"{call.name}"' not in trained
            else:
                trained_names += 1
                assert f'"{call.name}"' in trained
    assert trained_names and masked_names
    assert (tmp_path / "run").is_dir()
