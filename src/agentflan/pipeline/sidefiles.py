"""Side files: the files a reader opens beside its input because its format's layout names them (BFCL's
``possible_answer/<file>`` and ``multi_turn_func_doc/``, ToolTalk's and API-Bank's sibling splits).

Each is decoded by the same strict reader as any input (`sources.iter_records`), once per process, and every
one an input's reader opened is recorded with its sha256, under a path spelled like the input's own (relative to
the data root, or as given), so that the manifest lists every file a run read. Every input of a folder opens the
same siblings, so an input's ledger holds one mapping shared with the others that opened the same (`merged`):
a copy per input grew as files × siblings (306,144 entries, about 15 MiB, at 16× the corpora).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from functools import cached_property, lru_cache
from pathlib import Path

from agentflan.errors import InputError
from agentflan.files import sha256_file
from agentflan.formats.base import SideFile, forget_derived
from agentflan.pipeline.sources import SourceRecord, iter_records


class SideFiles:
    """The `SideFileOpener` of one input's record: opens side files for its reader and records them in
    ``opened`` (recorded path → sha256), which the caller folds into the input's ledger (`merged`)."""

    def __init__(self, path: str, source: str | None = None) -> None:
        self.path = path
        self.source = source or path
        self.opened: dict[str, str] = {}

    def __call__(self, side: str | Path) -> SideFile | None:
        found = load(side)
        if found is not None:
            # One string per name: every input of a folder opens the same siblings, so the same names recur in
            # many ledgers. Shared through `_NAMES`, not `sys.intern`: the interpreter's table of interned strings
            # never shrinks, and 30 replicas of the corpora name 7,680 siblings.
            recorded = self._recorded(os.fspath(side))
            if len(_NAMES) >= _NAMES_MAX:
                _NAMES.clear()  # only sharing is lost
            self.opened[_NAMES.setdefault(recorded, recorded)] = found.sha256
        return found

    def _recorded(self, side: str) -> str:
        """`recorded_path` of ``side`` for this input, its input's part worked out once (a record of API-Bank
        opens some 50 side files)."""
        return _respelled(side, self._spelling)

    @cached_property
    def _spelling(self) -> _Spelling | None:
        return _spelling_of(self.path, self.source)


def merged(seen: Mapping[str, str], opened: Mapping[str, str]) -> Mapping[str, str]:
    """``seen`` with ``opened`` added (a later sha256 of a path replaces an earlier one), as a mapping shared by
    every ledger that holds the same entries in the same order; never to be modified.

    >>> a = merged({}, {"x": "1", "y": "2"})
    >>> b = merged(merged({}, {"x": "1"}), {"y": "2"})
    >>> a is b, dict(a), merged(a, {"x": "1"}) is a
    (True, {'x': '1', 'y': '2'}, True)
    """
    if all(seen.get(path) == sha for path, sha in opened.items()):
        return seen
    both = {**seen, **opened}
    key = tuple(both.items())
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()  # only sharing is lost: a ledger keeps the mapping it holds
        shared = _SHARED[key] = both
    return shared


# Distinct sets of side files seen lately: one per corpus folder read (a few per corpus, times its replicas).
_SHARED: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
_SHARED_MAX = 1024
# The recorded names of the side files opened so far, each the one string the ledgers share (until `release`).
_NAMES: dict[str, str] = {}
_NAMES_MAX = 1 << 16


def recorded_path(side: str | Path, input_path: str, input_source: str) -> str:
    """``side`` spelled as the input is: beside the input's recorded path, not the path it was opened by.

    >>> recorded_path(Path("/data/gorilla/possible_answer/BFCL_v4_x.json"), "/data/gorilla/BFCL_v4_x.json",
    ...               "gorilla/BFCL_v4_x.json")
    'gorilla/possible_answer/BFCL_v4_x.json'
    >>> recorded_path(Path("/cache/possible_answer/BFCL_v4_x.json"), "/cache/BFCL_v4_x.json", "bfcl:BFCL_v4_x.json")
    'bfcl:possible_answer/BFCL_v4_x.json'
    """
    return _respelled(os.fspath(side), _spelling_of(input_path, input_source))


# `_spelled`'s arguments after the side file, for one input; None when the input is recorded as it was opened.
_Spelling = tuple[str, str, str, str]


def _respelled(side: str, spelling: _Spelling | None) -> str:
    return os.path.normpath(side) if spelling is None else _spelled(side, *spelling)


def _spelling_of(input_path: str, input_source: str) -> _Spelling | None:
    """`_spelled`'s arguments after the side file: where the input was opened, the folder of its recorded path,
    the recorded path's scheme (``bfcl:``) and the working directory; None for an input recorded as opened."""
    if input_source == input_path:
        return None
    scheme, sep, rest = input_source.partition(":")
    if not sep or "/" in scheme:
        scheme, rest = "", input_source
    return os.path.dirname(input_path) or ".", os.path.dirname(rest), scheme, os.getcwd()


# Every record of a folder's files opens the same siblings (ToolTalk, API-Bank: 19,134 openings of 256 distinct
# (folder, sibling) pairs in a build of the corpora, each spelled in about 8 us), so spellings are kept per
# folder, not per input: enough for one corpus's siblings (ToolTalk's 110 or so), as one corpus is read at a
# time. The working directory is part of the key: a relative path's spelling depends on it.
@lru_cache(maxsize=512)
def _spelled(side: str, opened_in: str, recorded_in: str, scheme: str, cwd: str) -> str:
    del cwd
    spelled = os.path.normpath(os.path.join(recorded_in, os.path.relpath(side, opened_in)))
    return f"{scheme}:{spelled}" if scheme else spelled


def load(path: str | Path) -> SideFile | None:
    """A side file's records, or None when it is not a readable regular file."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # absent, a name too long for the OS, a NUL in the name...
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return _load(os.fspath(path), info.st_size, info.st_mtime_ns)


# Enough for the largest sibling scan of one corpus (ToolTalk: ~110 files; API-Bank's ToolSearcher folders: ~60)
# with room: a scan larger than the cache would read every file again per record; a larger cache holds more of
# the corpora than any scan needs.
@lru_cache(maxsize=256)
def _load(path: str, size: int, mtime_ns: int) -> SideFile | None:
    del size, mtime_ns  # part of the cache key: a file changed on disk is read again
    try:
        digest: list[str] = []  # found while reading it: the file is read once
        records = tuple(r.value for r in iter_records(path, digest.append) if isinstance(r, SourceRecord))
        return SideFile(path, digest[0] if digest else sha256_file(path), records)
    except (InputError, OSError):
        return None


def release() -> None:
    """Let go of the side files decoded so far (they are read again if opened again). A command calls it when
    its reading is done, so that the memory they held is reused by the work after it rather than added to it."""
    _load.cache_clear()
    _spelled.cache_clear()
    _SHARED.clear()
    _NAMES.clear()
    forget_derived()  # and the folder listings (`formats.base.files_in`)
