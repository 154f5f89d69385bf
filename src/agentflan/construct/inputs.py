"""Finding a recipe's input files: paths under the data root, bundled examples, and BFCL v4 data (from the data
root when present, else from the ``bfcl-eval`` wheel, downloaded once with pip into the cache).

Everything is resolved before any work starts, so a missing input is an error, not a half-built output.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

from agentflan.errors import ConfigError, InputError
from agentflan.paths import cache_dir, data_root
from agentflan.pipeline.sources import expand_inputs

BFCL_WHEEL = "bfcl-eval==2026.3.23"
BFCL_IN_DATA_ROOT = Path("gorilla") / "bfcl_v4"  # byte-identical copy of the wheel's bfcl_eval/data
_BFCL_IN_WHEEL = "bfcl_eval/data/"
_BFCL_APIS = "bfcl_eval/eval_checker/multi_turn_eval/func_source_code/"


def bundled_dir() -> Path:
    return Path(str(resources.files("agentflan") / "data"))


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
    if not (source / _BFCL_APIS / "__init__.py").exists():
        with zipfile.ZipFile(_wheel(target)) as zf:
            names = [n for n in zf.namelist() if n.startswith(_BFCL_APIS) and n.endswith(".py")]
            # The packages above the APIs, as empty modules: their real __init__ files pull in the whole
            # evaluation harness and its dependencies, which the APIs do not need.
            parts = _BFCL_APIS.rstrip("/").split("/")
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
            if info.filename.startswith(_BFCL_IN_WHEEL) and not info.is_dir():
                _write_member(zf, info.filename, target / info.filename[len(_BFCL_IN_WHEEL):])


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


def resolve(path: str, root: Path | None = None) -> list[Path]:
    """The files one input path names (sorted; globs and directories expanded). Raises `ConfigError`.

    A relative path is under the data root: one that leads out of it (``../../etc/passwd``) is refused; a file
    elsewhere needs an absolute path, which the manifest then records as written."""
    root = root or data_root()
    if path.startswith("bundled:"):
        candidates = [bundled_dir() / path.removeprefix("bundled:")]
    elif path.startswith("bfcl:"):
        candidates = [bfcl_file(path.removeprefix("bfcl:"), root)]
    else:
        p = Path(path).expanduser()
        if not p.is_absolute() and not _inside(root / p, root):
            raise ConfigError(f"input {path!r}: leads out of the data root {root}; give an absolute path to read a "
                              "file elsewhere")
        p = p if p.is_absolute() else root / p
        if any(ch in str(p) for ch in "*?["):
            candidates = [Path(x) for x in sorted(glob.glob(str(p), recursive=True))]
            if not candidates:
                raise ConfigError(f"input {path!r}: the pattern matches no file under {root}")
        else:
            candidates = [p]
    try:
        files = expand_inputs(candidates)
    except InputError as exc:
        raise ConfigError(f"input {path!r}: {exc} (data root {root}; set AGENTFLAN_DATA)") from None
    if not files:
        raise ConfigError(f"input {path!r}: no data files found")
    return files


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` stays under ``root`` once ``..`` are resolved (lexically: the root may be a symlink)."""
    try:
        return os.path.commonpath([os.path.normpath(path), os.path.normpath(root)]) == os.path.normpath(root)
    except ValueError:  # one absolute, one relative
        return False


def recorded_path(path: Path, spec: str, root: Path | None = None) -> str:
    """How a recipe input file is recorded in provenance, rejects and the manifest: relative to the data root,
    ``bundled:NAME`` or ``bfcl:NAME`` as the recipe spells them, and an absolute path outside the data root as
    written. The same build on two machines records the same paths.

    >>> recorded_path(Path("/data/FireAct/gpt_format/hotpotqa.jsonl"), "FireAct/gpt_format", Path("/data"))
    'FireAct/gpt_format/hotpotqa.jsonl'
    """
    root = root or data_root()
    if spec.startswith("bundled:"):
        return f"bundled:{os.path.relpath(path, bundled_dir())}"
    if spec.startswith("bfcl:"):
        return spec
    if not Path(spec).expanduser().is_absolute() and _inside(path, root):
        return os.path.relpath(os.path.normpath(path), os.path.normpath(root))
    return str(path)
