"""Side files: the files a reader opens beside its input because its format's layout names them (BFCL's
``possible_answer/<file>`` and ``multi_turn_func_doc/``, ToolTalk's and API-Bank's sibling splits).

Each is decoded by the same strict reader as any input (`sources.iter_records`), once per process, and every
one an input's reader opened is recorded with its sha256, under a path spelled like the input's own (relative to
the data root, or as given), so that the manifest lists every file a run read.
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path

from agentflan.errors import InputError
from agentflan.files import sha256_file
from agentflan.formats.base import SideFile
from agentflan.pipeline.sources import SourceRecord, iter_records


class SideFiles:
    """The `SideFileOpener` of one input: opens side files for its reader and records them in ``opened``
    (recorded path → sha256)."""

    def __init__(self, path: str, source: str | None = None, opened: dict[str, str] | None = None) -> None:
        self.path = path
        self.source = source or path
        self.opened: dict[str, str] = opened if opened is not None else {}

    def __call__(self, side: Path) -> SideFile | None:
        found = load(side)
        if found is not None:
            self.opened[recorded_path(side, self.path, self.source)] = found.sha256
        return found


def recorded_path(side: Path, input_path: str, input_source: str) -> str:
    """``side`` spelled as the input is: beside the input's recorded path, not the path it was opened by.

    >>> recorded_path(Path("/data/gorilla/possible_answer/BFCL_v4_x.json"), "/data/gorilla/BFCL_v4_x.json",
    ...               "gorilla/BFCL_v4_x.json")
    'gorilla/possible_answer/BFCL_v4_x.json'
    >>> recorded_path(Path("/cache/possible_answer/BFCL_v4_x.json"), "/cache/BFCL_v4_x.json", "bfcl:BFCL_v4_x.json")
    'bfcl:possible_answer/BFCL_v4_x.json'
    """
    if input_source == input_path:
        return os.path.normpath(side)
    scheme, sep, rest = input_source.partition(":")
    if not sep or "/" in scheme:
        scheme, rest = "", input_source
    relative = os.path.relpath(side, os.path.dirname(input_path) or ".")
    spelled = os.path.normpath(os.path.join(os.path.dirname(rest), relative))
    return f"{scheme}:{spelled}" if scheme else spelled


def load(path: Path) -> SideFile | None:
    """A side file's records, or None when it is not a readable regular file."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # absent, a name too long for the OS, a NUL in the name...
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return _load(str(path), info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=1024)
def _load(path: str, size: int, mtime_ns: int) -> SideFile | None:
    del size, mtime_ns  # part of the cache key: a file changed on disk is read again
    try:
        records = tuple(r.value for r in iter_records(path) if isinstance(r, SourceRecord))
        return SideFile(path, sha256_file(path), records)
    except (InputError, OSError):
        return None
