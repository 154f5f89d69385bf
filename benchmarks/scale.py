"""Scale: time, CPU and peak RSS of `convert`, `build` and `audit` on the shared corpora replicated 1×, 10× and 30×
with fresh ids, under each executor, in interleaved rounds (every job once per round, in turn, so that a change
in the machine's load touches every job alike). Each job runs in a fresh process; peak RSS and CPU come from
`os.wait4` (the process and the workers it waited for); what a job wrote the round before is removed, untimed,
before it runs.

With ``process`` among the executors, convert also runs as "halves": each half of the input converted by its own
one-process command, the two at once. No executor of two workers can beat that (it coordinates nothing), so its
speed-up is the ceiling the machine allows in that round: below 2× by what two busy CPUs cost each other
(shared caches and memory, the host's other guests).

    python benchmarks/scale.py                          # 1× 10× 30×, 3 rounds; AGENTFLAN_DATA: the corpora
    python benchmarks/scale.py --scales 1 16 30 --rounds 3 --jobs build
    python benchmarks/scale.py --scales 1 --rounds 1 --executors local process   # a quick look
    python benchmarks/scale.py --scales 1 10 30 --jobs convert --busy 1          # with another job holding a CPU

Replicating: a directory input gets each file again under a new name (a one-record file takes its id from its
name, or from an id field, which is suffixed); a file or glob input gets its records again inside the file, with
``id``-like fields suffixed. The build recipe is `recipes/agent-flan.yaml` with its data root at the replica.
Convert reads FireAct `multitask.jsonl` (ReAct) and the openai file convert makes of it; audit reads the build's
``canonical.jsonl``. agentflan's bytecode is written first (`compile_package`). Prints a Markdown table: the
range (min–max) over the rounds for every figure (speed-ups also with their median and its 95% interval,
`median_interval`: over 3 to 5 rounds it is wide; `speedup.py` runs the many paired rounds that tell whether a
speed-up clears a bar), with the load average before and after; "of the halves'" is the halves' wall time
over the job's, round by round (1.00: the job is as fast as the ceiling).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agentflan.construct.inputs import resolve
from agentflan.paths import data_root

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "agent-flan.yaml"
REACT = "FireAct/gpt_format/multitask.jsonl"
ID_FIELDS = ("id", "question_id", "conversation_id", "query_id")


def _fresh(value: object, i: int) -> object:
    if i == 0 or not isinstance(value, dict):
        return value
    out = dict(value)
    for k in ID_FIELDS:
        if isinstance(out.get(k), str):
            out[k] = f"{out[k]}~r{i}"
        elif isinstance(out.get(k), int) and not isinstance(out.get(k), bool):
            out[k] = out[k] + i * 10_000_000
    return out


def copy_records(src: Path, dst: Path, times: int) -> None:
    """``src``'s records ``times`` over in one file of the same container."""
    text = src.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, list):
        dst.write_text(json.dumps([_fresh(v, i) for i in range(times) for v in doc], ensure_ascii=False))
        return
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    with dst.open("w", encoding="utf-8") as f:
        for i in range(times):
            for v in lines:
                f.write(json.dumps(_fresh(v, i), ensure_ascii=False) + "\n")


def replicate(root: Path, out: Path, times: int) -> Path:
    """The recipe's inputs (and the convert input) under ``out``, ``times`` over, with fresh ids; returns a copy
    of the recipe that reads them (its data root is ``out``).

    A directory input is copied whole ``times`` over as sibling trees (``ToolTalk~r2/data/tooltalk``), each a
    recipe input of its own: readers that scan a record's sibling files (ToolTalk's splits, API-Bank's
    ToolSearcher folders) then see one corpus's worth, as they would in a real larger corpus, rather than every
    copy. A file or glob input gets its records ``times`` over inside the file."""
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    for section in ("agent", "general"):
        specs = []
        for spec in recipe[section]["inputs"]:
            path = spec["path"]
            if not (root / path).is_dir():
                for f in resolve(path, root):
                    dst = out / f.relative_to(root)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    copy_records(f, dst, times)
                specs.append(spec)
                continue
            top, _, rest = path.partition("/")
            for i in range(times):
                copy = f"{top}~r{i}/{rest}" if i else path
                for f in resolve(path, root):
                    dst = out / copy / f.relative_to(root / path)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    _copy_file(f, dst, i)
                specs.append({**spec, "path": copy})
        recipe[section]["inputs"] = specs
    if not (out / REACT).exists():
        (out / REACT).parent.mkdir(parents=True, exist_ok=True)
        copy_records(root / REACT, out / REACT, times)
    recipe_path = out / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return recipe_path


