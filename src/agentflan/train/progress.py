"""Training progress where there is no progress bar (a log file, CI, a pipe): a line at each of the first steps,
then every ``every_s`` seconds, so a run shows it is moving from step 1 on instead of staying silent until the
first logging step."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from transformers import TrainerCallback


class StepLines(TrainerCallback):
    """``step 1/60 · 8.4 s/step · about 8 min left`` on stderr (main process only)."""

    def __init__(self, every_s: float = 30.0, first: int = 3, stream: TextIO | None = None) -> None:
        self.every_s = every_s
        self.first = first
        self.stream = stream
        self._start = 0.0
        self._start_step = 0
        self._last = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self._start = self._last = time.monotonic()
        self._start_step = state.global_step  # a resumed run starts past 0

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if not state.is_world_process_zero:
            return
        now, step, total = time.monotonic(), state.global_step, state.max_steps
        done = step - self._start_step
        if done > self.first and now - self._last < self.every_s and step != total:
            return
        self._last = now
        per_step = (now - self._start) / max(done, 1)
        left = per_step * max(total - step, 0)
        print(f"step {step}/{total} · {per_step:.2f} s/step · about {_duration(left)} left",
              file=self.stream or sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
