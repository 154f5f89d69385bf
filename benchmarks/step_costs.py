"""Per-record costs of the steps a convert runs, in this process: listing a file's lines into batches (the
command's own work, with the file's sha256 where the tree takes it while listing), the file's sha256 in a read of
its own (what a command paid before listing, up to 8287b18), a batch's lines read again where it runs (what a
worker adds), and the convert step itself (react → openai by default). Prints the best and the median over
rounds, in µs a record.

Run it once per tree, alternating, to compare two trees on a host whose speed wanders (the best of several
rounds moves least):

    python benchmarks/step_costs.py /tmp/react10.jsonl                     # the tree agentflan imports from
    for i in 1 2 3; do for t in /tmp/base/src src; do PYTHONPATH=$t python benchmarks/step_costs.py /tmp/react10.jsonl; done; done

``react10.jsonl`` is FireAct ``multitask.jsonl`` 10 times over, as `scale.py` makes it.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import statistics
import time
from pathlib import Path

import agentflan
from agentflan.files import sha256_file
from agentflan.pipeline.batches import FIRST_BATCH, batches
from agentflan.pipeline.convert import convert_batch
from agentflan.pipeline.read import InputStats


def _listed(path: Path) -> list:
    return list(batches(path, "auto", InputStats(str(path), ""), first=FIRST_BATCH))  # "": not hashed yet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path, help="a JSON Lines file (uncompressed, so that batches ship as spans)")
    ap.add_argument("--to", default="openai", help="the format the convert step writes")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batches", type=int, default=40, help="batches the convert step is timed on")
    args = ap.parse_args()

    tasks = _listed(args.input)[2:]  # the first two are the small measured ones
    records = sum(len(t.records) for t in tasks)
    timed = tasks[: args.batches]
    timed_records = sum(len(t.records) for t in timed)
    shipped = [pickle.dumps(t) for t in tasks]
    gc.freeze()
    for t in timed[:3]:  # first calls: caches, lazy imports
        convert_batch(t, args.to)
    listing, hashing, reading, step = [], [], [], []
    for _ in range(args.rounds):
        began = time.process_time()
        _listed(args.input)
        listing.append((time.process_time() - began) / records)
        began = time.process_time()
        sha256_file(args.input)
        hashing.append((time.process_time() - began) / records)
        began = time.process_time()
        for blob in shipped:
            pickle.loads(blob).lines()
        reading.append((time.process_time() - began) / records)
        began = time.process_time()
        for t in timed:
            convert_batch(t, args.to)
        step.append((time.process_time() - began) / timed_records)
    print(f"agentflan from {Path(agentflan.__file__).parent.parent}")
    for name, values in (("listing a line", listing), ("the sha256 in a read of its own", hashing),
                         ("reading a shipped line again", reading),
                         (f"the convert step (→ {args.to})", step)):
        print(f"{name}: best {min(values) * 1e6:.2f} µs, median {statistics.median(values) * 1e6:.2f} µs a record")


if __name__ == "__main__":
    main()
