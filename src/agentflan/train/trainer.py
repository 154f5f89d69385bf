"""The training recipe, top to bottom: data → tokenizer → labels → rows → model → `transformers.Trainer` with a
capability-aware loss → model, metrics, plot.

`train(config)` is all `agentflan train` does. Under ``accelerate launch`` every process runs it; files are
written by the main process only. The per-capability losses come from the training loss itself
(`agentflan.train.metrics.LossTracker`), so tracking them costs no extra forward pass.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainingArguments

from agentflan.errors import ConfigError, InputError
from agentflan.files import write_json_atomic, write_text_atomic
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.run import manifest_header
from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory
from agentflan.seeding import ranked, rng_for
from agentflan.train.collator import Collator, RowDataset, pack
from agentflan.train.config import TrainConfig
from agentflan.train.labels import Example, Labeller, LabelStats
from agentflan.train.metrics import METRICS_FILE, PLOT_FILE, LossTracker, MetricsFile, plot

SUMMARY_FILE = "train_summary.json"
REJECTS_FILE = "rejects.jsonl"
MODEL_DIR = "model"
TOKENIZER_DIR = "tokenizer"  # the locally trained tokenizer of a tiny model, kept for resuming


class CapabilityTrainer(Trainer):
    """`transformers.Trainer` whose loss is computed by a `LossTracker` from the same logits, and whose logs
    carry ``loss/<capability>`` and ``loss/source/<name>`` (so TensorBoard / W&B get them too)."""

    # Our loss is divided by the supervised tokens of the whole accumulated batch (``num_items_in_batch``).
    loss_is_scaled_for_ga = True

    def __init__(self, *args: Any, tracker: LossTracker, eval_tracker: LossTracker | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracker = tracker
        # Held-out batches get their own sums, so that evaluation never mixes into the training curves.
        self.eval_tracker = eval_tracker
        # Makes the Trainer count supervised tokens across gradient accumulation (and devices) for us.
        self.model_accepts_loss_kwargs = True

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        labels = inputs.pop("labels")
        capability_ids = inputs.pop("capability_ids")
        source_ids = inputs.pop("source_ids")
        weights = inputs.pop("loss_weights", None)
        # No KV cache: with one, transformers ignores packed position ids and lets samples attend to each other.
        outputs = model(**inputs, use_cache=False)
        tracker = self.tracker if model.training or self.eval_tracker is None else self.eval_tracker
        loss = tracker.loss(outputs.logits, labels, capability_ids, source_ids, weights, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # num_items_in_batch counts every process's tokens, and DDP averages gradients over processes.
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:  # a training logging step (reached by every process at once)
            logs.update(self.tracker.collect(self._sum_over_processes))
        elif "eval_loss" in logs and self.eval_tracker is not None:  # the end of an evaluation, likewise
            logs.update({f"eval_{k}": v for k, v in self.eval_tracker.collect(self._sum_over_processes).items()})
        super().log(logs, start_time)

    def _sum_over_processes(self, t: torch.Tensor) -> torch.Tensor:
        if self.accelerator.num_processes == 1:
            return t
        return self.accelerator.reduce(t.to(self.accelerator.device), reduction="sum").cpu()


def train(cfg: TrainConfig, show_progress: bool = True, argv: list[str] | None = None) -> dict[str, Any]:
    from accelerate import PartialState
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    state = PartialState()
    out = Path(cfg.output_dir)
    set_seed(cfg.seed)
    checkpoint = _checkpoint(cfg, out, get_last_checkpoint)
    prepared = prepare(cfg, show_progress and state.is_main_process, reuse_tokenizer=checkpoint is not None,
                       write_files=state.is_main_process, main_process_first=state.main_process_first)
    examples, tokenizer, inputs, rejects, label_stats = (prepared.examples, prepared.tokenizer, prepared.inputs,
                                                        prepared.rejects, prepared.label_stats)

    # 4. Rows: one sample each, or packed up to max_length without crossing sample boundaries; a seeded
    # held-out share for evaluation when asked.
    sources = tracked_sources(examples, cfg.labels.max_sources)
    examples, held_out = split_held_out(examples, cfg.eval_fraction, cfg.seed)
    rows = make_rows(examples, cfg)
    if cfg.max_tokens is not None:
        rows = budget_rows(rows, cfg.max_tokens, cfg.seed)
    eval_rows = make_rows(held_out, cfg) if held_out else None
    collator = Collator({s: i for i, s in enumerate(sources)}, tokenizer.pad_token_id, packed=cfg.packing)

    # 5. Model: pretrained or tiny random-initialised; LoRA/QLoRA adapters when configured.
    model = load_model(cfg, tokenizer)

    # 6. The Trainer, with our loss and metrics.
    if state.is_main_process:
        write_start_files(out, cfg, inputs, label_stats, rejects, sources, len(rows), resuming=checkpoint,
                          held_out=len(held_out), argv=argv)
    args = training_arguments(cfg, out, evaluate=eval_rows is not None)
    trainer = CapabilityTrainer(model=model, args=args, train_dataset=RowDataset(rows), data_collator=collator,
                                eval_dataset=RowDataset(eval_rows) if eval_rows is not None else None,
                                processing_class=tokenizer, tracker=LossTracker(sources),
                                eval_tracker=LossTracker(sources) if eval_rows is not None else None,
                                callbacks=[MetricsFile(out / METRICS_FILE)])
    if show_progress and args.disable_tqdm:  # no progress bar (not a terminal): a line per step from step 1
        from agentflan.train.progress import StepLines

        trainer.add_callback(StepLines())
    if not show_progress:  # --quiet: no per-step printing or saving bars either
        from transformers.trainer_callback import PrinterCallback, ProgressCallback
        from transformers.utils import logging as hf_logging

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        hf_logging.disable_progress_bar()
    result = trainer.train(resume_from_checkpoint=checkpoint)

    # 7. Outputs: final model + tokenizer, summary, plot.
    trainer.save_model(str(out / MODEL_DIR))
    summary: dict[str, Any] = {}
    if state.is_main_process:
        tokenizer.save_pretrained(str(out / MODEL_DIR))
        summary = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
        summary["result"] = {"global_step": result.global_step, "training_loss": result.training_loss,
                             **result.metrics}
        if cfg.max_tokens is not None:
            summary["budget"] = {"max_tokens": cfg.max_tokens, "rows": len(rows),
                                 "tokens_seen": sum(len(ex) for row in rows for ex in row),
                                 "supervised_tokens_seen": sum(int((ex.capability >= 0).sum())
                                                               for row in rows for ex in row)}
        if cfg.plot and (out / METRICS_FILE).exists():
            summary["plot"] = str(plot(out / METRICS_FILE, out / PLOT_FILE))
        write_json_atomic(out / SUMMARY_FILE, summary)
    return summary


# -- the steps, as plain functions ------------------------------------------------------------------------------

@dataclass
class Prepared:
    """Steps 1-3 of a run, shared by training and ``agentflan train --show-labels``."""

    examples: list[Example]
    tokenizer: Any
    inputs: Inputs
    rejects: list[Reject]
    label_stats: LabelStats


def prepare(cfg: TrainConfig, show_progress: bool, reuse_tokenizer: bool = False, write_files: bool = False,
            main_process_first: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Prepared:
    """Read the data, load (or, for a tiny model, train) the tokenizer and label every sample. ``write_files``
    (the main process of a run) saves a trained tokenizer and, when no sample is usable, the rejects."""
    out = Path(cfg.output_dir)
    # 1. Data: every supported format, rejects counted and kept.
    trajectories, inputs, rejects = read_data(cfg, show_progress)
    if not trajectories:
        if write_files:
            write_rejects(out, rejects)
        raise InputError(f"data: no usable sample in {', '.join(s.path for s in inputs.ledgers())} "
                         f"(reasons in {out / REJECTS_FILE})")

    # 2. Tokenizer: the model's own (with its chat template), or one trained on this data for a tiny model.
    with main_process_first():
        tokenizer = load_tokenizer(cfg, trajectories, out, reuse=reuse_tokenizer, save=write_files)

    # 3. Labels: render through the chat template, label every token (supervised? which capability?).
    labeller = Labeller(tokenizer, cfg.labels, template_name=cfg.model.chat_template or cfg.model.name_or_path
                        or "the tiny model's ChatML template")
    label_stats = LabelStats()
    with RecordProgress("tokenising", total=len(trajectories), enabled=show_progress) as progress:
        examples = list(labeller.examples(_counted(trajectories, progress), label_stats, rejects))
    del trajectories  # the token arrays are all training needs from here on
    if not examples:
        raise InputError(f"no sample has supervised tokens after labelling: {label_stats.to_dict()}")
    return Prepared(examples, tokenizer, inputs, rejects, label_stats)


def read_data(cfg: TrainConfig, show_progress: bool) -> tuple[list[Trajectory], Inputs, list[Reject]]:
    """All trajectories of the configured files (any readable format), the files read (`Inputs`: counts,
    sha256, side files) and the rejects."""
    trajectories: list[Trajectory] = []
    rejects: list[Reject] = []
    inputs = Inputs(cfg.data_files())
    with RecordProgress("reading", enabled=show_progress) as progress:
        for item in inputs:
            progress.advance()
            if isinstance(item, Reject):
                rejects.append(item)
            else:
                trajectories.append(item)
    return trajectories, inputs, rejects


def _counted(items: list[Trajectory], progress: RecordProgress) -> Any:
    for item in items:
        progress.advance()
        yield item


def load_tokenizer(cfg: TrainConfig, trajectories: list[Trajectory], out: Path, reuse: bool, save: bool) -> Any:
    from transformers import AutoTokenizer

    if cfg.model.tiny is not None:
        saved = out / TOKENIZER_DIR
        if (reuse or not save) and saved.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(str(saved))
        else:
            from agentflan.train.tiny import train_tokenizer

            tokenizer = train_tokenizer(trajectories, cfg.model.tiny)
            if save:
                tokenizer.save_pretrained(str(saved))
    else:
        assert cfg.model.name_or_path is not None
        tokenizer = AutoTokenizer.from_pretrained(cfg.model.name_or_path,
                                                  trust_remote_code=cfg.model.trust_remote_code)
    if cfg.model.chat_template:
        p = Path(cfg.model.chat_template)
        tokenizer.chat_template = p.read_text(encoding="utf-8") if p.is_file() else cfg.model.chat_template
    if tokenizer.pad_token_id is None:
        # Padding is never supervised (labels are -100 there), so any token will do.
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"model.name_or_path: {cfg.model.name_or_path} has no fast tokenizer; labelling needs "
                          "the character → token map of a `tokenizers` (fast) tokenizer")
    return tokenizer


def split_held_out(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(training, held out): exactly ``round(fraction × n)`` samples held out, chosen by a seeded ranking of
    their ids, so the split does not depend on the order of the data."""
    n = round(fraction * len(examples))
    if n == 0:
        return examples, []
    held = set(ranked(range(len(examples)), seed, "held-out", key=lambda i: examples[i].id)[:n])
    return ([ex for i, ex in enumerate(examples) if i not in held],
            [ex for i, ex in enumerate(examples) if i in held])


