"""Where BFCL v4 data comes from: a local folder (``AGENTFLAN_DATA``'s ``gorilla/bfcl_v4``, or any path), else the
``bfcl-eval`` wheel from PyPI, downloaded once with ``pip download --no-deps`` into the cache and unpacked there.

The wheel holds the same files as the gorilla repository (``bfcl_eval/data/BFCL_v4_*.json`` and
``possible_answer/``), byte for byte, so results do not depend on where the data came from.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from agentflan.errors import InputError
from agentflan.paths import cache_dir, data_root

WHEEL = "bfcl-eval"
WHEEL_VERSION = "2026.3.23"
_MARKER = "BFCL_v4_simple_python.json"


def is_bfcl_dir(path: Path) -> bool:
    return (path / _MARKER).is_file()


def bfcl_dir(path: Path | None = None, fetch: bool = True) -> Path:
    """The folder holding ``BFCL_v4_*.json`` and ``possible_answer/``.

    ``path`` may be that folder or a data root containing ``gorilla/bfcl_v4``; without it the data root and
    then the wheel cache are tried, and the wheel is downloaded when ``fetch`` is true.
    """
    candidates = [path, path / "gorilla" / "bfcl_v4"] if path is not None else []
    if path is None:
        candidates.append(data_root() / "gorilla" / "bfcl_v4")
    for candidate in candidates:
        if candidate is not None and is_bfcl_dir(candidate):
            return candidate
    if path is not None:
        raise InputError(f"no BFCL v4 data in {path} (expected {_MARKER} there or under gorilla/bfcl_v4)")
    unpacked = cache_dir() / f"bfcl-eval-{WHEEL_VERSION}" / "data"
    if is_bfcl_dir(unpacked):
        return unpacked
    if not fetch:
        raise InputError(f"no BFCL v4 data: set AGENTFLAN_DATA or pass a folder ({unpacked} is not cached)")
    return _unpack(_download(), unpacked)


def _download() -> Path:
    target = cache_dir() / "wheels"
    target.mkdir(parents=True, exist_ok=True)
    found = sorted(target.glob(f"bfcl_eval-{WHEEL_VERSION}-*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(target),
           f"{WHEEL}=={WHEEL_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(target.glob(f"bfcl_eval-{WHEEL_VERSION}-*.whl"))
    if proc.returncode != 0 or not found:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel found"]
        raise InputError(f"could not download {WHEEL}=={WHEEL_VERSION} (offline?): {last[0]}. "
                         "Point --data at a folder holding BFCL v4 instead.")
    return found[0]


def _unpack(wheel: Path, dest: Path) -> Path:
    """Extract ``bfcl_eval/data/**`` from the wheel into ``dest`` (written to a temporary folder first, so an
    interrupted extraction is never taken for a complete one)."""
    tmp = dest.with_name(dest.name + ".partial")
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist()
                   if n.startswith("bfcl_eval/data/") and not n.endswith("/") and ".." not in n.split("/")]
        if not members:
            raise InputError(f"{wheel} holds no bfcl_eval/data/ folder")
        for name in members:
            out = tmp / name.removeprefix("bfcl_eval/data/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(name))
    if dest.exists():
        return dest
    tmp.rename(dest)
    if not is_bfcl_dir(dest):
        raise InputError(f"{wheel} does not hold {_MARKER}")
    return dest
