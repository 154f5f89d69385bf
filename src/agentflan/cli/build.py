"""``agentflan build``: construct Agent-FLAN training data from a recipe."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agentflan.cli._common import (
    ExecutorOption,
    RayAddressOption,
    SetOption,
    WorkersOption,
    console,
    handle_errors,
    new_table,
)
from agentflan.pipeline.reasons import explain


@handle_errors
def build_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML (see recipes/agent-flan.yaml).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory (replaced when the build "
                                                                 "completes).")],
    overrides: SetOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace DIR even when it is not empty and no "
                                                                "earlier build wrote it.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="Keep every trajectory in memory (faster on small "
                                                                "corpora) instead of an index, with the "
                                                                "trajectories in a temporary file.")] = False,
    workers: WorkersOption = 1,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Build Agent-FLAN training data: align, decompose and balance, add format-following and negative samples,
    mix with general data.

    Writes DIR/canonical.jsonl (lossless, what `agentflan train` reads), DIR/<format>.jsonl for each export,
    DIR/rejects.jsonl and DIR/manifest.json (counts per kind, source, capability and negative circumstance; input
    and output sha256). Input paths are relative to AGENTFLAN_DATA (default ../shared/data); a file elsewhere
    needs an absolute path.

    DIR appears only when complete, in one step. An existing DIR is replaced only when an earlier build wrote it
    (or with --overwrite), and never when it holds an input, the data root or the working directory.

    Example:

        agentflan build recipes/demo.yaml -o out/demo --set seed=1 --set alignment.react_fraction=0.2

        agentflan build recipes/agent-flan.yaml -o out/agent-flan --executor process --workers 2
    """
    from agentflan.config import load_config
    from agentflan.construct.build import build
    from agentflan.construct.recipe import Recipe

    spec = load_config(recipe, Recipe, overrides or [])
    manifest = build(spec, output, show_progress=not quiet, overwrite=overwrite, argv=sys.argv[1:],
                     in_memory=in_memory, executor=executor, workers=workers, ray_address=ray_address)
    if not quiet:
        print_summary(manifest, output)


def print_summary(m: dict[str, Any], output: Path) -> None:
    kinds = new_table("records by kind")
    kinds.add_column("kind")
    kinds.add_column("records", justify="right")
    for kind, n in m["by_kind"].items():
        kinds.add_row(kind, str(n))
    kinds.add_row("[bold]total[/bold]", f"[bold]{m['records']}[/bold]")
    console.print(kinds)
    negs = new_table("negative samples")
    negs.add_column("circumstance")
    negs.add_column("made / asked", justify="right")
    for name, n in m["negatives"].items():
        negs.add_row(name, f"{n} / {m['negatives_requested'][name]}")
    console.print(negs)
    cap = m["capability_tokens"]
    caps = new_table(f"supervised tokens per capability ({cap['mode']}, {cap['target']}; "
                       f"{cap['counted_with'].split(':')[0]})")
    for col in ("capability", "before", "after", "kept", "weight"):
        caps.add_column(col, justify="left" if col == "capability" else "right")
    for name, before in cap["before"].items():
        after = cap["after"].get(name, 0)
        weight = cap["weights"].get(name) if cap["mode"] != "none" else None
        caps.add_row(name, str(before), f"{after:g}", f"{after / before:.1%}" if before else "-",
                     "" if weight is None else f"{weight:g}")
    console.print(caps)
    rf = m["react_fraction"]
    console.print(f"react fraction {rf['actual']} (target {rf['target']}); general per agent record "
                  f"{m['mix']['general_per_agent_reached']} (target {m['mix']['general_per_agent_target']})")
    # One line whatever the terminal's width; plain text, since reasons and paths are not markup.
    console.print(explain(m["rejects_by_reason"], str(output / "rejects.jsonl")), highlight=False, soft_wrap=True,
                  markup=False)
    console.print(f"output → {output} ({', '.join(o['path'] for o in m['outputs'])})")


def register(app: typer.Typer) -> None:
    app.command("build", no_args_is_help=True)(build_command)
