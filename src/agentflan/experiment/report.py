"""``DIR/report.md``, a self-contained ``DIR/report.html`` (figures inlined as PNG data URIs, no network),
``DIR/report.json`` (every number with its per-seed values and the files it came from) and ``DIR/figures/``.

The same numbers give the same bytes: no dates, no machine paths (files are named relative to DIR).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentflan.experiment import aggregate, paper, plots
from agentflan.experiment.aggregate import BUDGET, CALLS, HALLUCINATION, LOSSES, Metric, Run, load_run, value
from agentflan.pipeline.sinks import write_json_atomic

if TYPE_CHECKING:
    from agentflan.experiment.grid import Grid

FIGURES = {
    "format-content": ("Figure 1 (paper Fig. 2): loss of format tokens against content tokens over steps",
                       "training curves: `loss/instruction_following` (format) and the token-weighted mean of "
                       "`loss/{reasoning,retrieval,understanding,answer}` (content) in"),
    "capabilities": ("Figure 2 (paper Fig. 3): training loss per capability over steps",
                     "training curves: `loss/<capability>` in"),
    "hallucination": ("Figure 3 (paper Fig. 6 / Table 3): hallucination per Agent-H circumstance and format level",
                      "replies scored with the paper's rule (the level's keywords, or a call or call attempt) in"),
}


def gather(grid: Grid) -> tuple[dict[str, list[Run]], Run | None]:
    out = grid.out
    variants = {name: [load_run(name, s, out / "cells" / name / f"seed{s}" / "eval",
                                out / "cells" / name / f"seed{s}" / "train") for s in grid.spec.seeds]
                for name in grid.recipes}
    base = load_run("base", None, out / "base" / "eval", None) if (out / "base" / "eval").is_dir() else None
    return variants, base


def _rows(grid: Grid, variants: dict[str, list[Run]], base: Run | None) -> list[tuple[str, list[Run], str | None]]:
    rows: list[tuple[str, list[Run], str | None]] = []
    if base is not None:
        rows.append(("starting model", [base], "llama2-7b"))
    rows.extend((name, runs, grid.spec.variants[name].paper) for name, runs in variants.items())
    return rows


def table(title: str, metrics: list[Metric], rows: list[tuple[str, list[Run], str | None]], root: Path,
          paper_columns: tuple[str, ...] = (), note: str = "") -> dict[str, Any]:
    """One table: a row per variant, our metrics (mean ± spread) then the paper's columns."""
    header = ["variant", *(m.label for m in metrics)]
    if paper_columns:
        header += ["paper row", *(f"paper {c}" for c in paper_columns)]
    body = []
    for label, runs, paper_key in rows:
        cells = [{"text": label}]
        for m in metrics:
            v = value(runs, m, root)
            cells.append({**v, "metric": m.key, "where": m.path})
        if paper_columns:
            row = paper.ROWS.get(paper_key) if paper_key else None
            cells.append({"text": f"{row.label} ({row.source})" if row else ""})
            cells.extend({"text": row.values.get(c, "") if row else ""} for c in paper_columns)
        body.append(cells)
    return {"title": title, "header": header, "rows": body, "note": note}


def _figure_sources(variants: dict[str, list[Run]], base: Run | None, root: Path, what: str) -> list[str]:
    files: list[str] = []
    for runs in variants.values():
        for r in runs:
            if what == "eval" and r.eval_file is not None:
                files.append(os.path.relpath(r.eval_file.parent / "replies.jsonl", root))
            elif what == "curve" and r.train_folder is not None:
                files.append(os.path.relpath(r.train_folder / "metrics.jsonl", root))
    if what == "eval" and base is not None and base.eval_file is not None:
        files.insert(0, os.path.relpath(base.eval_file.parent / "replies.jsonl", root))
    return files


def _rates(rows: list[tuple[str, list[Run], str | None]]) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    out: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for label, runs, _ in rows:
        cells: dict[str, tuple[float | None, float | None]] = {}
        for cell in plots.NO_CALL_CELLS:
            vals = [v for r in runs if (v := aggregate._num(aggregate._dig(r.metrics, "agent_h", "hallucination", cell,
                                                                          "hallucination"))) is not None]
            cells[cell] = aggregate.mean_spread(vals)
        if any(m is not None for m, _ in cells.values()):
            out[label] = cells
    return out


