"""Resumable units of work: a step whose inputs are hashed, whose outputs count as complete only once its marker
is written (atomically, last), and which a rerun skips when the marker holds the same hash.

``DIR/units/<name>.json`` is the marker: ``{"unit", "key", "inputs", "result"}``, nothing time-dependent, so
an interrupted and resumed experiment leaves the same markers as an uninterrupted one. A unit without its
marker, or with another key (an input changed), has its outputs removed and is run again; the units after it
name its key among their inputs, so a change flows downstream. Timings go to ``DIR/timings.jsonl``, apart from
everything that is compared between runs.

One experiment at a time per folder: ``DIR/.lock`` is held (``flock``) for the whole run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from agentflan.errors import UsageError
from agentflan.pipeline.sinks import write_json_atomic

T = TypeVar("T")
UNITS = "units"
TIMINGS = "timings.jsonl"


def key_of(inputs: Any) -> str:
    """The sha256 of the inputs as canonical JSON (sorted keys), the identity of a unit's work.

    >>> key_of({"b": 1, "a": [1, 2]}) == key_of({"a": [1, 2], "b": 1})
    True
    """
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_files(paths: Sequence[Path]) -> dict[str, str]:
    """``{name: sha256}`` of each file, for a unit whose inputs are files outside the experiment folder."""
    out: dict[str, str] = {}
    for p in paths:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out[str(p)] = h.hexdigest()
    return out


class Units:
    """The units of one experiment folder; `run` does or skips one."""

    def __init__(self, root: Path, log: Callable[[str], None] = lambda _: None) -> None:
        self.root = root
        self.log = log
        self.ran: list[str] = []
        self.skipped: list[str] = []

    def marker(self, name: str) -> Path:
        return self.root / UNITS / f"{name.replace('/', '.')}.json"

    def done(self, name: str, key: str) -> dict[str, Any] | None:
        """The marker of a finished unit with this key, or None."""
        path = self.marker(name)
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) and marker.get("key") == key else None

    def run(self, name: str, inputs: dict[str, Any], outputs: Sequence[Path], work: Callable[[], T]) -> tuple[str, T]:
        """(key, result): ``work()``'s result, or the recorded one when the unit already finished with these
        inputs. ``outputs`` (files or folders) are removed before the work starts, so that nothing a killed
        attempt left is mistaken for output."""
        key = key_of(inputs)
        marker = self.done(name, key)
        if marker is not None and all(p.exists() for p in outputs):
            self.skipped.append(name)
            self.log(f"{name}: done before, skipped")
            return key, marker["result"]
        self.marker(name).unlink(missing_ok=True)
        for p in outputs:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
        self.log(f"{name}: running")
        start = time.monotonic()
        result = work()
        seconds = time.monotonic() - start
        write_json_atomic(self.marker(name), {"unit": name, "key": key, "inputs": inputs, "result": result})
        with (self.root / TIMINGS).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"unit": name, "seconds": round(seconds, 2), "at": time.time()}) + "\n")
        self.ran.append(name)
        self.log(f"{name}: done in {seconds:.1f} s")
        return key, result


class Lock:
    """``DIR/.lock`` held for a run: a second experiment on the same folder is refused (exit 2)."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"{self.path.parent}: another `agentflan experiment` is running in this folder") from None
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
