#!/usr/bin/env bash
# Install one training framework in its own venv under $FW_ROOT (default /work/fw), CPU torch pinned by
# constraints.txt so that no CUDA wheels are pulled. Idempotent: an existing venv with the framework is kept.
#   scripts/frameworks/install.sh trl|xtuner|llamafactory|ms-swift|floors
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw="$1"
root="${FW_ROOT:-/work/fw}"
venv="$root/$fw"
constraints="$here/constraints.txt"
declare -A SPEC=(
  [trl]="trl==1.16.0"
  # The floors of pyproject.toml's train extra: the oldest releases the exports are checked with.
  [floors]="trl==1.0.0 datasets==4.7.0 transformers==4.56.2 accelerate==1.4.0 peft==0.12.0"
  [xtuner]="xtuner==0.2.0"
  [llamafactory]="llamafactory==0.9.5"
  [ms-swift]="ms-swift==4.6.0"
)
[[ -n "${SPEC[$fw]:-}" ]] || { echo "unknown framework $fw (trl, xtuner, llamafactory, ms-swift, floors)" >&2; exit 2; }
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import importlib.metadata as m; m.version('${SPEC[$fw]%%==*}')" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
pip=("$venv/bin/pip" install -q -c "$constraints")
"${pip[@]}" "torch==2.13.0"
case "$fw" in
  llamafactory)
    # LLaMA-Factory imports torchaudio at module level, and no torchaudio release on PyPI is built for torch 2.13
    # (the newest pins torch 2.11): install its newest without dependencies; the audio code is never run here.
    "$venv/bin/pip" install -q --no-deps "torchaudio==2.11.1"
    grep -v '^torchaudio' "$constraints" > "$venv/constraints.txt"
    "$venv/bin/pip" install -q -c "$venv/constraints.txt" "torchvision==0.28.0" "${SPEC[$fw]}" \
      || "$venv/bin/pip" install -q -c "$venv/constraints.txt" --no-deps "${SPEC[$fw]}"
    ;;
  *)
    # shellcheck disable=SC2086
    "${pip[@]}" ${SPEC[$fw]}
    ;;
esac

# PyPI's torchvision and torchaudio wheels are CUDA builds (or, for torchaudio, built for an older torch): their
# compiled operators do not load with the CPU torch, and importing them fails. Nothing here runs vision or audio
# code, but LLaMA-Factory (torchaudio) and XTuner (torchvision.transforms) import them at module level: they are
# replaced by stub packages that import and raise if used. transformers sees no distribution metadata for them,
# so it treats them as absent.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
stub() {  # stub NAME [SUBMODULE...]: a package whose attributes raise ImportError when used
  local name="$1"; shift
  "$venv/bin/pip" uninstall -q -y "$name" >/dev/null 2>&1 || true
  rm -rf "${site:?}/$name"
  for module in __init__ "$@"; do
    mkdir -p "$(dirname "$site/$name/$module")"
    cat > "$site/$name/$module.py" <<PY
"""Stub (scripts/frameworks/install.sh): PyPI's $name wheel does not load with the CPU torch."""
import enum


class InterpolationMode(enum.Enum):  # named at import time by XTuner's InternVL dataset module
    BICUBIC = "bicubic"
    BILINEAR = "bilinear"


def __getattr__(attr):
    if attr.startswith("__"):
        raise AttributeError(attr)
    raise ImportError(f"{__name__}.{attr} is a stub in this venv")
PY
  done
}
case "$fw" in
  # transformers imports torchvision whenever it finds one, so LLaMA-Factory's venv has none at all.
  llamafactory) stub torchaudio; "$venv/bin/pip" uninstall -q -y torchvision >/dev/null 2>&1 || true ;;
  xtuner) stub torchvision transforms/__init__ transforms/functional ;;
esac
