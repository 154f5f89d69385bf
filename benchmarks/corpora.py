"""Workers on every shared corpus: `convert` in one process against `--workers 2`, interleaved (both once per
round, in turn, each in a fresh process), on each corpus of the shared data as it is and on larger replicas with
fresh ids: one file's records repeated inside it (FireAct hotpotqa, BFCL live_multiple, the ToolLLaMA array),
or a folder copied whole as sibling trees (API-Bank, the whole shared data: many small files of mixed formats,
whose readers scan their siblings). Prints, per input, its size, both wall times (median), the per-round speed-up
(range and median) and what the two-worker run did (`executor.ran`, and its note); it stops if the two runs'
outputs differ.

    AGENTFLAN_DATA=../shared/data python benchmarks/corpora.py              # 3 rounds
    AGENTFLAN_DATA=../shared/data python benchmarks/corpora.py --rounds 5 --only api-bank data

The replicas are made once under a temporary folder (about 130 MB) and removed at the end. agentflan's bytecode is
written first, as an installed package has it (`scale.compile_package`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package: `scale` is found so
from agentflan.paths import data_root
from scale import _copy_file, compile_package, copy_records, remove_output, run

FOLDERS = ["FireAct", "ToolBench", "StableToolBench", "ToolTalk", "api-bank", "gorilla", "agent-data-protocol",
           "self-instruct", "FastChat"]
# (name, file under the data root, times): a file's records repeated inside it
REPEATED = [("hotpotqa 30×", "FireAct/gpt_format/hotpotqa.jsonl", 30),
            ("BFCL live_multiple 4×", "gorilla/bfcl_v4/BFCL_v4_live_multiple.json", 4),
            ("ToolLLaMA array 500×", "ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json", 500)]
# (name, folder under the data root or "" for all of it, times): copied whole as sibling trees
SIBLINGS = [("api-bank 20×", "api-bank", 20), ("all shared data 5×", "", 5)]


def _siblings(src: Path, dst: Path, times: int) -> None:
    """``src`` copied ``times`` over as ``dst/r0``, ``dst/r1``...: JSON and JSON Lines files with fresh ids, the
    rest (licences, READMEs, the manifest) as they are."""
    for i in range(times):
        for f in sorted(src.rglob("*")):
            if not f.is_file():
                continue
            out = dst / f"r{i}" / f.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                if f.suffix in (".json", ".jsonl") and f.stat().st_size:
                    _copy_file(f, out, i)
                    continue
            except (ValueError, UnicodeDecodeError):
                pass  # not JSON after all: copied as it is, and convert rejects it as it would the original
            shutil.copyfile(f, out)


def _inputs(root: Path, work: Path, only: list[str]) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = [(name, root / name) for name in FOLDERS]
    for name, rel, times in REPEATED:
        out = work / Path(rel).name
        copy_records(root / rel, out, times)
        found.append((name, out))
    for name, rel, times in SIBLINGS:
        out = work / (rel or "all")
        _siblings(root / rel if rel else root, out, times)
        found.append((name, out))
    return [(name, path) for name, path in found if not only or any(o in name for o in only)]


def _size(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=[], help="inputs whose name contains one of these")
    args = ap.parse_args()
    root = data_root()
    if not root.is_dir():
        sys.exit(f"no shared data at {root} (set AGENTFLAN_DATA)")
    compile_package(Path(__file__).resolve().parent.parent / "src")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="agentflan-corpora-") as tmp:
        work = Path(tmp)
        inputs = _inputs(root, work, args.only)
        os.sync()  # the replicas' writeback would otherwise land in the first rounds' timings
        before = os.getloadavg()
        times: dict[tuple[str, int], list[float]] = {}
        did: dict[str, set[str]] = {}
        for _ in range(args.rounds):
            for name, path in inputs:
                outs = []
                for workers in (1, 2):
                    out = work / f"out{workers}.jsonl"
                    argv = [sys.executable, "-m", "agentflan", "convert", str(path), "--to", "openai", "-o",
                            str(out), "-q", "--workers", str(workers)]
                    remove_output(argv)
                    wall, _, _ = run(argv, env)
                    times.setdefault((name, workers), []).append(wall)
                    outs.append(out)
                if outs[0].read_bytes() != outs[1].read_bytes():
                    sys.exit(f"{name}: the two-worker output differs from one process's")
                executor = json.loads(Path(f"{outs[1]}.manifest.json").read_text())["executor"]
                note = executor.get("note", "")
                did.setdefault(name, set()).add(f"{executor['ran']}" + (f": {note.split(';')[0]}" if note else ""))
        after = os.getloadavg()
        print(f"rounds: {args.rounds}; load average before: {' '.join(f'{x:.2f}' for x in before)}, "
              f"after: {' '.join(f'{x:.2f}' for x in after)}\n")
        print("| input | MiB | one process s | `--workers 2` s | speed-up (median) | what the two-worker run did |")
        print("|---|---|---|---|---|---|")
        for name, path in inputs:
            one, two = times[(name, 1)], times[(name, 2)]
            ratios = [a / b for a, b in zip(one, two, strict=True)]
            print(f"| {name} | {_size(path):.1f} | {statistics.median(one):.2f} | {statistics.median(two):.2f} | "
                  f"{min(ratios):.2f}–{max(ratios):.2f}× ({statistics.median(ratios):.2f}) | "
                  f"{'; '.join(sorted(did[name]))} |")


if __name__ == "__main__":
    main()