def make_rows(examples: list[Example], cfg: TrainConfig) -> list[list[Example]]:
    if not cfg.packing:
        return [[ex] for ex in examples]
    order = list(examples)
    rng_for(cfg.seed, "pack").shuffle(order)
    return pack(order, cfg.labels.max_length)


def budget_rows(rows: list[list[Example]], max_tokens: int, seed: int) -> list[list[Example]]:
    """The rows to train on for a budget of ``max_tokens`` input tokens: every row once per epoch, each epoch in
    a seeded order of its own, cut at the row that reaches the budget.

    >>> import numpy as np
    >>> rows = [[Example(str(i), "s", np.zeros(n, np.int64), np.zeros(n, np.int8), None)] for i, n in
    ...         enumerate((3, 4))]
    >>> [row[0].id for row in budget_rows(rows, 10, seed=0)]
    ['1', '0', '1']
    """
    out: list[list[Example]] = []
    seen = 0
    epoch = 0
    while rows and seen < max_tokens:
        order = list(range(len(rows)))
        rng_for(seed, "budget", epoch).shuffle(order)
        for i in order:
            out.append(rows[i])
            seen += sum(len(ex) for ex in rows[i])
            if seen >= max_tokens:
                break
        epoch += 1
    return out


def tracked_sources(examples: list[Example], limit: int) -> list[str]:
    """The ``limit`` most frequent sources (sorted by name), plus "other" for the rest."""
    counts = Counter(ex.source for ex in examples)
    top = sorted(name for name, _ in counts.most_common(limit))
    return [*top, "other"] if len(counts) > limit else top


