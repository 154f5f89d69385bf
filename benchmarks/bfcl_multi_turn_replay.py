"""Check the BFCL multi-turn engine against BFCL's own ground truth, measured in one run.

A backend that replays each turn's ground-truth calls (as a Python-style call list, through the same reply
parser a model's reply goes through) must be scored correct on every entry; one that drops each turn's last call
must fail them. Uses BFCL's simulated APIs from the ``bfcl-eval`` wheel (fetched once into the cache) and the
question files from $AGENTFLAN_DATA (or the wheel).

    python benchmarks/bfcl_multi_turn_replay.py
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from agentflan.evaluate import bfcl_multi_turn as mt
from agentflan.evaluate.bfcl import question_file
from agentflan.paths import data_root


class Replay:
    """Each turn's ground-truth calls in one step, then a plain reply; ``drop_last`` leaves the last call out."""

    name = "replay"

    def __init__(self, entries: list[mt.Entry], drop_last: bool = False) -> None:
        self.truth = {e.id: e.ground_truth for e in entries}
        self.drop_last = drop_last

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def generate(self, samples: list[Any]) -> list[str]:
        out = []
        for s in samples:
            entry_id, turn, step = s.id.rsplit("/", 2)
            calls = list(self.truth[entry_id][int(turn[4:])])
            if self.drop_last:
                calls = calls[:-1]
            out.append("[" + ", ".join(calls) + "]" if int(step[4:]) == 0 and calls else "Done.")
        return out


def main() -> None:
    classes = mt.api_classes()
    folder = question_file("multi_turn_base", data_root() / "gorilla" / "bfcl_v4").parent
    for category in mt.CATEGORIES:
        entries, rejects = mt.load_entries(category, folder)
        for drop_last in (False, True):
            start = time.perf_counter()
            episodes = mt.run_episodes(entries, Replay(entries, drop_last), classes)
            verdicts = [mt.check(ep, classes) for ep in episodes]
            valid = sum(v["valid"] for v in verdicts)
            failures = Counter(v["error_type"] for v in verdicts if not v["valid"])
            label = "drop last call" if drop_last else "ground truth"
            print(f"{category:26} {label:15} correct {valid}/{len(entries)} (rejected {len(rejects)}) "
                  f"{time.perf_counter() - start:.1f} s {dict(failures) if failures else ''}")


if __name__ == "__main__":
    main()
