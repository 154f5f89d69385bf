#!/usr/bin/env bash
# Do agentflan's exports train in TRL, XTuner, LLaMA-Factory and ms-swift, with the balancing masks intact?
#
#   scripts/check_frameworks.sh [OUT_DIR] [FRAMEWORK...]      e.g. scripts/check_frameworks.sh out/frameworks xtuner
#
# 1. builds recipes/agent-flan.yaml (real corpora from $AGENTFLAN_DATA) into OUT_DIR/build;
# 2. trains a byte-level BPE tokenizer on it and makes a tiny random Qwen2 with a Qwen2.5-style tool template
#    (scripts/frameworks/tiny_model.py; nothing from a model hub), and the pre-tokenised TRL rows
#    (agentflan train --export-trl);
# 3. installs each framework in its own venv under $FW_ROOT (default ~/.cache/agentflan/frameworks), CPU torch
#    pinned (scripts/frameworks/install.sh, constraints.txt), once;
# 4. loads the export with the framework's own loader, compares what it supervises with the `loss` flags token
#    for token, and runs 2 training steps (scripts/frameworks/check_<framework>.py);
# 5. writes OUT_DIR/report.md (the table of docs/ecosystem.md); exit 1 when a framework dropped a row, trained
#    against the export's flags or showed the tools twice.
# Frameworks: trl xtuner llamafactory ms-swift floors (default: all; floors = the TRL check with the oldest
# datasets, TRL and transformers that pyproject.toml allows). Runs on a CPU; the first run installs several GB.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-$repo/out/frameworks}")"
[[ $# -gt 0 ]] && shift
frameworks=("$@")
[[ ${#frameworks[@]} -gt 0 ]] || frameworks=(trl xtuner llamafactory ms-swift floors)
export FW_ROOT="${FW_ROOT:-$HOME/.cache/agentflan/frameworks}"
py="${AGENTFLAN_PYTHON:-$repo/.venv/bin/python}"
here="$repo/scripts/frameworks"
mkdir -p "$out"
rm -f "$out"/*/results.jsonl

echo "== build recipes/agent-flan.yaml → $out/build"
"$py" -m agentflan build "$repo/recipes/agent-flan.yaml" -o "$out/build" > "$out/build.log"
echo "== tiny model → $out/tiny"
"$py" "$here/tiny_model.py" "$out/build" "$out/tiny" > /dev/null 2>&1
mkdir -p "$out/trl-tokenized"
cat > "$out/trl-tokenized/train.yaml" <<YAML
data: $out/build/canonical.jsonl
output_dir: $out/trl-tokenized/run
model: {name_or_path: $out/tiny/model}
labels: {max_length: 32768, overlong: truncate}
YAML
"$py" -m agentflan train "$out/trl-tokenized/train.yaml" --export-trl "$out/trl-tokenized/train.jsonl" --quiet

for fw in "${frameworks[@]}"; do
  echo "== $fw: install (once) and check"
  bash "$here/install.sh" "$fw"
  python="$FW_ROOT/$fw/bin/python"
  log="$out/$fw.log"
  case "$fw" in
    trl) "$python" "$here/check_trl.py" "$out/build" "$out/tiny" "$out/trl-tokenized/train.jsonl" "$out/trl" > "$log" 2>&1 ;;
    xtuner) "$python" "$here/check_xtuner.py" "$out/build" "$out/tiny" "$out/xtuner" > "$log" 2>&1 ;;
    llamafactory) "$python" "$here/check_llamafactory.py" "$out/build" "$out/tiny" "$out/llamafactory" > "$log" 2>&1 ;;
    ms-swift) "$python" "$here/check_swift.py" "$out/build" "$out/tiny" "$out/ms-swift" > "$log" 2>&1 ;;
    floors) "$python" "$here/check_trl.py" "$out/build" "$out/tiny" "$out/trl-tokenized/train.jsonl" "$out/floors" \
              "TRL (pyproject floors)" > "$log" 2>&1 ;;
    *) echo "unknown framework $fw (trl, xtuner, llamafactory, ms-swift)" >&2; exit 2 ;;
  esac || { echo "$fw check failed: see $log" >&2; tail -20 "$log" >&2; exit 1; }
done
"$py" "$here/report.py" "$out"
