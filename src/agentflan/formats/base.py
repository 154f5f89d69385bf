"""The contract between formats and the pipeline.

A *reader* turns one raw record (a decoded JSON value) into canonical trajectories. A record may hold several
trajectories (a ToolBench answer file holds one per training sequence): the reader yields each, and yields an
`ItemRejected` for each part it cannot parse, so one bad part loses nothing else. A reader that handles one
trajectory per record may simply raise `RecordError`. Readers never invent data: what they cannot parse they
reject.

A *writer* turns one trajectory into one output record (a JSON-ready dict); it raises `RecordError` when the
trajectory cannot be expressed in its format.

A reader opens no file itself. Files its format's layout names beside the input (BFCL's ``possible_answer/``,
ToolTalk's and API-Bank's sibling splits) are opened through `RecordContext.side_file`, which the pipeline
provides: it decodes them strictly, once per process, and records each one with its sha256 for the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from agentflan.errors import RecordError
from agentflan.schema import Provenance, Trajectory


@dataclass(frozen=True, eq=False)
class SideFile:
    """A file read beside an input: its decoded records (undecodable ones left out). Hashed by identity, so a
    reader may cache what it derives from the same side files."""

    path: str
    sha256: str
    records: tuple[Any, ...]


_DERIVED: list[Any] = []  # the caches `derived_from_side_files` made
_F = TypeVar("_F", bound=Callable[..., Any])


def derived_from_side_files(maxsize: int) -> Callable[[_F], _F]:
    """An `lru_cache` for what a reader derives from `SideFile`s, cleared by `forget_derived` with the side files
    themselves: the cache's keys hold the files' decoded records."""
    def wrap(fn: _F) -> _F:
        cached = lru_cache(maxsize=maxsize)(fn)
        _DERIVED.append(cached)
        return cast(_F, cached)
    return wrap


def forget_derived() -> None:
    for cached in _DERIVED:
        cached.cache_clear()
    _LISTED.clear()


# (folders, pattern) -> (the folders' modification times, the files found): what `files_in` listed lately. A
# reader needs the listings of the corpus it is reading; more would hold every corpus's names until
# `forget_derived` (30 replicas of API-Bank and ToolTalk: about 5,000 names).
_LISTED: dict[tuple[tuple[str, ...], str], tuple[tuple[int, ...], tuple[str, ...]]] = {}
_LISTED_MAX = 16


def files_in(folders: Iterable[str | Path], pattern: str) -> tuple[str, ...]:
    """The paths of the entries of ``folders`` that ``pattern`` (one path part) matches, in the order of their
    `Path`s; an absent folder holds none. Readers that read a record with its corpus's other files (API-Bank,
    ToolTalk) list the same folders for every record: a listing is kept until a folder's modification time changes
    (an entry added, removed or renamed). A file changed in place is caught where it is opened (`SideFile`s are
    keyed by size and time)."""
    names = tuple(map(str, folders))
    stamps: list[int] = []
    for name in names:
        try:
            stamps.append(os.stat(name).st_mtime_ns)
        except OSError:
            stamps.append(-1)
    key = (names, pattern)
    kept = _LISTED.get(key)
    if kept is not None and kept[0] == tuple(stamps):
        return kept[1]
    found = tuple(map(str, sorted(f for name, stamp in zip(names, stamps, strict=True) if stamp >= 0
                                  for f in Path(name).glob(pattern))))
    if len(_LISTED) >= _LISTED_MAX:
        _LISTED.clear()  # only the saving is lost
    _LISTED[key] = (tuple(stamps), found)
    return found


SideFileOpener = Callable[[str | Path], "SideFile | None"]


@lru_cache(maxsize=256)
def _stem(path: str) -> str:
    """``Path(path).stem``, asked for every record that has no id of its own: a `Path` costs about 3 us, about 2% of
    a ReAct record's reading."""
    return Path(path).stem


@dataclass(frozen=True)
class RecordContext:
    """Where the record being read came from; readers use it for ids and provenance."""

    path: str  # the file as opened
    index: int
    format: str
    line: int | None = None
    licence: str | None = None
    # The file as recorded in provenance (relative to the data root, or as the user gave it); `path` when None.
    source: str | None = None
    side_files: SideFileOpener | None = None

    def provenance(self, item: str | None = None) -> Provenance:
        return Provenance(source=self.source or self.path, format=self.format, line=self.line, index=self.index,
                          item=item, licence=self.licence)

    def side_file(self, path: str | Path) -> SideFile | None:
        """A side file named by the format's layout, or None when it is absent or unreadable (and when the
        record is read outside the pipeline, which alone can record what was opened)."""
        return self.side_files(path) if self.side_files is not None else None

    def default_id(self, item: str | None = None) -> str:
        """An id stable across runs when the record has none: file stem, index and item path."""
        base = f"{_stem(self.path)}:{self.index}"
        return f"{base}:{item}" if item is not None else base


@dataclass(frozen=True)
class ItemRejected:
    """One part of a record that could not be read (the other parts still are)."""

    error: RecordError
    item: str | None = None


ReadFn = Callable[[Any, RecordContext], Iterable[Trajectory | ItemRejected]]
DetectFn = Callable[[Any, str], bool]
WriteFn = Callable[[Trajectory], dict[str, Any]]


@dataclass(frozen=True)
class Reader:
    name: str
    read: ReadFn
    detect: DetectFn  # (first record of a file, file path) -> does this reader handle the file?
    description: str
    priority: int = 50  # lower is tried first by `--from auto`; specific formats before generic ones
    # When True the whole file is one record: `read` receives the list of all its decoded lines (API-Bank
    # writes one dialogue per file, one turn per line).
    group_file: bool = False


@dataclass(frozen=True)
class Writer:
    name: str
    write: WriteFn
    description: str
    # Whether read(write(t)) == t for every canonical trajectory (tested with hypothesis).
    lossless: bool = False
    # Files a format needs beside the output (e.g. LLaMA-Factory's dataset_info.json entry).
    companion: Callable[[Path], None] | None = None
    # The call syntax its assistant turns write calls in (a name of `agentflan.calls.NAMES`; structured
    # formats: "openai"), or the names it may write (sharegpt: a bare JSON call, or a <tool_call> block after
    # text): what `eval` reads them back with, checked by a round-trip test over every writer.
    call_syntax: str | tuple[str, ...] | None = None


def require(record: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """``record[key]`` checked for presence and type, or a `RecordError` naming the field."""
    field = f"{where}.{key}" if where else key
    if not isinstance(record, dict):
        raise RecordError("wrong_type", f"expected an object at {where or '<record>'}, got {type(record).__name__}",
                          where or None)
    if key not in record:
        raise RecordError("missing_field", f"{field} is missing", field)
    value = record[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "|".join(k.__name__ for k in kind)
        raise RecordError("wrong_type", f"{field} should be {names}, got {type(value).__name__}", field)
    return value
