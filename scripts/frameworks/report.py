"""The table of scripts/check_frameworks.sh: one line per framework and export, from OUT/*/results.jsonl.

    python report.py OUT_DIR      → OUT_DIR/report.md (also printed); exit 1 when a check failed

A check fails when a framework drops a row, or changes one on loading, or supervises a token against the export's own flags (the masks the
export says it holds, token for token), or shows the tools twice.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def held(r: dict) -> tuple[str, bool]:
    """(what the table says about masks, whether the framework honoured the export's flags token for token)."""
    tokens = r.get("tokens_vs_export") or r.get("tokens")
    if not tokens:
        return r["masks"], True
    bad = tokens["trained_but_masked"] + tokens["masked_but_supervised_expected"]
    canonical = r.get("tokens_vs_canonical") or (r.get("tokens") if r["masks"] == "parts" else None)
    lost = "" if canonical is None else f"; {canonical['trained_but_masked']:,} masked tokens trained"
    return (f"{r['masks']}: {tokens['match']:,} of {tokens['match'] + bad:,} content tokens as flagged"
            f" ({tokens['boundary']:,} at piece edges){lost}"), bad == 0


def main(out: Path) -> int:
    lines = ["| framework | versions | export | rows | loaded | dropped | steps | masks honoured | tools twice |",
             "|---|---|---|---|---|---|---|---|---|"]
    ok = True
    for path in sorted(out.glob("*/results.jsonl")):
        for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            masks, honoured = held(r)
            twice = r.get("tools_described_twice", "—")
            ok &= (honoured and r["dropped"] == 0 and r["steps"] == 2 and not r.get("rows_changed_on_loading")
                   and (twice in (0, "—") or r.get("tools_twice_expected", False)))
            if r.get("tools_twice_expected"):
                twice = f"{twice} (expected: lossless mirror)"
            versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
            lines.append(f"| {r['framework']} | {versions} | {r['export']} | {r['rows']:,} | {r['loaded']:,} | "
                         f"{r['dropped']} | {r['steps']} | {masks} | {twice} |")
    table = "\n".join(lines) + "\n"
    (out / "report.md").write_text(table, encoding="utf-8")
    print(table)
    print("all checks passed" if ok else "CHECK FAILED: see the rows above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