def use_bf16(cfg: TrainConfig) -> bool:
    if cfg.bf16 == "auto":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool(cfg.bf16)


def load_model(cfg: TrainConfig, tokenizer: Any) -> Any:
    if cfg.model.tiny is not None:
        from agentflan.train.tiny import build_model

        model = build_model(cfg.model.tiny, tokenizer, cfg.seed)
    else:
        from transformers import AutoModelForCausalLM

        kwargs: dict[str, Any] = {"trust_remote_code": cfg.model.trust_remote_code,
                                  "dtype": torch.bfloat16 if use_bf16(cfg) else torch.float32}
        if cfg.model.attn_implementation:
            kwargs["attn_implementation"] = cfg.model.attn_implementation
        if cfg.lora is not None and cfg.lora.quantize_4bit:
            kwargs["quantization_config"] = _four_bit()
        assert cfg.model.name_or_path is not None  # the config requires it when there is no tiny model
        model = AutoModelForCausalLM.from_pretrained(cfg.model.name_or_path, **kwargs)
    if cfg.lora is not None:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if cfg.lora.quantize_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
        model = get_peft_model(model, LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha,
                                                 lora_dropout=cfg.lora.dropout,
                                                 target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM"))
    return model


def _four_bit() -> Any:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError("lora.quantize_4bit needs bitsandbytes (pip install bitsandbytes) and a CUDA GPU") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def training_arguments(cfg: TrainConfig, out: Path, evaluate: bool = False) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(out),
        # A token budget has already laid out every row to train on (`budget_rows`): one pass over them.
        num_train_epochs=1 if cfg.max_tokens is not None else cfg.epochs,
        max_steps=-1 if cfg.max_tokens is not None else cfg.max_steps,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.scheduler,
        **_warmup(cfg.warmup_ratio),
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        optim=cfg.optim,
        bf16=use_bf16(cfg),
        **_checkpointing(cfg.gradient_checkpointing),
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        report_to=list(cfg.report_to) or "none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        remove_unused_columns=False,  # our collator needs the whole Example
        dataloader_num_workers=cfg.dataloader_num_workers,
        # Held-out loss only: gathering every eval batch's logits would hold vocabulary × tokens in memory.
        eval_strategy="steps" if evaluate else "no",
        eval_steps=cfg.eval_steps if evaluate else None,
        per_device_eval_batch_size=cfg.per_device_batch_size,
        prediction_loss_only=True,
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=not sys.stderr.isatty(),
    )


