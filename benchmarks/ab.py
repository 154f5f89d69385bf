"""A/B: the same `agentflan` commands run from two source trees, interleaved (A, B, A, B... every command once
per round, so a change in the machine's load touches both alike), each in a fresh process: wall time and CPU time
and peak RSS (`os.wait4`, workers included), with the range over the rounds and the load average before and after.

    git worktree add /tmp/base main     # or: mkdir /tmp/base && git archive main src | tar -x -C /tmp/base
    python benchmarks/ab.py --a /tmp/base/src --b src --rounds 3 \\
        "convert react.jsonl --to openai -o /tmp/x.jsonl -q --overwrite" \\
        "eval classify replies.jsonl -o /tmp/c.jsonl -q --overwrite"

Each command is the arguments of ``python -m agentflan`` (split on spaces). With more than one command, each
tree's speed-up of every command over the first is printed too (e.g. one process first, then ``--workers 2``). ``--copy FILE`` (repeatable) adds the floor
`benchmarks/scale.py` uses: an orjson parse and re-serialisation of FILE, timed once per round. Both trees' bytecode
is written first, as an installed package has it (`scale.compile_package`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# benchmarks/ is not a package: found through sys.path
from scale import COPY, compile_package, remove_output, run, run_header, span


def _ratios(values: list[float]) -> str:
    """A range of per-round ratios with their median."""
    return f"{span(values)}× ({statistics.median(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("commands", nargs="+", help="agentflan arguments, one string per command")
    ap.add_argument("--a", required=True, help="source tree A (put first on PYTHONPATH)")
    ap.add_argument("--b", required=True, help="source tree B")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--copy", action="append", default=[], help="a file to time the orjson copy of (the floor); repeatable")
    args = ap.parse_args()
    trees = {"A": str(Path(args.a).resolve()), "B": str(Path(args.b).resolve())}
    times: dict[tuple[str, str], list[tuple[float, float, float]]] = {}  # wall s, CPU s, peak RSS MiB
    for tree in trees.values():
        compile_package(tree)
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="agentflan-ab-") as tmp:
        for _ in range(args.rounds):
            for command in args.commands:
                for label, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": tree}
                    argv = [sys.executable, "-m", "agentflan", *command.split()]
                    remove_output(argv)  # untimed, as in scale.py
                    times.setdefault((command, label), []).append(run(argv, env))
            for path in args.copy:
                out = Path(tmp) / "copy.out"
                out.unlink(missing_ok=True)
                times.setdefault((f"orjson copy of {path}", "-"), []).append(
                    run([sys.executable, "-c", COPY, str(out), path], dict(os.environ)))
    after = os.getloadavg()
    print(run_header(args.rounds, before, after) + f"; A = {args.a}, B = {args.b}\n")
    print("| command | tree | wall s | CPU s | peak RSS MiB | A wall / B wall (median) |")
    print("|---|---|---|---|---|---|")
    for (command, label), xs in times.items():
        ratio = ""
        if label == "B":
            a = times[(command, "A")]
            ratio = _ratios([w_a / w_b for (w_a, *_), (w_b, *_) in zip(a, xs, strict=True)])
        print(f"| `{command}` | {label} | {span([w for w, _, _ in xs])} | {span([c for _, c, _ in xs])} | "
              f"{span([r for _, _, r in xs], '{:.1f}')} | {ratio} |")
    if len(args.commands) > 1:  # e.g. one process first, then the same with workers: each tree's speed-up
        print("\n| command | tree | first command's wall / this one's, per round (median) |")
        print("|---|---|---|")
        first = args.commands[0]
        for command in args.commands[1:]:
            for label in trees:
                pairs = zip(times[(first, label)], times[(command, label)], strict=True)
                print(f"| `{command}` | {label} | {_ratios([w_1 / w_n for (w_1, *_), (w_n, *_) in pairs])} |")


if __name__ == "__main__":
    main()
