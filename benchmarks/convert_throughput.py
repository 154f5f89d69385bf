"""Convert throughput and memory, measured in one run.

1. Throughput: `agentflan convert` (react → openai, through the canonical model, with validation, rejects and
   manifest) vs a bare `json.loads` + `json.dumps` of the same lines. Prints the ratio.
2. Streaming: peak memory of converting the corpus repeated 1× and 8× (each in a fresh process). A streaming
   converter's peak barely moves; one that holds records grows ~8×.
3. Processes: `convert --workers N` (N = the machine's cores) against one process on the corpus repeated 16×
   (the workers' start-up is paid once, so larger inputs gain more).

    python benchmarks/convert_throughput.py            # FireAct multitask from $AGENTFLAN_DATA
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentflan.paths import data_root

SOURCE = "FireAct/gpt_format/multitask.jsonl"


def _repeat(src: Path, times: int, out: Path) -> Path:
    lines = src.read_text(encoding="utf-8").splitlines()
    with out.open("w", encoding="utf-8") as f:
        for _ in range(times):
            f.write("\n".join(lines) + "\n")
    return out


def _bare(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as g:
        for line in f:
            g.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")
    return time.perf_counter() - start


def _ours(src: Path, dst: Path, workers: int = 1) -> float:
    from agentflan.pipeline.convert import convert

    start = time.perf_counter()
    convert([src], "auto", "openai", dst, show_progress=False, workers=workers)
    return time.perf_counter() - start


_PEAK = """
import resource, sys
from agentflan.pipeline.convert import convert
convert([sys.argv[1]], "auto", "openai", sys.argv[2], show_progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kib(src: Path, dst: Path) -> int:
    out = subprocess.run([sys.executable, "-c", _PEAK, str(src), str(dst)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    src = data_root() / SOURCE
    if not src.exists():
        sys.exit(f"{src} not found: set AGENTFLAN_DATA to the real corpora")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        x4 = _repeat(src, 4, t / "x4.jsonl")
        records = sum(1 for _ in x4.open())
        _bare(x4, t / "warm.jsonl")
        bare = min(_bare(x4, t / "bare.jsonl") for _ in range(2))
        ours = min(_ours(x4, t / "ours.jsonl") for _ in range(2))
        print(f"records: {records}")
        print(f"bare json read+write: {records / bare:,.0f} records/s")
        print(f"agentflan convert:    {records / ours:,.0f} records/s")
        print(f"ratio ours/bare throughput: {bare / ours:.3f} (ours takes {ours / bare:.1f}x the time)")
        x1 = _repeat(src, 1, t / "x1.jsonl")
        x8 = _repeat(src, 8, t / "x8.jsonl")
        p1 = _peak_kib(x1, t / "p1.jsonl")
        p8 = _peak_kib(x8, t / "p8.jsonl")
        print(f"peak RSS 1x input ({x1.stat().st_size / 1e6:.1f} MB): {p1 / 1024:.0f} MiB")
        print(f"peak RSS 8x input ({x8.stat().st_size / 1e6:.1f} MB): {p8 / 1024:.0f} MiB")
        print(f"memory ratio 8x/1x: {p8 / p1:.2f} (streaming: close to 1)")
        x16 = _repeat(src, 16, t / "x16.jsonl")
        n = max(2, os.cpu_count() or 2)
        single = min(_ours(x16, t / "w1.jsonl") for _ in range(2))
        several = min(_ours(x16, t / "wn.jsonl", workers=n) for _ in range(2))
        same = (t / "w1.jsonl").read_bytes() == (t / "wn.jsonl").read_bytes()
        print(f"--workers {n} on {records * 4:,} records: {single:.2f} s -> {several:.2f} s, speed-up "
              f"{single / several:.2f}x; output identical: {same}")


if __name__ == "__main__":
    main()
