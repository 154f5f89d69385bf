"""Licences of input files, found from the LICENSE file that ships beside the data."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_KNOWN = [
    (re.compile(r"Apache License,?\s+Version 2\.0", re.I), "Apache-2.0"),
    (re.compile(r"\bMIT License\b|Permission is hereby granted, free of charge", re.I), "MIT"),
    (re.compile(r"Creative Commons Attribution[- ]NonCommercial", re.I), "CC-BY-NC-4.0"),
    (re.compile(r"Creative Commons Attribution", re.I), "CC-BY-4.0"),
    (re.compile(r"\bBSD\b", re.I), "BSD"),
]


@lru_cache(maxsize=256)
def _licence_in(directory: Path) -> str | None:
    for candidate in sorted(directory.glob("LICEN[CS]E*")):
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8", errors="replace")[:20000]
            for pattern, name in _KNOWN:
                if pattern.search(text):
                    return name
            return f"see {candidate.name}"
    return None


def licence_for(path: str | Path, stop_at_depth: int = 6) -> str | None:
    """The licence of the nearest LICENSE file in the file's directory or its parents (None if none), found
    beside where the file really is (a link is followed)."""
    where = os.fspath(path)
    if os.path.islink(where):
        where = os.path.realpath(where)
    # by directory: the files of a folder share it (API-Bank 20 times over: 5,280 files, and resolving each
    # file's path took a sixth of listing them)
    # (joined, not normalised: `resolve` must meet a "link/.." as it would in the file's own path)
    return _licence_near(os.path.join(os.getcwd(), os.path.dirname(where)), stop_at_depth)


@lru_cache(maxsize=1024)
def _licence_near(folder: str, stop_at_depth: int) -> str | None:
    directory = Path(folder).resolve()
    for _ in range(stop_at_depth):
        found = _licence_in(directory)
        if found:
            return found
        if directory.parent == directory:
            break
        directory = directory.parent
    return None
