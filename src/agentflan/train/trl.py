"""Pre-tokenised rows for TRL's ``SFTTrainer``, from agentflan's labelled tokenisation, so that TRL trains
exactly the tokens agentflan supervises: every balancing mask, part by part.

TRL skips its own tokenisation for a dataset that has ``input_ids``, and builds ``labels`` from an
``assistant_masks`` column (``labels = input_ids`` where the mask is 1, else -100). The rows are agentflan's
`Example`\\s: the chat template's text, the supervised parts located in it, and a token supervised when any of
its characters is (`agentflan.train.labels`)::

    Example(input_ids=[5, 81, 9, 14, 2], capability=[-1, -1, 0, 2, 3])
    → {"id": "t1", "input_ids": [5, 81, 9, 14, 2], "assistant_masks": [0, 0, 1, 1, 1]}

Written by ``agentflan train CONFIG --export-trl FILE`` (with the tokenizer next to it, for a tiny model); loaded
with ``datasets.load_dataset("json", data_files=FILE)`` and given to ``SFTTrainer(train_dataset=...)`` with the
same tokenizer as ``processing_class``. Loss weights (``balance.mode: weight``) have no column in TRL and are
not carried: ``write_rows`` counts the weighted tokens it leaves out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from agentflan.pipeline.sinks import RecordSink
from agentflan.train.labels import Example


def trl_row(example: Example) -> dict[str, Any]:
    """One pre-tokenised TRL row (see the module docstring)."""
    return {"id": example.id, "input_ids": example.input_ids.tolist(),
            "assistant_masks": (example.capability >= 0).astype(np.int8).tolist()}


def rows(examples: Iterable[Example]) -> Iterator[dict[str, Any]]:
    return (trl_row(e) for e in examples)


def write_rows(examples: Iterable[Example], path: Path) -> dict[str, int]:
    """Write the rows to ``path`` (JSONL, atomically); returns the counts: rows, tokens, supervised tokens, and
    supervised tokens whose loss weight is not 1 (TRL has no weights)."""
    counts = {"rows": 0, "tokens": 0, "supervised_tokens": 0, "weighted_tokens_not_carried": 0}
    with RecordSink(path) as sink:
        for example in examples:
            sink.write(trl_row(example))
            supervised = example.capability >= 0
            counts["rows"] += 1
            counts["tokens"] += len(example)
            counts["supervised_tokens"] += int(supervised.sum())
            if example.weight is not None:
                counts["weighted_tokens_not_carried"] += int((supervised & (example.weight != 1.0)).sum())
    return counts


def sft_labels(path: Path, tokenizer: Any, output_dir: Path, max_steps: int = 0,
               model: Any = None) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) as TRL's own dataset preparation builds them from the rows in ``path`` (and, with
    ``max_steps`` and a ``model``, that many training steps run by ``SFTTrainer``): the check that TRL trains
    exactly the supervised tokens."""
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset("json", data_files=str(path), split="train")
    args = SFTConfig(output_dir=str(output_dir), max_steps=max(max_steps, 1), per_device_train_batch_size=2,
                     logging_steps=1, save_strategy="no", report_to=[], max_length=None, use_cpu=True,
                     dataset_num_proc=None, bf16=False, remove_unused_columns=True)
    trainer = SFTTrainer(model=model or _placeholder(tokenizer), args=args, train_dataset=dataset,
                         processing_class=tokenizer)
    if max_steps and model is not None:
        trainer.train()
    # The labels the model gets: TRL's own collator on each prepared row (TRL 1.0 turns assistant_masks into
    # labels there, later releases while preparing the dataset; the collator passes those through).
    prepared: Any = trainer.train_dataset  # a datasets.Dataset: the rows given, prepared
    keys = [k for k in ("input_ids", "labels", "assistant_masks") if k in prepared.column_names]
    out = []
    for row in prepared.select_columns(keys):
        batch = trainer.data_collator([row])
        out.append((list(row["input_ids"]), batch["labels"][0].tolist()))
    return out

def _placeholder(tokenizer: Any) -> Any:
    """A one-layer model, for when only TRL's dataset preparation is wanted."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
