"""``agentflan eval``: classify replies, build the open Agent-H, run benchmarks against a model, compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agentflan.cli._common import console, handle_errors, require_extra, require_model_folder

eval_app = typer.Typer(
    name="eval",
    help=("Evaluate tool use and hallucination: strict reply classification, open Agent-H, BFCL v4.\n\n"
          "Example:\n\n"
          "    agentflan eval run --bench agent-h --bench bfcl --endpoint http://localhost:8000 "
          "--model-name my-model -o runs/my-model"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@eval_app.command("classify", no_args_is_help=True)
@handle_errors
def classify_command(
    input_file: Annotated[Path, typer.Argument(help='JSONL lines {"id", "reply", "tools"?, "expected"?}.')],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output JSONL (input + outcome, calls); "
                                                "default: INPUT_FILE's name with .classified.jsonl.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Classify model replies strictly: abstain, call, call_invented_tool, args_invalid, malformed (and
    call_correct / call_wrong_tool / call_wrong_args when "expected" is given; "expected": [] = no call is right).

    Recognises OpenAI tool_calls, <tool_call>{json}</tool_call>, bare or fenced JSON calls, ReAct
    Action/Action Input, name[args] and Python-style name(k=v). Bad lines go to OUTPUT.rejects.jsonl with
    file, line and reason.

    Example:

        agentflan eval classify replies.jsonl -o out/classified.jsonl
    """
    from agentflan.errors import UsageError
    from agentflan.evaluate.classify_file import classify_file

    if output is None:
        output = input_file.with_name(input_file.name.removesuffix(".jsonl") + ".classified.jsonl")
    if output.exists() and input_file.exists() and output.samefile(input_file):  # issue 12: never the input
        raise UsageError(f"-o {output} is the input file; write the classified replies elsewhere")
    counts, rejects = classify_file(input_file, output, show_progress=not quiet)
    if quiet:
        return
    table = Table(title=f"classify → {output}")
    table.add_column("outcome")
    table.add_column("replies", justify="right")
    for outcome, n in counts.to_dict()["outcomes"].items():
        table.add_row(outcome, str(n))
    console.print(table)
    console.print(f"read {counts.read} = written {counts.written} + rejected {counts.rejected} → {rejects}")
    if counts.rejects_by_reason:
        console.print("rejects by reason: " + ", ".join(f"{k}={v}" for k, v in counts.rejects_by_reason.items()))


