"""Where a command's time goes: `py-spy` samples of whole `agentflan` runs, each sample given to the part of the
code named by its deepest frame that names one (`PARTS`), as shares of the run, with the range over ``--runs``
runs of each command. Needs py-spy (``pip install py-spy``). Each command runs once unprofiled first and must
succeed (a command that writes an output should say ``--overwrite``); then the commands run in turn, in fresh
processes.

    python benchmarks/profile_shares.py --runs 3 \\
        "convert react10.jsonl --to openai -o /tmp/p1.jsonl -q --overwrite" \\
        "eval classify replies10.jsonl -o /tmp/p2.jsonl -q"
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# benchmarks/ is not a package: found through sys.path
from scale import span

# (part, substrings of a frame that place a sample in it); the deepest frame that matches any decides.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("imports", ("_find_and_load", "<frozen importlib")),
    ("pydantic validation", ("pydantic", "BaseModel", "validate_python", "model_validate")),
    ("strict JSON: decode, check, encode", ("strictjson.py",)),
    ("call flags", ("agentflan/validate.py", "agentflan/toolschema.py")),
    ("ReAct and call text parsing", ("formats/react.py", "formats/reacttext.py", "callsyntax.py", "agentflan/calls/")),
    ("openai reader and writer", ("formats/openai.py", "formats/base.py", "formats/canonical.py")),
    ("eval logic", ("agentflan/evaluate/",)),
    ("listing, batches, read plumbing", ("pipeline/sources.py", "pipeline/batches.py", "pipeline/read.py",
                                         "pipeline/inputs.py", "pipeline/sidefiles.py", "pipeline/provenance.py")),
    ("writing, hashing, run folder", ("pipeline/sinks.py", "pipeline/run.py", "agentflan/files.py",
                                      "pipeline/spool.py")),
    ("command line (typer)", ("typer/",)),
    ("build stages", ("agentflan/construct/",)),
    ("audit sections", ("agentflan/audit/",)),
    ("other agentflan", ("agentflan/",)),
]
OTHER = "other (interpreter, exit)"


def part_of(stack: str) -> str:
    """The part a sample's stack (py-spy's raw format: frames joined by ``;``, the root first) belongs to."""
    for frame in reversed(stack.split(";")):
        for name, marks in PARTS:
            if any(mark in frame for mark in marks):
                return name
    return OTHER


def shares(raw: Path) -> dict[str, float]:
    """Each part's share (percent) of the samples in one py-spy raw profile."""
    counts: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            counts[part_of(stack)] += int(n)
    total = sum(counts.values()) or 1
    return {name: 100 * c / total for name, c in counts.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("commands", nargs="+", help="agentflan arguments, one string per command")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=int, default=200, help="samples per second")
    args = ap.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    found: list[dict[str, list[float]]] = [{} for _ in args.commands]
    for command in args.commands:  # py-spy exits 0 whatever the command did: a failing one would profile its error
        done = subprocess.run([sys.executable, "-m", "agentflan", *shlex.split(command)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            sys.exit(f"agentflan {command}: exit status {done.returncode}\n{done.stderr[-2000:]}")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for i, command in enumerate(args.commands):
                raw = Path(tmp) / f"{i}-{run}.txt"
                subprocess.run([spy, "record", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--",
                                sys.executable, "-m", "agentflan", *shlex.split(command)],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for name, share in shares(raw).items():
                    found[i].setdefault(name, []).append(share)
    names = [n for n, _ in PARTS] + [OTHER]
    print("| part | " + " | ".join(f"`{c.split()[0]}` {i + 1}" for i, c in enumerate(args.commands)) + " |")
    print("|---|" + "---|" * len(args.commands))
    for name in names:
        cells = []
        for f in found:
            values = f.get(name, []) + [0.0] * (args.runs - len(f.get(name, [])))
            cells.append("" if max(values) < 0.5 else span(values, "{:.0f}") + "%")
        if any(cells):
            print(f"| {name} | " + " | ".join(cells) + " |")
    for i, command in enumerate(args.commands):
        print(f"\n{i + 1}: agentflan {command}")


if __name__ == "__main__":
    main()