def _setup(grid: Grid) -> list[str]:
    spec, out = grid.spec, grid.out
    lines = [f"Experiment `{spec.name}`" + (f", preset `{spec.preset}`" if spec.preset else "")
             + f": {len(grid.recipes)} variants × {len(spec.seeds)} seeds ({', '.join(map(str, spec.seeds))}), "
             f"each cell trained on a budget of {spec.budget.tokens:,} input tokens (the same tokens seen, not "
             "the same steps)."]
    if spec.description:
        lines.append(spec.description.strip())
    for name in grid.recipes:
        v = spec.variants[name]
        sets = " ".join(f"`--set {s}`" for s in v.set)
        lines.append(f"- **{name}**: `{Path(v.recipe).name}` {sets}".rstrip() + (f" — {v.description}"
                                                                                  if v.description else ""))
    if spec.pretrain is not None and grid.pretrain is not None and grid.pretrain.model.tiny is not None:
        tiny = grid.pretrain.model.tiny
        corpus = _json(out / "units" / "pretrain.corpus.json").get("result", {})
        lines.append(f"- Starting model: a Llama-architecture model pretrained from scratch here ({tiny.num_layers} "
                     f"layers, hidden {tiny.hidden_size}, vocabulary {tiny.vocab_size}) on "
                     f"{spec.pretrain.tokens:,} tokens of {corpus.get('total_documents', '?')} documents "
                     f"({', '.join(f'{k} {n}' for k, n in corpus.get('documents', {}).items())}) from "
                     f"`{Path(spec.pretrain.corpus.recipe).name}` {' '.join(f'`--set {s}`' for s in spec.pretrain.corpus.set)}"
                     " (`pretrain/corpus.jsonl`); every cell starts from it.")
    elif grid.base_model:
        lines.append(f"- Starting model: `{grid.base_model}`.")
    held = _json(out / "benchmarks" / "held_out" / "manifest.json")
    agent_h = _json(out / "benchmarks" / "agent_h" / "manifest.json")
    bench = spec.benchmarks
    parts = []
    if agent_h:
        parts.append(f"Agent-H {agent_h.get('samples')} samples ({bench.agent_h.limit if bench.agent_h else '?'} "
                     f"queries per circumstance × 2 format levels; {agent_h.get('excluded', {}).get('dropped', 0)} "
                     "candidates left out as seen in a build or the pretraining corpus)")
    if bench.bfcl is not None:
        parts.append(f"BFCL {', '.join(bench.bfcl.categories)}"
                     + (f" (first {bench.bfcl.limit} of each)" if bench.bfcl.limit else ""))
    if "calls" in held:
        parts.append(f"{held['calls']['samples']} held-out calls ({', '.join(f'{k} {n}' for k, n in held['calls']['by_source'].items())})")
    if "loss" in held:
        parts.append(f"loss on {held['loss'].get('agent', 0)} held-out agent trajectories and "
                     f"{held['loss'].get('general', 0)} held-out general answers")
    lines.append(f"- Benchmarks: {'; '.join(parts)}. Held out of every build and of pretraining: "
                 f"{spec.held_out.fraction:g} of the agent and general queries (seed {spec.held_out.seed}), "
                 f"{held.get('held_out_records', '?')} records. Greedy decoding, at most "
                 f"{bench.max_new_tokens} new tokens.")
    return lines


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _data_table(grid: Grid) -> dict[str, Any]:
    kinds = ("agent", "react", "instruct", "negative", "general")
    caps = ("reasoning", "retrieval", "understanding", "instruction_following", "answer", "abstain", "general")
    header = ["variant", "records", *kinds, *(f"{c.replace('instruction_following', 'format')} tokens" for c in caps)]
    rows = []
    counted = ""
    for name in grid.recipes:
        m = _json(grid.out / "builds" / name / "manifest.json")
        after = m.get("capability_tokens", {}).get("after", {})
        counted = m.get("capability_tokens", {}).get("counted_with", counted)
        rows.append([{"text": name}, {"text": f"{m.get('records', 0):,}"},
                     *({"text": f"{m.get('by_kind', {}).get(k, 0):,}"} for k in kinds),
                     *({"text": f"{after.get(c, 0):,.0f}"} for c in caps)])
    return {"title": "Training data per variant", "header": header, "rows": rows,
            "note": f"From `builds/<variant>/manifest.json` (`by_kind`, `capability_tokens.after`: supervised "
                    f"tokens after balancing, counted with {counted.split(':')[0] or 'the build counter'}).",
            }