@eval_app.command("build-agent-h", no_args_is_help=True)
@handle_errors
def build_agent_h_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder (agent_h.jsonl, manifest.json).")],
    data: Annotated[Path | None, typer.Option("--data", help="Corpora root (default: $AGENTFLAN_DATA).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every sampling decision.")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", help="Queries per circumstance (default 200).")] = None,
    exclude: Annotated[list[Path] | None, typer.Option(
        "--exclude", help="Training data of the model (files or `agentflan build` folders, repeatable): Agent-H "
                          "leaves out every query that overlaps it.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Build the open Agent-H: the four circumstances of the paper's Fig. 6 (a: tools + tool query → call;
    b: irrelevant tools; c: no tools + tool query; d: no tools + general query) × two format levels (ReAct
    and general), from BFCL, ToolBench, ToolTalk, API-Bank, self-instruct and MT-Bench. Same seed, same file.

    Agent-H draws on the same public corpora training data is built from: pass the training data with
    --exclude, and every query it holds (word 8-gram overlap) is left out.

    Example:

        agentflan eval build-agent-h -o out/agent-h --data ../shared/data --seed 0 --exclude out/agent-flan
    """
    from agentflan.evaluate import agent_h
    from agentflan.paths import data_root

    result = agent_h.build(data or data_root(), seed=seed, limit=agent_h.DEFAULT_LIMIT if limit is None else limit,
                           exclude=exclude or ())
    path = agent_h.write(result, output)
    if quiet:
        return
    m = result.manifest
    table = Table(title=f"open Agent-H → {path}")
    for col in ("circumstance", "react", "general"):
        table.add_column(col, justify="left" if col == "circumstance" else "right")
    for c in agent_h.CIRCUMSTANCES:
        table.add_row(c, *(str(m["by_circumstance_format"][f"{c}/{f}"]) for f in agent_h.FORMATS))
    console.print(table)
    missing = [i["path"] for i in m["inputs"] if i.get("missing")]
    console.print(f"{m['samples']} samples; pools {m['pools']}; manifest → {output / 'manifest.json'}")
    if missing:
        console.print(f"sources not found (skipped): {', '.join(missing)}")
    if "excluded" in m:
        by_source = ", ".join(f"{i['path']} {i['excluded']}" for i in m["inputs"] if i.get("excluded"))
        console.print(f"left out as seen in training ({m['excluded']['training_records']} training records): "
                      f"{m['excluded']['dropped']}" + (f" ({by_source})" if by_source else ""))


@eval_app.command("run", no_args_is_help=True)
@handle_errors
def run_command(
    bench: Annotated[list[str], typer.Option("--bench", help="agent-h, bfcl (single-turn), bfcl.multi_turn or "
                                                             "bfcl.CATEGORY (repeatable).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    model: Annotated[str | None, typer.Option("--model", help="Local model folder (transformers / vLLM).")] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="OpenAI-compatible server URL.")] = None,
    model_name: Annotated[str | None, typer.Option("--model-name", help="Model name sent to --endpoint.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="auto, transformers, vllm or openai.")] = "auto",
    data: Annotated[Path | None, typer.Option("--data", help="Corpora root or BFCL folder (default: "
                                                           "$AGENTFLAN_DATA, else the bfcl-eval wheel).")] = None,
    agent_h_path: Annotated[Path | None, typer.Option("--agent-h", help="A built Agent-H folder (default: "
                                                                       "build one from --data).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Samples per BFCL category / Agent-H "
                                                             "circumstance.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed when Agent-H is built on the fly.")] = 0,
    exclude: Annotated[list[Path] | None, typer.Option(
        "--exclude", help="Training data of the model (files or `agentflan build` folders, repeatable): Agent-H "
                          "leaves out every query that overlaps it.")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Reply length limit.")] = 512,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Local generation batch size.")] = 8,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Parallel HTTP requests.")] = 8,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse cached HTTP replies.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Run benchmarks against a model and score every reply strictly. Writes OUTPUT/replies.jsonl,
    OUTPUT/results.json (every metric) and OUTPUT/results.md.

    Examples:

        agentflan eval run --bench agent-h --bench bfcl --model ./my-model -o runs/my-model --limit 50

        agentflan eval run --bench bfcl.irrelevance --endpoint http://localhost:8000 --model-name qwen -o runs/qwen
    """
    from agentflan.errors import UsageError
    from agentflan.evaluate.backends import make_backend
    from agentflan.evaluate.report import headline
    from agentflan.evaluate.run import collect, run

    if model and endpoint:
        raise UsageError("give either --model or --endpoint, not both")
    if exclude and agent_h_path is not None:
        raise UsageError("--exclude applies when Agent-H is built on the fly; build the --agent-h folder with "
                         "`agentflan eval build-agent-h --exclude ...` instead")
    collected = collect(bench, data=data, agent_h_path=agent_h_path, seed=seed, limit=limit, exclude=exclude or ())
    if not collected.samples and not collected.episodes:
        raise UsageError("the chosen benchmarks hold no samples")
    if model:  # a plain message for a missing folder or a missing extra, not a hub error or a traceback
        require_model_folder(model)
        require_extra("vllm" if backend == "vllm" else "eval", "eval run --model")
    chosen = make_backend(backend, model=model, endpoint=endpoint, model_name=model_name,
                          max_new_tokens=max_new_tokens, batch_size=batch_size, concurrency=concurrency,
                          cache=not no_cache)
    results = run(collected.samples, chosen, output, show_progress=not quiet, collected=collected)
    if quiet:
        return
    table = Table(title=f"eval → {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in headline(results).items():
        table.add_row(key, "–" if value is None else f"{value:.2f}")
    console.print(table)
    console.print(f"{results['scored']} replies scored, {results['errors']} backend errors; "
                  f"replies → {output / 'replies.jsonl'}")


@eval_app.command("compare", no_args_is_help=True)
@handle_errors
def compare_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (or results.json files) of `eval run`.")],
    markdown_out: Annotated[bool, typer.Option("--markdown", help="Print a markdown table.")] = False,
) -> None:
    """Print the headline metrics of several runs side by side.

    Example:

        agentflan eval compare runs/base runs/agent-flan
    """
    from agentflan.evaluate.report import compare, compare_markdown

    if markdown_out:
        typer.echo(compare_markdown(runs))
        return
    header, rows = compare(runs)
    table = Table(title="eval compare")
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(row[0], *("–" if v is None else f"{v:.2f}" for v in row[1:]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
