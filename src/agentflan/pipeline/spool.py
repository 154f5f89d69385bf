"""Large byte results of a worker handed over through a file instead of the result pipe: the worker writes them to
a file of its own in a scratch folder the executor made (`new_folder`; `configure`, in the worker's start-up)
and returns where they are (`Spooled`); the parent reads them (`take`), writes them to its output, hashing them on
the way, and the file is removed. Outside a worker, or below `MIN_BYTES`, `put` returns the bytes themselves.

Pickling and piping a result through the pool costs the worker and the parent about as much as the bytes are
large (for `convert`, twice the input); a file write and a read cost a fraction of that.

    >>> put(b"small") == b"small"
    True
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass

# Below this, the bytes travel in the result itself (a file costs more than piping them).
MIN_BYTES = 64 << 10
# Scratch folders are named after the command that made them (`new_folder`), so that a later one can tell those
# of dead commands.
FOLDER_PREFIX = "agentflan-spool-"

_folder: str | None = None
_names = itertools.count()


def new_folder() -> str:
    """A new scratch folder for this command's workers, in the system's temporary folder, after removing those
    that commands no longer running left there (a killed command cannot remove its own)."""
    import tempfile

    from agentflan.files import pid_alive

    base = tempfile.gettempdir()
    try:
        entries = list(os.scandir(base))
    except OSError:
        entries = []
    for entry in entries:
        pid = entry.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        if entry.name.startswith(FOLDER_PREFIX) and pid.isdigit() and int(pid) != os.getpid() \
                and entry.is_dir(follow_symlinks=False) and not pid_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=base)


def configure(folder: str | None) -> None:
    """In a worker: spool large results into ``folder`` (None: never)."""
    global _folder
    _folder = folder


@dataclass(frozen=True)
class Spooled:
    """Bytes a worker wrote to ``path``, which belongs to the receiver from then on."""

    path: str

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            data = f.read()
        os.unlink(self.path)
        return data


def put(data: bytes | bytearray) -> bytes | Spooled:
    """``data`` as bytes, or in a worker for large ``data`` a `Spooled` that holds it."""
    if _folder is None or len(data) < MIN_BYTES:
        return bytes(data)
    path = os.path.join(_folder, f"{os.getpid()}-{next(_names)}")
    with open(path, "wb") as f:
        f.write(data)
    return Spooled(path)


def take(data: bytes | Spooled) -> bytes:
    """The bytes, wherever they are."""
    return data.read() if isinstance(data, Spooled) else data
