"""Check one `agentflan train` output directory: every capability's loss finite at every logging step, and the
loss lower at the end than at the start. Prints the first and last value of each metric; exits 1 on failure.

    python benchmarks/check_run.py runs/tiny-cpu
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the train output_dir (holds metrics.jsonl and train_summary.json)")
    run = ap.parse_args().run
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in rows if "loss" in r and "train_runtime" not in r]
    if len(steps) < 2:
        print(f"{run}: {len(steps)} logging steps in metrics.jsonl, need at least 2")
        return 1
    keys = sorted({k for r in steps for k in r if k.startswith("loss/")})
    capabilities = [k for k in keys if not k.startswith("loss/source/")]

    def fmt(v: object) -> str:
        return f"{v:8.4f}" if isinstance(v, float) else f"{'-':>8}"

    print(f"{'metric':32} {'first':>8} {'last':>8}")
    for k in ["loss", *keys]:
        print(f"{k:32} {fmt(steps[0].get(k))} {fmt(steps[-1].get(k))}")
    bad = [(r["step"], k) for r in steps for k in capabilities
           if k in r and (r[k] is None or not math.isfinite(r[k]))]
    summary = json.loads((run / "train_summary.json").read_text())
    fell = steps[-1]["loss"] < steps[0]["loss"]
    print(f"bf16: {summary['config']['bf16']} | lora: {summary['config'].get('lora') is not None} | steps: "
          f"{summary['result']['global_step']} | train_runtime s: {summary['result'].get('train_runtime')}")
    print(f"finite per-capability loss at every step: {not bad} | loss fell: {fell}")
    return 1 if bad or not fell else 0


if __name__ == "__main__":
    sys.exit(main())
