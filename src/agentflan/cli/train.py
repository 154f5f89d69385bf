"""``agentflan train``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentflan.cli._common import SetOption, console, handle_errors, require_extra

if TYPE_CHECKING:
    from agentflan.train.config import TrainConfig


@handle_errors
def train_command(
    config: Annotated[Path, typer.Argument(help="Training config (YAML), e.g. recipes/train/tiny-cpu.yaml.")],
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")] = False,
    show_labels: Annotated[int | None, typer.Option(
        "--show-labels", min=1, metavar="N",
        help="Do not train: label the data, print the counts and the first N samples token by token "
             "(supervised tokens coloured by capability), and exit.")] = None,
    labels_html: Annotated[Path | None, typer.Option(
        "--labels-html", metavar="FILE",
        help="Do not train: write the first N samples (--show-labels, default 20) labelled as an HTML page.")] = None,
    export_trl: Annotated[Path | None, typer.Option(
        "--export-trl", metavar="FILE",
        help="Do not train: write the labelled samples as pre-tokenised TRL rows {id, input_ids, "
             "assistant_masks} to FILE (JSONL), and the tokenizer to FILE's folder/tokenizer, so that TRL's "
             "SFTTrainer trains exactly the supervised tokens, balancing masks included.")] = None,
) -> None:
    """Fine-tune a model on agent data with a capability-aware loss.

    Renders every sample through the model's chat template, supervises the assistant parts that carry loss,
    and logs the loss per capability (loss/reasoning, loss/retrieval, ...) and per source to
    OUTPUT_DIR/metrics.jsonl, plotted in OUTPUT_DIR/capability_loss.png. Also writes OUTPUT_DIR/model/,
    OUTPUT_DIR/train_summary.json and OUTPUT_DIR/rejects.jsonl. Multi-GPU: run it under `accelerate launch`
    (see docs/training.md).

    Check the labels first: --show-labels N prints what the model will be trained on (no model is loaded).

    Examples:

        agentflan train recipes/train/tiny-cpu.yaml --set data=out/agent-flan --set max_steps=30 --set output_dir=/tmp/run

        agentflan train recipes/train/tiny-cpu.yaml --set data=out/agent-flan --show-labels 2 --labels-html out/labels.html

        agentflan train recipes/train/qwen2.5-7b-lora.yaml --set data=out/agent-flan --export-trl out/trl/train.jsonl
    """
    require_extra("train", "agentflan train")
    # Validate the config (unknown keys, bad values) before importing torch or loading any model.
    from agentflan.train.config import load_train_config

    cfg = load_train_config(config, overrides or [])
    if export_trl is not None:
        export(cfg, export_trl, quiet)
        return
    if show_labels is not None or labels_html is not None:
        preview(cfg, show_labels, labels_html, quiet)
        return
    from agentflan.train.trainer import train

    summary = train(cfg, show_progress=not quiet, argv=sys.argv[1:])
    if quiet or not summary:
        return
    from agentflan.train.labels import stats_line

    result = summary["result"]
    console.print(stats_line(summary["labels"]), highlight=False)
    console.print(f"steps {result['global_step']}, mean training loss {result['training_loss']:.4f}")
    console.print(f"model → {cfg.output_dir}/model; metrics → {cfg.output_dir}/metrics.jsonl"
                  + (f"; plot → {summary['plot']}" if summary.get("plot") else ""))


def preview(cfg: TrainConfig, show: int | None, html_file: Path | None, quiet: bool) -> None:
    from agentflan.files import write_text_atomic
    from agentflan.train.preview import html_page, print_examples
    from agentflan.train.trainer import prepare

    prepared = prepare(cfg, show_progress=not quiet)
    shown = prepared.examples[:show or 20]
    if show is not None:
        print_examples(console.console, shown, prepared.tokenizer, prepared.label_stats)
    if html_file is not None:
        page = html_page(shown, prepared.tokenizer, prepared.label_stats, f"agentflan labels: {cfg.data}")
        write_text_atomic(html_file, page)
        console.print(f"{len(shown)} labelled samples → {html_file}")


def export(cfg: TrainConfig, path: Path, quiet: bool) -> None:
    from agentflan.train.labels import stats_line
    from agentflan.train.trainer import prepare
    from agentflan.train.trl import write_rows

    prepared = prepare(cfg, show_progress=not quiet)
    counts = write_rows(prepared.examples, path)
    tokenizer_dir = path.parent / "tokenizer"
    prepared.tokenizer.save_pretrained(str(tokenizer_dir))
    if not quiet:
        console.print(stats_line(prepared.label_stats.to_dict()), highlight=False)
        console.print(f"{counts['rows']} rows, {counts['supervised_tokens']:,} of {counts['tokens']:,} tokens "
                      f"supervised → {path}; tokenizer → {tokenizer_dir}"
                      + (f"; {counts['weighted_tokens_not_carried']:,} weighted tokens trained at weight 1 (TRL "
                         "has no loss weights)" if counts["weighted_tokens_not_carried"] else ""))


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train_command)