def _has_argument(name: str) -> bool:
    import dataclasses

    return any(f.name == name for f in dataclasses.fields(TrainingArguments))


def _checkpointing(on: bool) -> dict[str, Any]:
    # transformers 5 renamed gradient_checkpointing to activation_checkpointing (the old name warns).
    name = "activation_checkpointing" if _has_argument("activation_checkpointing") else "gradient_checkpointing"
    return {name: on, f"{name}_kwargs": {"use_reentrant": False} if on else None}


def _warmup(ratio: float) -> dict[str, Any]:
    # transformers 5 takes a ratio as a float warmup_steps; 4.x has warmup_ratio.
    return {"warmup_steps": ratio} if not _has_argument("warmup_ratio") else {"warmup_ratio": ratio}


def _checkpoint(cfg: TrainConfig, out: Path, last: Any) -> str | None:
    if cfg.resume_from_checkpoint is False:
        return None
    if cfg.resume_from_checkpoint is True:
        found = last(str(out)) if out.is_dir() else None
        if found is None:
            raise ConfigError(f"resume_from_checkpoint: no checkpoint-* directory in {out}")
        return found
    if not Path(cfg.resume_from_checkpoint).is_dir():
        raise ConfigError(f"resume_from_checkpoint: {cfg.resume_from_checkpoint} is not a directory")
    return cfg.resume_from_checkpoint


def write_start_files(out: Path, cfg: TrainConfig, inputs: Inputs, label_stats: LabelStats,
                      rejects: list[Reject], sources: list[str], rows: int, resuming: str | None,
                      held_out: int = 0, argv: list[str] | None = None) -> None:
    """``train_summary.json`` (what went in), ``rejects.jsonl``, and ``metrics.jsonl`` reset (or, when
    resuming, cut back to the checkpoint's step so no step is logged twice)."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = out / METRICS_FILE
    if resuming is None:
        metrics.unlink(missing_ok=True)
    elif metrics.exists():
        step = json.loads((Path(resuming) / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
        kept = [line for line in metrics.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step and "train_runtime" not in line]
        write_text_atomic(metrics, "".join(line + "\n" for line in kept))
    write_rejects(out, rejects)
    write_json_atomic(out / SUMMARY_FILE, {
        **manifest_header("train", argv),
        "config": cfg.model_dump(mode="json"),
        "inputs": inputs.entries(),
        "side_files": inputs.side_files(),
        "read_rejected": inputs.rejected,
        "labels": label_stats.to_dict(),
        "rows": rows,
        "held_out_samples": held_out,
        "sources": sources,
        "resumed_from": resuming,
    })


def write_rejects(out: Path, rejects: list[Reject]) -> None:
    with RecordSink(out / REJECTS_FILE) as sink:
        for rej in rejects:
            sink.write(rej.to_dict())
