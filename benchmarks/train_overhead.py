"""Step time of our trainer (capability-aware loss + per-capability / per-source tracking + metrics.jsonl) vs
plain ``transformers.Trainer`` on the same tiny model, data, batch and seed, measured in one run.

Both trainers see identical padded batches (plain gets input_ids / attention_mask / labels and lets the model
compute its loss; ours also gets capability and source ids and computes the loss itself). Runs alternate in ABBA
order (ours, plain, plain, ours, ...) so machine load hits both alike; the step time is the median of the
intervals between consecutive steps after a warm-up, logging steps included. Goal: overhead < 3%.

    python benchmarks/train_overhead.py                      # tiny-cpu sized model, synthetic data
    python benchmarks/train_overhead.py --data out/build --steps 40 --rounds 3 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from agentflan.pipeline.read import read_file
from agentflan.schema import Trajectory
from agentflan.train.collator import Collator, RowDataset
from agentflan.train.config import LabelConfig, TinyModel
from agentflan.train.labels import Labeller, LabelStats
from agentflan.train.metrics import LossTracker, MetricsFile
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.tiny import build_model, train_tokenizer
from agentflan.train.trainer import CapabilityTrainer, tracked_sources


class StepClock(TrainerCallback):
    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())


class PlainCollator(Collator):
    """The same batches, minus what only the capability-aware loss reads."""

    def __call__(self, rows: list) -> dict[str, torch.Tensor]:
        batch = super().__call__(rows)
        for key in ("capability_ids", "source_ids", "loss_weights"):
            batch.pop(key, None)
        return batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="an agentflan build directory or any readable file (default: synthetic)")
    ap.add_argument("--samples", type=int, default=600)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.data:
        path = Path(args.data)
        path = path / "canonical.jsonl" if path.is_dir() else path
        trajectories = [t for t in read_file(path) if isinstance(t, Trajectory)][: args.samples]
    else:
        trajectories = synthetic_corpus(args.samples)
    tiny = TinyModel(hidden_size=args.hidden, intermediate_size=2 * args.hidden, num_layers=args.layers)
    tokenizer = train_tokenizer(trajectories, tiny)
    examples = list(Labeller(tokenizer, LabelConfig(max_length=args.max_length)).examples(trajectories,
                                                                                          LabelStats()))
    rows = [[ex] for ex in examples]
    sources = tracked_sources(examples, 32)
    source_ids = {s: i for i, s in enumerate(sources)}

    def run(ours: bool, out: Path) -> list[float]:
        model = build_model(tiny, tokenizer, seed=0)
        targs = TrainingArguments(
            output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch, learning_rate=1e-3,
            logging_steps=10, save_strategy="no", report_to="none", seed=0, data_seed=0,
            remove_unused_columns=False, disable_tqdm=True, use_cpu=args.device == "cpu", bf16=args.bf16,
            dataloader_pin_memory=args.device == "cuda")
        clock = StepClock()
        if ours:
            trainer: Trainer = CapabilityTrainer(
                model=model, args=targs, train_dataset=RowDataset(rows), tracker=LossTracker(sources),
                data_collator=Collator(source_ids, tokenizer.pad_token_id, packed=False),
                callbacks=[clock, MetricsFile(out / "metrics.jsonl")])
        else:
            trainer = Trainer(model=model, args=targs, train_dataset=RowDataset(rows), callbacks=[clock],
                              data_collator=PlainCollator(source_ids, tokenizer.pad_token_id, packed=False))
        trainer.remove_callback(next(c for c in trainer.callback_handler.callbacks
                                     if type(c).__name__ == "PrinterCallback"))
        trainer.train()
        return [b - a for a, b in zip(clock.stamps[args.warmup:], clock.stamps[args.warmup + 1:], strict=False)]

    steps: dict[str, list[float]] = {"ours": [], "plain": []}
    pair_ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            # ABBA order: a drift in machine load, or whatever the first run of a pair pays, hits both alike.
            medians = {}
            for name in ("ours", "plain") if r % 2 == 0 else ("plain", "ours"):
                times = run(name == "ours", Path(tmp) / f"{name}{r}")
                steps[name] += times
                medians[name] = statistics.median(times)
            pair_ratios.append(medians["ours"] / medians["plain"] - 1)
    ours_s, plain_s = statistics.median(steps["ours"]), statistics.median(steps["plain"])
    print(f"device {args.device}, threads {torch.get_num_threads()}, model hidden {args.hidden} x {args.layers} "
          f"layers, vocab {len(tokenizer)}, batch {args.batch}, samples {len(rows)}, {args.rounds} rounds of "
          f"{args.steps} steps ({len(steps['ours'])} timed steps each)")
    print(f"plain transformers.Trainer: median step {plain_s * 1000:.1f} ms")
    print(f"agentflan CapabilityTrainer: median step {ours_s * 1000:.1f} ms")
    print(f"overhead, pooled medians: {ours_s / plain_s - 1:+.2%}; median over the {len(pair_ratios)} pairs: "
          f"{statistics.median(pair_ratios):+.2%} (pairs from {min(pair_ratios):+.1%} to {max(pair_ratios):+.1%}) "
          "(goal < 3%)")


if __name__ == "__main__":
    main()
