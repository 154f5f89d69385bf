"""``agentflan train``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentflan.cli._common import SetOption, console, handle_errors


@handle_errors
def train_command(
    config: Annotated[Path, typer.Argument(help="Training config (YAML), e.g. recipes/train/tiny-cpu.yaml.")],
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")] = False,
) -> None:
    """Fine-tune a model on agent data with a capability-aware loss.

    Renders every sample through the model's chat template, supervises the assistant parts that carry loss,
    and logs the loss per capability (loss/reasoning, loss/retrieval, ...) and per source to
    OUTPUT_DIR/metrics.jsonl, plotted in OUTPUT_DIR/capability_loss.png. Also writes OUTPUT_DIR/model/,
    OUTPUT_DIR/train_summary.json and OUTPUT_DIR/rejects.jsonl. Multi-GPU: run it under `accelerate launch`
    (see docs/training.md).

    Example:

        agentflan train recipes/train/tiny-cpu.yaml --set data=out/agent-flan --set max_steps=30 --set output_dir=/tmp/run
    """
    # Validate the config (unknown keys, bad values) before importing torch or loading any model.
    from agentflan.train.config import load_train_config

    cfg = load_train_config(config, overrides or [])
    from agentflan.train.trainer import train

    summary = train(cfg, show_progress=not quiet)
    if quiet or not summary:
        return
    labels = summary["labels"]
    result = summary["result"]
    console.print(f"samples {labels['samples']}: used {labels['used']}, truncated {labels['truncated']}, "
                  f"dropped as too long {labels['dropped_overlong']}, rejected {labels['rejected']}"
                  + (f" {labels['rejects_by_reason']}" if labels["rejects_by_reason"] else ""))
    console.print(f"steps {result['global_step']}, mean training loss {result['training_loss']:.4f}")
    console.print(f"model → {cfg.output_dir}/model; metrics → {cfg.output_dir}/metrics.jsonl"
                  + (f"; plot → {summary['plot']}" if summary.get("plot") else ""))


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train_command)
