"""Format registry: every module in this package that defines ``READER`` and/or ``WRITER`` is registered.

Modules are discovered, not listed, so adding a format is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from agentflan.errors import UsageError
from agentflan.formats.base import ItemRejected, Reader, RecordContext, Writer

__all__ = ["ItemRejected", "Reader", "RecordContext", "Writer", "detect_reader", "reader", "readers", "writer",
           "writers"]

_SKIP = {"base"}


@lru_cache(maxsize=1)
def _registry() -> tuple[dict[str, Reader], dict[str, Writer]]:
    found_readers: dict[str, Reader] = {}
    found_writers: dict[str, Writer] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for r in getattr(module, "READERS", [getattr(module, "READER", None)]):
            if r is not None:
                found_readers[r.name] = r
        for w in getattr(module, "WRITERS", [getattr(module, "WRITER", None)]):
            if w is not None:
                found_writers[w.name] = w
    return found_readers, found_writers


def readers() -> dict[str, Reader]:
    return dict(sorted(_registry()[0].items(), key=lambda kv: (kv[1].priority, kv[0])))


def writers() -> dict[str, Writer]:
    return dict(sorted(_registry()[1].items()))


def reader(name: str) -> Reader:
    try:
        return _registry()[0][name]
    except KeyError:
        raise UsageError(f"unknown input format {name!r}; choose from: auto, {', '.join(readers())}") from None


def writer(name: str) -> Writer:
    try:
        return _registry()[1][name]
    except KeyError:
        raise UsageError(f"unknown output format {name!r}; choose from: {', '.join(writers())}") from None


def detect_reader(first_record: object, path: str) -> Reader | None:
    """The first reader (by priority) that recognises a file from its first record and its path."""
    for r in readers().values():
        try:
            if r.detect(first_record, path):
                return r
        except Exception:
            continue
    return None
