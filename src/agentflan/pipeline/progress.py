"""Progress display for long work: a rich bar on a terminal, silence otherwise (CI logs stay readable).

The bar is redrawn by the work itself, as records pass (at most `REFRESH_SECONDS` apart), never by a thread of
its own: a command that runs no other thread can fork its workers (`workers.spawn_pool`), which start at once.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

REFRESH_SECONDS = 0.1


class LazyConsole:
    """A rich console made when first used: a command that prints nothing through it (``-q``, or stderr not a
    terminal) never imports rich, about 25 ms of its start-up."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


STDERR = LazyConsole(stderr=True)


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
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn() if self.total else TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                console=STDERR.console,
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
