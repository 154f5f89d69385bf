"""Progress display for long work: a rich bar on a terminal, silence otherwise (CI logs stay readable)."""

from __future__ import annotations

import sys
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


class RecordProgress:
    """Counts records as they pass; shows a bar when ``total`` is known, a spinner with a count otherwise."""

    def __init__(self, description: str, total: int | None = None, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.description = description
        self.total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
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
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self._progress is not None and self._task is not None and (self.count % 50 == 0 or self.total):
            self._progress.update(self._task, completed=self.count)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.count)
            self._progress.stop()