def build(grid: Grid) -> dict[str, Any]:
    """Everything the report shows, as data (also written as report.json)."""
    root = grid.out
    variants, base = gather(grid)
    rows = _rows(grid, variants, base)
    cell_rows = [r for r in rows if r[0] != "starting model"]
    tables = [
        table("Hallucination (Agent-H)", HALLUCINATION, rows, root, paper.SAME_METRIC,
              "H_ReAct and H_General: % of no-call samples (b, c, d) whose reply shows the level's call keywords "
              "or a call; HScore = 0.5·((100−H_ReAct)+(100−H_General)); the paper's columns use the same "
              "definitions on its own (unreleased) Agent-H. From `*/eval/metrics.json` (`agent_h`)."),
        table("Tool calls", CALLS, rows, root, ("T-Eval",),
              "% of samples. Held-out calls: the first call of held-out agent trajectories (call = tool and "
              "arguments right, tool = right tool); Agent-H (a): relevant tools and a query that needs one; BFCL: "
              "mean accuracy of the call categories, and strict abstention (no call, no attempt) on the "
              "irrelevance ones. The paper's T-Eval is another benchmark of the same ability, shown for "
              "direction only. From `*/eval/metrics.json` (`held_out_calls`, `agent_h`, `bfcl`)."),
        table("Loss per capability", LOSSES, rows, root, (),
              f"Mean cross-entropy. `train`: the training loss of each capability over the last "
              f"{aggregate.FINAL_WINDOW} logged steps (`*/train/metrics.jsonl`); `held-out`: the same held-out agent "
              "trajectories for every model, each token labelled as in training (`*/eval/metrics.json`, "
              "`held_out_loss.agent`); general answers: held-out general questions' reference answers "
              "(`held_out_loss.general`, the general-ability check of the paper's Table 4)."),
        table("Budget", BUDGET, cell_rows, root, ("train tokens",),
              "Input tokens each cell trained on (padding excluded) and how many of them were supervised, from "
              "`*/train/train_summary.json` (`budget`); steps from `*/train/metrics.jsonl`. The paper's train "
              "tokens are its whole training sets (Table 2), not a common budget."),
        _data_table(grid),
    ]
    figures = {}
    curves = {name: runs for name, runs in variants.items() if any(r.curve for r in runs)}
    if curves:
        figures["format-content"] = (plots.format_content(curves), _figure_sources(variants, None, root, "curve"))
        figures["capabilities"] = (plots.capabilities(curves), _figure_sources(variants, None, root, "curve"))
    rates = _rates(rows)
    if rates:
        figures["hallucination"] = (plots.hallucination(rates), _figure_sources(variants, base, root, "eval"))
    return {"title": f"agentflan experiment: {grid.spec.name}", "setup": _setup(grid), "tables": tables,
            "figures": figures, "citation": paper.CITATION}


def write_report(grid: Grid) -> dict[str, Any]:
    content = build(grid)
    figures_dir = grid.out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for name, (png, _) in content["figures"].items():
        (figures_dir / f"{name}.png").write_bytes(png)
    (grid.out / "report.md").write_text(markdown(content), encoding="utf-8")
    (grid.out / "report.html").write_text(page(content), encoding="utf-8")
    write_json_atomic(grid.out / "report.json", {
        "title": content["title"], "setup": content["setup"], "citation": content["citation"],
        "tables": content["tables"],
        "figures": {n: {"file": f"figures/{n}.png", "from": files} for n, (_, files) in content["figures"].items()}})
    return {"tables": len(content["tables"]), "figures": sorted(content["figures"])}


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(content: dict[str, Any], figure_dir: str = "figures") -> str:
    lines = [f"# {content['title']}", "", *content["setup"], ""]
    for t in content["tables"]:
        lines += [f"## {t['title']}", "", "| " + " | ".join(map(_md_cell, t["header"])) + " |",
                  "|" + "|".join("---" if i == 0 else "---:" for i in range(len(t["header"]))) + "|"]
        lines += ["| " + " | ".join(_md_cell(c["text"]) for c in row) + " |" for row in t["rows"]]
        lines += ["", t["note"], ""]
    for name, (_, files) in content["figures"].items():
        title, what = FIGURES[name]
        lines += [f"## {title}", "", f"![{title}]({figure_dir}/{name}.png)", "",
                  f"From {what} " + ", ".join(f"`{f}`" for f in files) + ".", ""]
    lines += [f"Paper numbers: {content['citation']}.", ""]
    return "\n".join(lines)


def page(content: dict[str, Any]) -> str:
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{e(content['title'])}</title><style>",
             "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}",
             "table{border-collapse:collapse;margin:1em 0;font-size:13px}",
             "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}",
             "td:first-child,th:first-child{text-align:left}td[title]{cursor:help}",
             ".note{color:#555;font-size:13px;max-width:1100px}img{max-width:100%}code{background:#f5f5f5}",
             "</style></head><body>", f"<h1>{e(content['title'])}</h1>"]
    items = [s for s in content["setup"] if s.startswith("- ")]
    parts += [f"<p>{_inline(s)}</p>" for s in content["setup"] if not s.startswith("- ")]
    parts.append("<ul>" + "".join(f"<li>{_inline(s[2:])}</li>" for s in items) + "</ul>")
    for t in content["tables"]:
        parts.append(f"<h2>{e(t['title'])}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in t["header"])
                     + "</tr>")
        for row in t["rows"]:
            cells = []
            for c in row:
                tip = ""
                if c.get("files"):
                    seeds = ", ".join(f"seed {s}: {v:g}" if v is not None else f"seed {s}: –"
                                      for s, v in c["seeds"].items())
                    tip = f" title='{e(c['where'] + ' in ' + ', '.join(c['files']) + ' (' + seeds + ')', quote=True)}'"
                cells.append(f"<td{tip}>{e(c['text'])}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append(f"</table><p class='note'>{_inline(t['note'])}</p>")
    for name, (png, files) in content["figures"].items():
        title, what = FIGURES[name]
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<h2>{e(title)}</h2><img alt='{e(title, quote=True)}' src='data:image/png;base64,{data}'>"
                     f"<p class='note'>From {_inline(what)} " + ", ".join(f"<code>{e(f)}</code>" for f in files)
                     + ".</p>")
    parts.append(f"<p class='note'>Paper numbers: {e(content['citation'])}.</p></body></html>")
    return "\n".join(parts) + "\n"


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** in an escaped line of HTML."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", escaped)
