"""Finding a recipe's input files: paths under the data root, bundled examples, and BFCL v4 data
(`agentflan.bfcldata`: from the data root when present, else from the ``bfcl-eval`` wheel).

Everything is resolved before any work starts, so a missing input is an error, not a half-built output.
"""

from __future__ import annotations

import glob
import os
from importlib import resources
from pathlib import Path

from agentflan.bfcldata import bfcl_file
from agentflan.errors import ConfigError, InputError
from agentflan.paths import data_root
from agentflan.pipeline.sources import expand_inputs


def bundled_dir() -> Path:
    return Path(str(resources.files("agentflan") / "data"))


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
