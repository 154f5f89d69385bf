"""Progress display for long work: a rich bar on a terminal, silence otherwise (CI logs stay readable).

The bar is redrawn by the work itself, as records pass (at most `REFRESH_SECONDS` apart), never by a thread of
its own: a command that runs no other thread can fork its workers (`workers.spawn_pool`), which start at once.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

STDERR = Console(stderr=True)
REFRESH_SECONDS = 0.1


class RecordProgress:
    """Counts records as they pass; shows a bar when ``total`` is known, a spinner with a count otherwise."""

    def __init__(self, description: str, total: int | None = None, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.description = description
        self.total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0  # when the bar was last redrawn (`time.monotonic`)
        self.count = 0

    def __enter__(self) -> RecordProgress:
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn() if self.total else TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                console=STDERR,
                transient=False,
                auto_refresh=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self._progress is not None and self._task is not None and \
                (now := time.monotonic()) - self._drawn >= REFRESH_SECONDS:
            self._progress.update(self._task, completed=self.count, refresh=True)
            self._drawn = now

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.count, refresh=True)
            self._progress.stop()
