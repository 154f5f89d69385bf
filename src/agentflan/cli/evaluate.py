"""``agentflan eval``: classify replies, build the open Agent-H, run benchmarks against a model, compare runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agentflan.calls.registry import NAMES
from agentflan.cli._common import console, handle_errors, new_table, require_extra, require_model_folder

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


_SYNTAX_HELP = ("Read only this call syntax, for a model whose syntax you know (structured tool_calls are read "
                "either way): " + ", ".join(n for n in NAMES if n != "openai") + " (docs/evaluation.md).")
_OVERWRITE_FILE = ("Replace OUTPUT even when no earlier run of this command wrote it (or when it is the input: the "
                   "output is written whole, then moved into place).")
_OVERWRITE_DIR = "Replace OUTPUT even when it is not empty and no earlier run of this command wrote it."
_PARSER_HELP = ("Read calls with vLLM's tool parser NAME first (as `vllm serve --tool-call-parser NAME`); needs "
                "vLLM and the model's tokenizer.")


def _reader(call_syntax: str | None, call_parser: str | None, tokenizer: object | None) -> object:
    """The classifier's reader for the command-line options (a `UsageError` for an unknown syntax, or for
    --call-parser without vLLM)."""
    from agentflan.calls import NAMES
    from agentflan.errors import UsageError
    from agentflan.evaluate.callparsers import make_parser
    from agentflan.evaluate.classify import Reader

    if call_syntax is not None and call_syntax not in NAMES:
        raise UsageError(f"unknown --call-syntax {call_syntax!r}; choose from: {', '.join(NAMES)}")
    if call_syntax is not None and call_parser is not None:
        raise UsageError("give either --call-syntax or --call-parser, not both")
    parser = make_parser(call_parser, tokenizer) if call_syntax is None else None
    return Reader(syntax=call_syntax, parser=parser)


def _load_tokenizer(path: str) -> object:
    from agentflan.errors import InputError, UsageError

    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise UsageError("--tokenizer needs transformers: pip install agentflan[eval]") from None
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load tokenizer {path}: {exc}") from None


@eval_app.command("classify", no_args_is_help=True)
@handle_errors
def classify_command(
    input_file: Annotated[Path, typer.Argument(help='JSONL lines {"id", "reply", "tools"?, "expected"?}.')],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output JSONL (input + outcome, calls); "
                                                "default: INPUT_FILE's name with .classified.jsonl.")] = None,
    call_syntax: Annotated[str | None, typer.Option("--call-syntax", help=_SYNTAX_HELP)] = None,
    call_parser: Annotated[str | None, typer.Option("--call-parser", help=_PARSER_HELP)] = None,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="The model's tokenizer (a folder): for --call-parser, and its response_template, "
                            "when it has one, is used to read calls first (transformers' parse_response).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=_OVERWRITE_FILE)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Classify model replies strictly: abstain, empty, call, call_invented_tool, args_invalid, malformed (and
    call_correct / call_wrong_tool / call_wrong_args when "expected" is given; "expected": [] = no call is right).

    Reads calls in every syntax models and corpora write: OpenAI tool_calls, the Agent-FLAN conversation
    (tool named in a sentence, arguments in the next block or turn), Hermes/Qwen <tool_call>, Qwen3 XML,
    Llama 3, Mistral, DeepSeek, InternLM2, Granite, Phi, Gemma, Gorilla, glaive, API-Bank, Qwen-Agent, ReAct,
    JSON, Python-style and name\\[args]. A call named or opened but not read is malformed, never abstain. A
    "reply" may be a list of consecutive assistant turns. Bad lines go to OUTPUT.rejects.jsonl with file, line
    and reason.

    Example:

        agentflan eval classify replies.jsonl -o out/classified.jsonl

        agentflan eval classify replies.jsonl --call-syntax mistral
    """
    from agentflan.evaluate.classify_file import classify_file

    reader = _reader(call_syntax, call_parser, _load_tokenizer(tokenizer) if tokenizer else None)
    if output is None:
        output = input_file.with_name(input_file.name.removesuffix(".jsonl") + ".classified.jsonl")
    counts, rejects = classify_file(input_file, output, show_progress=not quiet, reader=reader,  # type: ignore[arg-type]
                                    overwrite=overwrite, argv=sys.argv[1:])
    if quiet:
        return
    table = new_table(f"classify → {output}")
    table.add_column("outcome")
    table.add_column("replies", justify="right")
    for outcome, n in counts.to_dict()["outcomes"].items():
        table.add_row(outcome, str(n))
    console.print(table)
    console.print(f"read {counts.read} = written {counts.written} + rejected {counts.rejected} → {rejects}")
    if counts.syntaxes:
        console.print("call syntaxes: " + ", ".join(f"{k}={v}" for k, v in counts.syntaxes.most_common())
                      + f"; malformed by the safety rule: {counts.safety_rule}")
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
    overwrite: Annotated[bool, typer.Option("--overwrite", help=_OVERWRITE_DIR)] = False,
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
    from agentflan.pipeline.inputs import Inputs

    inputs = Inputs()
    result = agent_h.build(data or data_root(), seed=seed, limit=agent_h.DEFAULT_LIMIT if limit is None else limit,
                           exclude=exclude or (), inputs=inputs)
    path = agent_h.write(result, output, inputs, overwrite=overwrite, argv=sys.argv[1:])
    if quiet:
        return
    m = result.manifest
    table = new_table(f"open Agent-H → {path}")
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
    call_syntax: Annotated[str | None, typer.Option("--call-syntax", help=_SYNTAX_HELP)] = None,
    call_parser: Annotated[str | None, typer.Option("--call-parser", help=_PARSER_HELP)] = None,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="The model's tokenizer, for --call-parser with --endpoint (default: --model's).")] = None,
    max_continuations: Annotated[int, typer.Option(
        "--max-continuations", help="Extra assistant turns asked for when a reply ends on a tool-naming sentence "
                                    "(the Agent-FLAN layout); 0: never.")] = 3,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=_OVERWRITE_DIR)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Run benchmarks against a model and score every reply strictly. Writes OUTPUT/replies.jsonl (each reply
    with the call syntax it was read as), OUTPUT/results.json (every metric, the share of each call syntax),
    OUTPUT/results.md and OUTPUT/manifest.json (every benchmark file read, with its sha256). OUTPUT appears only
    when complete; an existing one is replaced only when an earlier `eval run` wrote it (or with --overwrite).

    Examples:

        agentflan eval run --bench agent-h --bench bfcl --model ./my-model -o runs/my-model --limit 50

        agentflan eval run --bench bfcl.irrelevance --endpoint http://localhost:8000 --model-name qwen -o runs/qwen
    """
    from agentflan.errors import UsageError
    from agentflan.evaluate.backends import make_backend
    from agentflan.evaluate.run import collect, run

    _check_run_options(model, endpoint, max_continuations, call_syntax, call_parser)
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
    model_tokenizer = _load_tokenizer(tokenizer) if tokenizer else getattr(chosen, "tokenizer", None)
    reader = _reader(call_syntax, call_parser, model_tokenizer)
    results = run(collected.samples, chosen, output, show_progress=not quiet, collected=collected,
                  reader=reader, max_continuations=max_continuations,  # type: ignore[arg-type]
                  overwrite=overwrite, argv=sys.argv[1:])
    if not quiet:
        _print_run_summary(results, output)


def _check_run_options(model: str | None, endpoint: str | None, max_continuations: int, call_syntax: str | None,
                       call_parser: str | None) -> None:
    """Usage errors of `eval run`, before any work."""
    from agentflan.errors import UsageError

    if model and endpoint:
        raise UsageError("give either --model or --endpoint, not both")
    if max_continuations < 0:
        raise UsageError("--max-continuations must be 0 or more")
    _reader(call_syntax, None, None)  # an unknown syntax is a usage error before any work
    if call_parser is not None:
        from agentflan.evaluate.callparsers import vllm_installed

        if not vllm_installed():
            _reader(None, call_parser, None)  # the one-line message, before anything is loaded


def _print_run_summary(results: dict[str, Any], output: Path) -> None:
    from agentflan.evaluate.report import headline

    table = new_table(f"eval → {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in headline(results).items():
        table.add_row(key, "–" if value is None else f"{value:.2f}")
    console.print(table)
    console.print(f"{results['scored']} replies scored, {results['errors']} backend errors; "
                  f"replies → {output / 'replies.jsonl'}")
    reading = results["reading"]
    if reading["replies"]:
        console.print("call syntaxes: " + ", ".join(f"{k} {v['share']}%" for k, v in reading["syntax"].items())
                      + f"; malformed by the safety rule: {reading['safety_rule_malformed']}; continued: "
                        f"{reading['continued']}")


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
    table = new_table("eval compare")
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(row[0], *("–" if v is None else f"{v:.2f}" for v in row[1:]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