def _copy_file(src: Path, dst: Path, i: int) -> None:
    """One file of a directory input, with its id fields made fresh (JSON Lines: every line's)."""
    text = src.read_text(encoding="utf-8")
    try:
        dst.write_text(json.dumps(_fresh(json.loads(text), i), ensure_ascii=False), encoding="utf-8")
    except json.JSONDecodeError:
        lines = [json.dumps(_fresh(json.loads(line), i), ensure_ascii=False) for line in text.splitlines()
                 if line.strip()]
        dst.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Figure:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)


def compile_package(tree: str | Path) -> None:
    """Write the bytecode of the Python source under ``tree``, as an installed package has it (pip compiles at
    install, and an editable install's first import writes it): where PYTHONDONTWRITEBYTECODE is set, as on the
    development machine, every timed process (and the workers' fork server) would otherwise compile agentflan
    again, about 0.1 s of CPU each."""
    import compileall

    compileall.compile_dir(str(tree), quiet=1)


def run(argv: list[str], env: dict[str, str], *others: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one command in a fresh process; with ``others``, of it and them run at
    once (wall: until the last ends; CPU: all of theirs; RSS: the largest)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(a, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for a in (argv, *others)]
    cpu = rss = 0.0
    for proc, args in zip(procs, (argv, *others), strict=True):
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"failed: {' '.join(args)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
        cpu, rss = cpu + usage.ru_utime + usage.ru_stime, max(rss, usage.ru_maxrss / 1024)
    return time.perf_counter() - start, cpu, rss


COPY = """
import sys, orjson
from pathlib import Path
for p in sys.argv[2:]:
    data = Path(p).read_bytes()
    with open(sys.argv[1], "ab") as out:
        try:
            out.write(orjson.dumps(orjson.loads(data)) + b"\\n")  # one document
        except orjson.JSONDecodeError:
            for line in data.splitlines():
                if line.strip():
                    out.write(orjson.dumps(orjson.loads(line)) + b"\\n")
"""


def jobs(scale: int, rep: Path, work: Path, executors: list[str], which: list[str]) -> dict[str, list[list[str]]]:
    """Every command to time at one scale, by name, as the commands that run at once (most jobs: one); "copy
    ..." jobs are the floor: an orjson parse and re-serialisation of the same inputs."""
    cli = [sys.executable, "-m", "agentflan"]
    copy = [sys.executable, "-c", COPY, str(work / "copy.out")]
    openai, replies = work / f"x{scale}.openai.jsonl", work / f"x{scale}.replies.jsonl"
    out: dict[str, list[list[str]]] = {}
    if "convert" in which:
        out["copy react"] = [[*copy, str(rep / REACT)]]
        out["copy openai"] = [[*copy, str(openai)]]
    if "build" in which:
        out["copy build inputs"] = [[*copy, *map(str, sorted(p for p in rep.rglob("*.json*") if p.is_file()))]]
    if "classify" in which:
        out["copy replies"] = [[*copy, str(replies)]]
        out["eval classify local"] = [[*cli, "eval", "classify", str(replies), "-o", str(work / "classified.jsonl"),
                                       "-q"]]
    for ex in executors:
        opts = ["--executor", ex] + (["--workers", "2"] if ex != "local" else [])
        if "convert" in which:
            out[f"convert react→openai {ex}"] = [_convert(cli, rep / REACT, work / f"c-{ex}.jsonl", opts)]
            out[f"convert openai→openai {ex}"] = [_convert(cli, openai, work / f"o-{ex}.jsonl", opts)]
        if "build" in which:
            out[f"build {ex}"] = [[*cli, "build", str(rep / "recipe.yaml"), "-o", str(work / f"b-{ex}"), "-q",
                                   "--overwrite", *opts]]
        if "audit" in which:
            out[f"audit {ex}"] = [[*cli, "audit", str(work / "b-local" / "canonical.jsonl"), "-o",
                                   str(work / f"a-{ex}"), "--overwrite", "-q", *opts]]
    if "convert" in which and "process" in executors:
        for name, source in (("react", rep / REACT), ("openai", openai)):
            halves = _halves(source, work)
            out[f"convert {name}→openai halves"] = [_convert(cli, h, h.with_suffix(".out.jsonl"), []) for h in halves]
    return out


def remove_output(argv: list[str]) -> None:
    """Remove what the command ``argv`` wrote in an earlier round (its ``-o`` file with its rejects and
    manifest, or its folder), before it is timed: replacing an output frees the old one's blocks, about 55 ms
    for the 30× convert output, which is the earlier round's cleanup, not this round's work."""
    if "-o" not in argv:
        return
    out = Path(argv[argv.index("-o") + 1])
    if out.is_dir():
        shutil.rmtree(out)
    for path in (out, out.with_name(out.name + ".rejects.jsonl"), out.with_name(out.name + ".manifest.json")):
        path.unlink(missing_ok=True)


def _convert(cli: list[str], source: Path, out: Path, opts: list[str]) -> list[str]:
    return [*cli, "convert", str(source), "--to", "openai", "-o", str(out), "-q", "--overwrite", *opts]


def _halves(path: Path, work: Path) -> tuple[Path, Path]:
    """The first and second half of the lines of ``path``, as two files in ``work``. Streamed: what this process
    holds, the commands it starts hold too until they exec, and their peak RSS would count it."""
    with path.open("rb") as f:
        count = sum(1 for _ in f)
    halves = work / f"{path.stem}.half1.jsonl", work / f"{path.stem}.half2.jsonl"
    with path.open("rb") as f, halves[0].open("wb") as first, halves[1].open("wb") as second:
        for i, line in enumerate(f):
            (first if i < count // 2 else second).write(line)
    return halves


FLOORS = {"convert react→openai": "copy react", "convert openai→openai": "copy openai",
          "eval classify": "copy replies", "build": "copy build inputs"}


def _replies(openai: Path, out: Path) -> None:
    """Model replies to classify: each record's first assistant turn as text (ReAct), with its tools."""
    with openai.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            rec = json.loads(line)
            reply = next((m.get("content") or "" for m in rec["messages"] if m["role"] == "assistant"), "")
            g.write(json.dumps({"id": f"r{i}", "reply": reply, "tools": rec.get("tools", [])},
                               ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--executors", nargs="+", default=["local", "process"])
    ap.add_argument("--jobs", nargs="+", default=["convert", "build", "audit", "classify"])
    ap.add_argument("--busy", type=int, default=0, help="processes that each keep a CPU busy while the jobs are "
                                                         "timed (another job on the machine)")
    args = ap.parse_args()
    root = data_root()
    if not (root / REACT).exists():
        sys.exit(f"{root / REACT} not found: set AGENTFLAN_DATA to the shared corpora")
    figures: dict[tuple[int, str], Figure] = {}
    import agentflan

    compile_package(Path(agentflan.__file__).parent)
    with tempfile.TemporaryDirectory(prefix="agentflan-scale-") as tmp:
        plans = {}
        work_of: dict[int, Path] = {}
        for scale in args.scales:
            rep = replicate(root, Path(tmp) / f"data{scale}", scale).parent
            work = Path(tmp) / f"work{scale}"
            work.mkdir()
            env = {**os.environ, "AGENTFLAN_DATA": str(rep)}
            # The inputs that later jobs read: the openai file, the build to audit.
            subprocess.run([sys.executable, "-m", "agentflan", "convert", str(rep / REACT), "--to", "openai", "-o",
                            str(work / f"x{scale}.openai.jsonl"), "-q"], env=env, check=True)
            if "audit" in args.jobs:
                subprocess.run([sys.executable, "-m", "agentflan", "build", str(rep / "recipe.yaml"), "-o",
                                str(work / "b-local"), "-q"], env=env, check=True)
            _replies(work / f"x{scale}.openai.jsonl", work / f"x{scale}.replies.jsonl")
            plans[scale] = (env, jobs(scale, rep, work, args.executors, args.jobs))
            work_of[scale] = work
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        time.sleep(2 if busy else 0)
        load_before = os.getloadavg()
        for r in range(args.rounds):
            for scale, (env, todo) in plans.items():
                for name, argvs in todo.items():
                    (work_of[scale] / "copy.out").unlink(missing_ok=True)
                    for argv in argvs:
                        remove_output(argv)
                    fig = figures.setdefault((scale, name), Figure())
                    wall, cpu, rss = run(argvs[0], env, *argvs[1:])
                    fig.wall.append(wall)
                    fig.cpu.append(cpu)
                    fig.rss_mib.append(rss)
            print(f"round {r + 1} of {args.rounds} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        load_after = os.getloadavg()
        for proc in busy:
            proc.kill()
            proc.wait()
    _report(figures, args, load_before, load_after)


def median_interval(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A 95% interval for the median of ``values`` (a percentile bootstrap: the medians of ``resamples`` draws
    of as many values with replacement), for figures taken over a few rounds on a host whose speed wanders."""
    import random

    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    """The range of ``values`` as text (one value when both ends print alike)."""
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def run_header(rounds: int, before: tuple[float, ...], after: tuple[float, ...], note: str = "") -> str:
    """The line a benchmark prints above its table: when, on how many CPUs, how many rounds, ``note`` (ending
    in "; "), and the load average before and after the rounds."""
    return (f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; CPUs: {os.cpu_count()}; rounds: {rounds}; {note}"
            f"load average (1, 5, 15 min) before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
            f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")


def _report(figures: dict[tuple[int, str], Figure], args: argparse.Namespace, before: tuple[float, ...],
            after: tuple[float, ...]) -> None:
    print(run_header(args.rounds, before, after, f"busy processes: {args.busy}; " if args.busy else "") + "\n")
    print("| scale | job | wall s | CPU s | peak RSS MiB | speed-up vs local (median [95% interval]) | "
          "of the halves' | throughput / orjson copy |")
    print("|---|---|---|---|---|---|---|---|")
    for (scale, name), fig in figures.items():
        job = name.rpartition(" ")[0]
        base = figures.get((scale, f"{job} local"))
        speeds = [] if base is None or base is fig or name.startswith("copy") else \
            [b / w for b, w in zip(base.wall, fig.wall, strict=True)]
        low, high = median_interval(speeds) if speeds else (0.0, 0.0)
        speed = f"{span(speeds)}× ({statistics.median(speeds):.2f} [{low:.2f}–{high:.2f}])" if speeds else ""
        halves = figures.get((scale, f"{job} halves"))
        ceiling = "" if halves is None or halves is fig or not speeds else \
            span([h / w for h, w in zip(halves.wall, fig.wall, strict=True)])
        floor = figures.get((scale, FLOORS.get(job, "")))
        ratio = "" if floor is None else span([c / w for c, w in zip(floor.wall, fig.wall, strict=True)])
        print(f"| {scale}× | {name} | {span(fig.wall)} | {span(fig.cpu)} | {span(fig.rss_mib, '{:.0f}')} | "
              f"{speed} | {ceiling} | {ratio} |")


if __name__ == "__main__":
    main()
