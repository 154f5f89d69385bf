"""A model's loss on reference replies, per capability: the training loop's own labelling and loss (the same
chat template, the same per-token capability labels, the same cross-entropy), with a forward pass and no update.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agentflan.train.config import TrainConfig


def reference_loss(model: str, data: Path, max_length: int, batch_size: int = 8) -> dict[str, Any]:
    """``{"loss", "tokens", "by_capability": {cap: {"loss", "tokens"}}, "samples", "rejected"}`` of ``model``
    (a folder or hub name) on the records of ``data``."""
    import torch

    from agentflan.train.collator import Collator
    from agentflan.train.metrics import LossTracker
    from agentflan.train.trainer import load_model, prepare

    with tempfile.TemporaryDirectory(prefix="agentflan-loss-") as scratch:  # prepare() writes nothing here
        cfg = TrainConfig.model_validate({"data": str(data), "output_dir": scratch,
                                          "model": {"name_or_path": model},
                                          "labels": {"max_length": max_length, "overlong": "truncate"}})
        prepared = prepare(cfg, show_progress=False)
    net = load_model(cfg, prepared.tokenizer)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net.to(device).eval()
    tracker = LossTracker(["all"])
    collator = Collator({"all": 0}, prepared.tokenizer.pad_token_id, packed=False)
    examples = sorted(prepared.examples, key=len)  # similar lengths together: less padding
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = collator([[ex] for ex in examples[start : start + batch_size]])
            out = net(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                      use_cache=False)
            tracker.loss(out.logits, batch["labels"], batch["capability_ids"], batch["source_ids"])
    collected = tracker.collect()
    by_capability = {k.removeprefix("loss/"): {"loss": round(v, 6), "tokens": int(collected[f"tokens/{k[5:]}"])}
                     for k, v in collected.items() if k.startswith("loss/") and not k.startswith("loss/source/")}
    tokens = sum(c["tokens"] for c in by_capability.values())
    total = sum(c["loss"] * c["tokens"] for c in by_capability.values())
    del net
    return {"loss": round(total / tokens, 6) if tokens else None, "tokens": tokens,
            "by_capability": dict(sorted(by_capability.items())), "samples": len(prepared.examples),
            "rejected": prepared.label_stats.rejected}
