#!/usr/bin/env bash
# GPU check of `agentflan train` (< 5 minutes on one H100/H200): trains the tiny config from scratch with bf16 on
# CUDA (packing, capability-aware loss), prints the per-capability losses and checks they are finite and falling,
# then measures the step-time overhead of capability tracking against plain transformers.Trainer on the GPU.
#
# The device image has torch/transformers/peft/accelerate but not pydantic. Once, on a machine with pip access:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 \
#     typing-inspection==0.4.5
# then run it with the device tool:  run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=420)
# Outputs (metrics.jsonl, capability_loss.png, train_summary.json, logs) land in $OUT (default /tmp/gpu_check).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
WORK=/tmp/gpu_check_work
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

if ! python3 -c "import pydantic" 2>/dev/null; then
  [ -d .whl ] || { echo "pydantic is missing and no .whl folder was carried (see the header)"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}

python3 - <<'EOF'
import torch, transformers, peft, accelerate
print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
      f"accelerate {accelerate.__version__}")
assert torch.cuda.is_available(), "no CUDA device"
print(f"device {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")
EOF

python3 - "$WORK/build" <<'EOF'
import sys
from pathlib import Path
from agentflan.train.synthetic import synthetic_corpus
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "canonical.jsonl").write_text("".join(t.to_json() + "\n" for t in synthetic_corpus(3000)))
EOF

echo "== train: tiny-cpu recipe on CUDA, bf16, 300 steps"
start=$(date +%s)
python3 -m agentflan.train recipes/train/tiny-cpu.yaml -q --set data="$WORK/build" --set output_dir="$WORK/run" \
  --set bf16=true --set max_steps=300 --set per_device_batch_size=16 --set logging_steps=25 \
  --set model.tiny.hidden_size=256 --set model.tiny.intermediate_size=512 --set model.tiny.num_layers=4 \
  2>&1 | grep -v "Writing model shards" | tee "$OUT/train.log"
echo "train wall time: $(( $(date +%s) - start )) s"
cp "$WORK/run/metrics.jsonl" "$WORK/run/capability_loss.png" "$WORK/run/train_summary.json" "$OUT/"

python3 - "$WORK/run" <<'EOF'
import json, math, sys
from pathlib import Path
run = Path(sys.argv[1])
rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
steps = [r for r in rows if "train_runtime" not in r]
keys = sorted({k for r in steps for k in r if k.startswith("loss/")})
caps = [k for k in keys if not k.startswith("loss/source/")]
fmt = lambda v: f"{v:8.4f}" if isinstance(v, float) else f"{'-':>8}"
print(f"{'metric':32} {'first':>8} {'last':>8}")
for k in ["loss", *caps, *(k for k in keys if k.startswith("loss/source/"))]:
    print(f"{k:32} {fmt(steps[0].get(k))} {fmt(steps[-1].get(k))}")
bad = [(r["step"], k) for r in steps for k in caps if k in r and (r[k] is None or not math.isfinite(r[k]))]
summary = json.loads((run / "train_summary.json").read_text())
print("bf16:", summary["config"]["bf16"], "| steps:", summary["result"]["global_step"],
      "| train_runtime s:", summary["result"].get("train_runtime"))
print("finite per-capability loss at every step:", not bad, "| loss fell:", steps[-1]["loss"] < steps[0]["loss"])
sys.exit(1 if bad or steps[-1]["loss"] >= steps[0]["loss"] else 0)
EOF

echo "== step-time overhead of capability tracking vs plain transformers.Trainer (CUDA, bf16)"
python3 benchmarks/train_overhead.py --device cuda --bf16 --samples 1500 --steps 60 --warmup 10 --rounds 3 \
  --batch 16 --hidden 512 --layers 4 2>&1 | grep -v -i warn | tee "$OUT/overhead.log"
