"""``agentflan experiment``: a grid of build variants × seeds, trained and evaluated alike, in one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agentflan.cli._common import SetOption, console, handle_errors, new_table, require_extra


@handle_errors
def experiment_command(
    experiment: Annotated[Path, typer.Argument(help="Experiment file (YAML), e.g. "
                                                    "recipes/experiments/agent-flan-ablation.yaml.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Experiment folder: created, or resumed when an "
                                                                "earlier run of an experiment left it.")],
    preset: Annotated[str | None, typer.Option("--preset", help="A preset of the file (e.g. cpu, cpu-full, gpu): "
                                                                "its settings merged over the file's.")] = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per step, no summary.")] = False,
) -> None:
    """Run a grid of build variants × seeds: build each variant, train every cell from the same starting model
    on the same token budget, evaluate every model on the same benchmarks, and write DIR/report.md and a
    self-contained DIR/report.html with the paper's numbers beside ours.

    Every step is a unit whose inputs are hashed: run the same command again after a kill (or after changing
    a setting) and it resumes at the first unfinished or changed step; finished cells are never redone. The
    builds, the benchmarks and a reply cache are shared by all cells.

    Examples:

        agentflan experiment recipes/experiments/agent-flan-ablation.yaml --preset cpu -o runs/ablation

        agentflan experiment recipes/experiments/agent-flan-ablation.yaml --preset gpu -o runs/qwen \\
            --set model.name_or_path=Qwen/Qwen2.5-7B-Instruct --set seeds=[0,1,2]
    """
    require_extra("train", "agentflan experiment")
    from agentflan.experiment.run import run_experiment
    from agentflan.experiment.spec import load

    spec = load(experiment, preset, overrides or [])
    log = (lambda _: None) if quiet else (lambda line: console.print(f"[dim]experiment:[/dim] {line}",
                                                                    highlight=False))
    result = run_experiment(spec, output, log=log)
    if quiet:
        return
    print_summary(output)
    console.print(f"{len(result['ran'])} step(s) run, {len(result['skipped'])} done before; report → "
                  f"{result['report']} and {result['html']}", highlight=False)


def print_summary(output: Path) -> None:
    """The report's first two tables, on the terminal."""
    report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    for t in report["tables"][:2]:
        table = new_table(t["title"])
        header = [h for h in t["header"] if not h.startswith("paper")]
        for h in header:
            table.add_column(h, justify="left" if h == "variant" else "right")
        for row in t["rows"]:
            table.add_row(*(c["text"] for c in row[: len(header)]))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("experiment", no_args_is_help=True)(experiment_command)
