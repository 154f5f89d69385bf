"""``agentflan audit``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agentflan.cli._common import (
    ExecutorOption,
    RayAddressOption,
    WorkersOption,
    console,
    err_console,
    handle_errors,
    new_table,
)


@handle_errors
def audit_command(
    inputs: Annotated[list[Path], typer.Argument(help="Corpus files or directories, any supported format; each "
                                                      "argument is one source in the report.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for report.json and report.html.")],
    against: Annotated[list[Path] | None, typer.Option("--against", help="Evaluation set(s) to check for query "
                                                       "overlap (repeatable), e.g. BFCL question files.")] = None,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="Hugging Face tokenizer name or path for "
                                                  "token counts; default: a stated regex approximation.")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 when a rule holds, e.g. "
                                                "'invalid_calls>0.01,contamination>0' (metrics: see docs/audit.md)."
                                                )] = None,
    from_format: Annotated[str, typer.Option("--from", help="Input format, or 'auto' to detect per file.")] = "auto",
    near_threshold: Annotated[float, typer.Option("--near-threshold", min=0.0, max=1.0,
                                                  help="Estimated Jaccard similarity for near duplicates.")] = 0.8,
    ngram: Annotated[int, typer.Option("--ngram", min=1, help="Word n-gram size for contamination.")] = 8,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace DIR even when it is not empty and no "
                                                                "earlier audit wrote it.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    workers: WorkersOption = 1,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Diagnose agent corpora: format entanglement, capability balance, negative coverage, validity,
    duplicates, contamination and shape, in DIR/report.json and a self-contained DIR/report.html (and
    DIR/manifest.json: every file read, with its sha256). DIR appears only when complete; an existing DIR is
    replaced only when an earlier audit wrote it (or with --overwrite).

    Unreadable records are counted and shown, never fatal. Exit 0 when done, 1 when a --fail-on rule trips or
    an input cannot be opened, 2 on bad usage (including a malformed --fail-on rule).

    Example:

        agentflan audit ../shared/data/FireAct/gpt_format -o out/audit

        agentflan audit big-corpus/ -o out/audit-big --executor process --workers 4

        agentflan audit out/agent-flan/canonical.jsonl -o out/audit-build --against ../shared/data/gorilla/bfcl_v4/BFCL_v4_simple_python.json --fail-on 'invalid_calls>0.01,negative_circumstances<4'
    """
    from agentflan.audit.rules import parse_rules
    from agentflan.audit.run import AuditOptions, run_audit

    rules = parse_rules(fail_on)  # usage errors before any reading
    opts = AuditOptions(fmt=from_format, against=tuple(against or ()), tokenizer=tokenizer, rules=tuple(rules),
                        near_threshold=near_threshold, ngram=ngram, show_progress=not quiet, overwrite=overwrite,
                        argv=sys.argv[1:], executor=executor, workers=workers, ray_address=ray_address)
    result = run_audit(list(inputs), output, opts)
    r = result.report
    if not quiet:
        table = new_table("audit", show_lines=False)
        for col in ("source", "records", "rejected", "format share", "tools, no call"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for src, s in r["sources"].items():
            fmt = r["format"]["by_source"].get(src, {}).get("format_share", 0.0)
            neg = r["negative_coverage"]["by_source"].get(src, {}).get("tools_no_call", 0)
            table.add_row(src, str(s["accepted"]), str(s["rejected"]), f"{fmt:.1%}", str(neg))
        m = r["metrics"]
        table.add_row("[bold]all[/bold]", str(r["records"]), str(r["rejected"]), f"{m['format_share']:.1%}",
                      str(r["negative_coverage"]["tools_no_call"]))
        console.print(table)
        contamination = (f"{m['contamination']:.1%} (queries), {m['tool_contamination']:.1%} (tools)"
                         if r["contamination"]["checked"] else "not checked")
        console.print(f"invalid calls {m['invalid_calls']:.1%} · duplicates {m['duplicates']:.1%} · "
                      f"negative circumstances {m['negative_circumstances']}/4 · contamination {contamination}")
        console.print(f"report → {result.json_path} and {result.html_path}")
        for a in r["against"]:
            if a["rejected"]:
                err_console.print(f"[yellow]warning:[/yellow] --against {a['path']}: {a['rejected']} of {a['read']} "
                                  f"records unreadable ({', '.join(a['rejects_by_reason'])}), not checked",
                                  highlight=False)
    if result.tripped:
        for t in result.tripped:
            err_console.print(f"[red]--fail-on tripped:[/red] {t['rule']} (value {t['value']})", highlight=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit", no_args_is_help=True)(audit_command)
