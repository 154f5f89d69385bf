"""BFCL v4 data and simulated APIs: from the data root when it holds ``gorilla/bfcl_v4``, else from the
``bfcl-eval`` wheel, downloaded once with pip into the cache and extracted there. Used by recipes
(``bfcl:NAME`` inputs) and by the evaluation (question files, ground truth, the multi-turn API classes)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from agentflan.errors import ConfigError
from agentflan.paths import cache_dir, data_root

BFCL_WHEEL = "bfcl-eval==2026.3.23"
BFCL_IN_DATA_ROOT = Path("gorilla") / "bfcl_v4"  # byte-identical copy of the wheel's bfcl_eval/data
_IN_WHEEL = "bfcl_eval/data/"
_APIS = "bfcl_eval/eval_checker/multi_turn_eval/func_source_code/"


def bfcl_file(relative: str, root: Path | None = None, cache: Path | None = None) -> Path:
    """A BFCL v4 data file (e.g. ``BFCL_v4_irrelevance.json``), from the data root or the cached wheel."""
    local = (root or data_root()) / BFCL_IN_DATA_ROOT / relative
    if local.exists():
        return local
    target = (cache or cache_dir()) / "bfcl-eval" / BFCL_WHEEL.replace("==", "-")
    path = target / relative
    if not path.exists():
        _extract_wheel(target)
    if not path.exists():
        raise ConfigError(f"bfcl:{relative}: no such file in {BFCL_WHEEL} (see {target})")
    return path


def bfcl_source(cache: Path | None = None) -> Path:
    """A folder holding the ``bfcl_eval`` package's simulated APIs (the multi-turn categories' Python classes),
    extracted from the cached wheel, fetched once."""
    target = (cache or cache_dir()) / "bfcl-eval" / BFCL_WHEEL.replace("==", "-")
    source = target / "src"
    if not (source / _APIS / "__init__.py").exists():
        with zipfile.ZipFile(_wheel(target)) as zf:
            names = [n for n in zf.namelist() if n.startswith(_APIS) and n.endswith(".py")]
            # The packages above the APIs, as empty modules: their real __init__ files pull in the whole
            # evaluation harness and its dependencies, which the APIs do not need.
            parts = _APIS.rstrip("/").split("/")
            for depth in range(1, len(parts)):
                init = source / "/".join(parts[:depth]) / "__init__.py"
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text("")
            for name in names:
                _write_member(zf, name, source / name)
    return source


def _extract_wheel(target: Path) -> None:
    with zipfile.ZipFile(_wheel(target)) as zf:
        for info in zf.infolist():
            if info.filename.startswith(_IN_WHEEL) and not info.is_dir():
                _write_member(zf, info.filename, target / info.filename[len(_IN_WHEEL):])


def _write_member(zf: zipfile.ZipFile, name: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(zf.read(name))
    tmp.replace(dest)


def _wheel(target: Path) -> Path:
    """The cached ``bfcl-eval`` wheel, downloaded with pip the first time."""
    wheels = target / "wheel"
    found = sorted(wheels.glob("bfcl_eval-*.whl")) if wheels.is_dir() else []
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", BFCL_WHEEL, "-d", str(wheels)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"cannot fetch {BFCL_WHEEL} ({exc}); set AGENTFLAN_DATA to a copy of the data") from exc
        found = sorted(wheels.glob("bfcl_eval-*.whl"))
        if done.returncode != 0 or not found:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ConfigError(f"cannot fetch {BFCL_WHEEL} with pip (offline?): {last[0]}. Either connect to PyPI "
                              "once (the wheel is cached) or set AGENTFLAN_DATA to a directory holding "
                              f"{BFCL_IN_DATA_ROOT}/")
    return found[-1]
