"""``agentflan convert``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agentflan.cli import EARLY
from agentflan.cli._common import (
    ExecutorOption,
    RayAddressOption,
    WorkersOption,
    console,
    handle_errors,
    new_table,
)
from agentflan.pipeline.reasons import explain


@handle_errors
def convert_command(
    inputs: Annotated[list[Path], typer.Argument(help="Input files or directories (JSONL, JSON, Parquet; .gz/.zst).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file; .jsonl, .jsonl.gz, .jsonl.zst or .parquet.")],
    from_format: Annotated[str, typer.Option("--from", help="Input format, or 'auto' to detect per file.")] = "auto",
    to_format: Annotated[str, typer.Option("--to", help="Output format.")] = "openai",
    workers: WorkersOption = 1,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT even when it is an input or a file "
                                                                "that no earlier convert wrote.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Convert agent trajectories between formats, through the canonical model.

    Writes OUTPUT, OUTPUT.rejects.jsonl (every record that could not be used, with file, line and reason) and
    OUTPUT.manifest.json (counts that add up: read = written + rejected; inputs with sha256).

    An `agentflan build` output folder stands for its canonical.jsonl. --workers N reads and writes in N
    processes for large corpora (--executor ray: on a Ray cluster); the files written are byte-identical to one
    process's. OUTPUT appears only when
    complete; an existing OUTPUT is replaced only when an earlier convert wrote it (else --overwrite), and an
    input is never the output (unless --overwrite).

    Example:

        agentflan convert ../shared/data/FireAct/gpt_format/hotpotqa.jsonl --from auto --to openai -o out/hotpotqa.jsonl

        agentflan convert big.jsonl --to openai -o out/big.openai.jsonl --executor process --workers 4
    """
    from agentflan.formats import readers, writers
    from agentflan.pipeline.convert import convert

    del readers, writers  # imported to fail early on a broken format module
    result = convert(list(inputs), from_format, to_format, output, show_progress=not quiet, workers=workers,
                     overwrite=overwrite, argv=sys.argv[1:], executor=executor, ray_address=ray_address)
    if quiet:
        return
    m = result.manifest
    table = new_table(f"convert → {to_format}", show_lines=False)
    for col in ("input", "format", "read", "accepted", "rejected"):
        table.add_column(col, justify="left" if col in ("input", "format") else "right")
    for s in m["inputs"]:
        table.add_row(s["path"], s["format"] or "?", str(s["read"]), str(s["accepted"]), str(s["rejected"]))
    console.print(table)
    console.print(f"written {m['written']} → {result.output}; manifest → {result.manifest_path}", highlight=False)
    console.print(explain(m["rejects_by_reason"], str(result.rejects)), highlight=False, soft_wrap=True,
                  markup=False)


def start_workers_early(options: dict[str, Any]) -> None:
    """Start the fork server that `--workers N` would take its workers from (`workers.prestart`), from the
    raw option values, so that its imports overlap this process's (`cli.EARLY`: called before typer parses)."""
    from agentflan.pipeline.workers import prestart

    try:
        workers = int(options.get("workers") or 1)
    except ValueError:
        return  # typer reports it
    prestart(workers, options.get("executor"), options.get("inputs") or [],
             ["agentflan.cli", "agentflan.pipeline.convert", "agentflan.formats.*"])


def register(app: typer.Typer) -> None:
    app.command("convert", no_args_is_help=True)(convert_command)
    EARLY["convert"] = start_workers_early
