"""results.json → markdown tables, and several runs side by side (`agentflan eval compare`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentflan.errors import InputError

# The outcome columns shown in tables (every outcome stays in results.json).
_SHOWN = ("abstain", "empty", "call", "call_correct", "call_wrong_tool", "call_wrong_args", "args_invalid",
          "call_invented_tool", "malformed")
_AGENT_H_HEADLINE = ("HScore", "H_ReAct", "H_General", "react_keyword_rate", "general_keyword_rate",
                     "react_strict_no_call_rate", "general_strict_no_call_rate", "call_accuracy")


def headline(results: dict[str, Any]) -> dict[str, float | None]:
    """The comparable numbers of one run, flat: ``agent-h.HScore``, ``bfcl.irrelevance.no_call_rate``..."""
    out: dict[str, float | None] = {}
    bench = results.get("benchmarks", {})
    if "agent-h" in bench:
        for key in _AGENT_H_HEADLINE:
            out[f"agent-h.{key}"] = bench["agent-h"].get(key)
    for category, entry in bench.get("bfcl", {}).items():
        for key in ("accuracy", "no_call_rate", "no_call_rate_bfcl", "call_rate", "mean_accuracy",
                    "mean_no_call_rate", "mean_multi_turn_accuracy"):
            if key in entry:
                out[f"bfcl.{category}.{key}"] = entry[key]
    return out


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    backend = results.get("backend", {})
    parts = [f"# Evaluation: {backend.get('model', '?')} ({backend.get('backend', '?')})", "",
             f"{results.get('scored', 0)} replies scored, {results.get('errors', 0)} backend errors, "
             f"rejected inputs: {results.get('rejected') or 'none'}.", ""]
    parts += _reading(results.get("reading"))
    bench = results.get("benchmarks", {})
    if "agent-h" in bench:
        ah = bench["agent-h"]
        parts += ["## Open Agent-H", "",
                  _table(["metric", "value"], [[k, ah.get(k)] for k in _AGENT_H_HEADLINE]), "",
                  "Strict outcomes (% of replies) per circumstance / format level:", "",
                  _table(["circumstance/format", "n", *_SHOWN],
                         [[k, v["n"], *(v["outcome_rates"][o] for o in _SHOWN)]
                          for k, v in ah.get("by_circumstance_format", {}).items()]), ""]
    if "bfcl" in bench:
        rows = []
        for category, entry in bench["bfcl"].items():
            if category == "summary":
                continue
            score_name = next(k for k in ("accuracy", "no_call_rate", "call_rate") if k in entry)
            rates = entry.get("outcome_rates", {})
            rows.append([category, entry["n"], score_name, entry[score_name], entry.get("no_call_rate_bfcl"),
                         *(rates.get(o) for o in _SHOWN)])
        parts += ["## BFCL v4", "", _table(["category", "n", "score", "value", "BFCL-style no-call", *_SHOWN], rows),
                  ""]
        failures = [[c, e["n"], k, v] for c, e in bench["bfcl"].items() if "failures" in e
                    for k, v in e["failures"].items()]
        if failures:
            parts += ["Multi-turn episodes that failed, by the first check they failed:", "",
                      _table(["category", "n", "failed check", "episodes"], failures), ""]
        if "summary" in bench["bfcl"]:
            parts += [_table(["summary", "value"], list(bench["bfcl"]["summary"].items())), ""]
    return "\n".join(parts)


def _reading(reading: dict[str, Any] | None) -> list[str]:
    if not reading or not reading.get("replies"):
        return []
    rows = [[name, v["n"], v["share"]] for name, v in reading["syntax"].items()]
    return ["## How the replies were read", "",
            _table(["call syntax", "replies", "% of replies"], rows), "",
            f"Malformed by the safety rule (a call named or opened, but none could be read): "
            f"{reading['safety_rule_malformed']}. Continued for their arguments (the reply ended on a "
            f"tool-naming sentence): {reading['continued']}.", ""]


def load_results(path: Path) -> dict[str, Any]:
    file = path / "results.json" if path.is_dir() else path
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{file}: no results.json (run `agentflan eval run -o {path}` first)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def compare(paths: list[Path]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): one row per headline metric, one column per run; metrics missing from a run show –."""
    runs = [headline(load_results(p)) for p in paths]
    keys: list[str] = []
    for run in runs:
        keys.extend(k for k in run if k not in keys)
    return ["metric", *(str(p) for p in paths)], [[k, *(run.get(k) for run in runs)] for k in keys]


def compare_markdown(paths: list[Path]) -> str:
    header, rows = compare(paths)
    return _table(header, rows)
