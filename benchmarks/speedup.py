"""Speed-up of `convert --workers N` over one process, with its uncertainty: each round runs the one-process
command and the N-worker one on the same input, one after the other (their order alternating from round to
round), in fresh processes, and the speed-up is taken round by round. Many short paired rounds answer "is it at
least 1.6× faster?" on a host whose speed wanders far more than that between runs: on the development machine a
plain Python loop alone took 0.37–0.67 s from round to round (docs/benchmarks.md, run W6), and the 5-round
medians of `scale.py` moved from 1.46× to 1.81× between hours. The median's 95% interval is a percentile
bootstrap over the rounds (`scale.median_interval`).

    python benchmarks/speedup.py                               # ReAct 10×, 20 rounds; AGENTFLAN_DATA: the corpora
    python benchmarks/speedup.py --scales 1 10 30 --kinds react openai --rounds 20
    python benchmarks/speedup.py --input my.jsonl --workers 4 --rounds 10
    python benchmarks/speedup.py --json run1.json     # and run2.json...: every round, to pool runs (`--pool`)
    python benchmarks/speedup.py --pool run1.json run2.json

The inputs are FireAct ``multitask.jsonl`` (ReAct) ``--scales`` times over with fresh ids, as `scale.py` makes
them, and (``--kinds openai``) the openai file convert makes of each; or one ``--input`` as it is. Each command
is ``convert INPUT --to openai -q``, with ``--workers N`` for the second; "ran" says which executor the N-worker
command used in the rounds (its manifest: ``local`` when it judged that workers would not pay off). With
``--ceiling`` each round also times a plain Python loop alone and two copies of it at once: the speed-up two
processes that share nothing get from the machine in the same rounds (the row's "1 process" column is twice the
loop alone).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# benchmarks/ is not a package: found through sys.path
from agentflan.paths import data_root
from scale import REACT, compile_package, copy_records, median_interval, remove_output, run, run_header, span

# The machine's own ceiling (`--ceiling`): about 0.4-0.6 s of a plain Python loop, which shares nothing.
LOOP = "s = 0\nfor i in range(3_000_000):\n    s += i * i"
CEILING = "ceiling: a Python loop, twice in turn vs two at once"
Walls = dict[str, tuple[list[float], list[float]]]  # by input: (one process's, the workers') wall s a round


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scales", type=int, nargs="+", default=[10], help="times over the ReAct file (default 10)")
    ap.add_argument("--kinds", nargs="+", choices=["react", "openai"], default=["react"],
                    help="the ReAct file and/or its openai conversion")
    ap.add_argument("--input", type=Path, help="time this file instead (any format convert reads)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--ceiling", action="store_true",
                    help="also time a plain Python loop alone and two copies at once in every round: the speed-up "
                         "the machine itself gives two processes that share nothing")
    ap.add_argument("--json", type=Path, help="also write every round's wall times here, by input (to pool runs)")
    ap.add_argument("--pool", type=Path, nargs="+", help="print the table of these --json files' rounds together "
                                                         "(runs nothing)")
    args = ap.parse_args()
    if args.pool:
        walls, ran = _pooled(args.pool)
        print(f"pooled: {', '.join(str(p) for p in args.pool)}\n")
        _table(walls, ran, args.workers)
        return
    import agentflan

    compile_package(Path(agentflan.__file__).parent)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="agentflan-speedup-") as tmp:
        work = Path(tmp)
        inputs = [(str(args.input), args.input)] if args.input else _replicas(args.scales, args.kinds, work)
        walls = {name: ([], []) for name, _ in inputs}
        ran: dict[str, set[str]] = {name: set() for name, _ in inputs}
        before = os.getloadavg()
        for r in range(args.rounds):
            for n, (name, path) in enumerate(inputs):
                one = _command(path, work / f"one{n}.jsonl", [])
                many = _command(path, work / f"many{n}.jsonl", ["--workers", str(args.workers)])
                pair = [(one, walls[name][0]), (many, walls[name][1])]
                for argv, acc in pair if r % 2 == 0 else pair[::-1]:
                    remove_output(argv)
                    acc.append(run(argv, env)[0])
                ran[name].add(_ran(work / f"many{n}.jsonl"))
            if args.ceiling:
                loop = [sys.executable, "-c", LOOP]
                alone, both = run(loop, env)[0], run(loop, env, loop)[0]
                walls.setdefault(CEILING, ([], []))
                walls[CEILING][0].append(2 * alone)  # the two one after the other
                walls[CEILING][1].append(both)
                ran.setdefault(CEILING, set()).add("-")
            print(f"round {r + 1} of {args.rounds} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        after = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps({name: {"one": one, "many": many, "ran": sorted(ran[name])}
                                         for name, (one, many) in walls.items()}, indent=1), encoding="utf-8")
    print(run_header(args.rounds, before, after) + "\n")
    _table(walls, ran, args.workers)


def _table(walls: Walls, ran: dict[str, set[str]], workers: int) -> None:
    print(f"| input | rounds | 1 process s (median) | {workers} workers s (median) | ran | speed-up per round | "
          "median [95% interval] | total / total |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (one, many) in walls.items():
        ratios = [a / b for a, b in zip(one, many, strict=True)]
        low, high = median_interval(ratios)
        print(f"| {name} | {len(ratios)} | {span(one)} ({statistics.median(one):.2f}) | {span(many)} "
              f"({statistics.median(many):.2f}) | {', '.join(sorted(ran[name]))} | {span(ratios)}× | "
              f"{statistics.median(ratios):.2f} [{low:.2f}–{high:.2f}] | {sum(one) / sum(many):.2f} |")


def _pooled(paths: list[Path]) -> tuple[Walls, dict[str, set[str]]]:
    """The rounds of every ``--json`` file, by input."""
    walls: Walls = {}
    ran: dict[str, set[str]] = {}
    for path in paths:
        for name, rounds in json.loads(path.read_text(encoding="utf-8")).items():
            one, many = walls.setdefault(name, ([], []))
            one.extend(rounds["one"])
            many.extend(rounds["many"])
            ran.setdefault(name, set()).update(rounds["ran"])
    return walls, ran


def _replicas(scales: list[int], kinds: list[str], work: Path) -> list[tuple[str, Path]]:
    root = data_root()
    if not (root / REACT).exists():
        sys.exit(f"{root / REACT} not found: set AGENTFLAN_DATA to the shared corpora")
    out = []
    for scale in scales:
        react = work / f"react{scale}.jsonl"
        copy_records(root / REACT, react, scale)
        if "react" in kinds:
            out.append((f"ReAct {scale}×", react))
        if "openai" in kinds:
            openai = work / f"openai{scale}.jsonl"
            subprocess.run(_command(react, openai, []), check=True)
            out.append((f"openai {scale}×", openai))
    return out


def _command(source: Path, out: Path, opts: list[str]) -> list[str]:
    return [sys.executable, "-m", "agentflan", "convert", str(source), "--to", "openai", "-o", str(out), "-q",
            "--overwrite", *opts]


def _ran(output: Path) -> str:
    """The executor the command that wrote ``output`` used, from its manifest."""
    manifest = json.loads(output.with_name(output.name + ".manifest.json").read_text(encoding="utf-8"))
    return str(manifest.get("executor", {}).get("ran", "?"))


if __name__ == "__main__":
    main()
