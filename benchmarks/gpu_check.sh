#!/usr/bin/env bash
# GPU check of `agentflan train` on one H100/H200 (about 5 minutes). Each step has its own time limit and log in
# $OUT, so one failing step leaves the others' results:
#   train-bf16  the tiny config from scratch with bf16 on CUDA (packing, capability-aware loss), 300 steps:
#               per-capability losses finite at every logging step and the loss falling (benchmarks/check_run.py);
#   lora/qlora  LoRA and QLoRA (4-bit NF4, bitsandbytes) on a small checkpoint saved to disk first, as a
#               pretrained model would be (model.name_or_path);
#   fsdp/zero2/zero3  `accelerate launch` with the shipped FSDP and DeepSpeed ZeRO-2/3 configs, one process;
#   eval        `agentflan eval` with the transformers backend (bf16 on CUDA) on two BFCL v4 categories, with the
#               train-bf16 model (or a short run's); BFCL files from $BFCL_DIR, else the cached bfcl-eval wheel;
#   overhead    step time of capability tracking against plain transformers.Trainer on the GPU (8 layers, hidden 2048).
#
# The device image has torch/transformers/peft/accelerate but not pydantic, bitsandbytes or deepspeed. Once, on a
# machine with pip access (deepspeed has no wheel on PyPI: build a pure-Python one, its CUDA ops left out):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 --platform manylinux_2_24_x86_64 -d .whl pydantic==2.14.4 \
#     pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 bitsandbytes==0.50.2 hjson==3.1.0
#   python3 -m pip download --no-deps --no-binary=:all: -d /tmp/ds deepspeed==0.19.8
#   DS_BUILD_OPS=0 pip wheel --no-deps --no-build-isolation -w .whl /tmp/ds/deepspeed-0.19.8.tar.gz
# then run it with the device tool:  run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=560)
# STEPS="zero3 overhead" runs only the steps named. Outputs (one log per step, results.txt, and the bf16 run's
# metrics.jsonl, capability_loss.png, train_summary.json) land in $OUT (default /tmp/gpu_check).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
WORK=/tmp/gpu_check_work
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -c "import pydantic" || { echo "pydantic is missing and no .whl folder was carried (see the header)"; exit 1; }
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
RESULTS=$OUT/results.txt
: > "$RESULTS"

# step NAME SECONDS COMMAND...: one step, logged to $OUT/NAME.log, its pass/fail and time added to results.txt.
step() {
  local name=$1 limit=$2 start rc=0
  shift 2
  if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return 0; fi
  start=$(date +%s)
  echo "== $name"
  # Through bash -c, since timeout cannot run a shell function (train) itself.
  timeout "$limit" bash -c '"$@"' _ "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  grep -v -e "Writing model shards" -e "it/s]" "$OUT/$name.log" | tail -n 20
  echo "$name: $([ $rc = 0 ] && echo pass || echo "FAIL (exit $rc)") in $(( $(date +%s) - start )) s" | tee -a "$RESULTS"
}

# train NAME [--set ...]: the tiny recipe on the synthetic data, then its metrics checked. $LAUNCH (default
# python3) runs it, e.g. LAUNCH="accelerate launch --config_file ... --num_processes 1".
train() {
  local name=$1
  shift
  ${LAUNCH:-python3} -m agentflan.train recipes/train/tiny-cpu.yaml -q --set data="$WORK/build" \
    --set output_dir="$WORK/$name" --set bf16=true --set save_steps=100000 "$@" \
    && python3 benchmarks/check_run.py "$WORK/$name"
}
# eval_check [--set ...]: agentflan eval on the bf16 run's model, or on a short run's (given these settings).
eval_check() {
  local model=$WORK/train-bf16/model
  if [ ! -d "$model" ]; then
    train eval-model "$@" > /dev/null || return 1
    model=$WORK/eval-model/model
  fi
  python3 -m agentflan eval run --bench bfcl.irrelevance --bench bfcl.simple_python --model "$model" \
    -o "$WORK/eval" --limit 32 --batch-size 16 --max-new-tokens 64 ${BFCL_DIR:+--data "$BFCL_DIR"} \
    && cp "$WORK"/eval/results.{md,json} "$OUT/" && cat "$WORK/eval/results.md"
}
export -f train eval_check
export WORK OUT

python3 - <<'EOF'
import torch, transformers, peft, accelerate
print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
      f"accelerate {accelerate.__version__}")
assert torch.cuda.is_available(), "no CUDA device"
print(f"device {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")
EOF
[ $? = 0 ] || exit 1

# Synthetic data, and a small checkpoint on disk for LoRA/QLoRA, which start from a pretrained model.
python3 - "$WORK" <<'EOF'
import sys
from pathlib import Path
from agentflan.train.config import TinyModel
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.tiny import build_model, train_tokenizer
work = Path(sys.argv[1])
trajectories = synthetic_corpus(3000)
(work / "build").mkdir(parents=True, exist_ok=True)
(work / "build" / "canonical.jsonl").write_text("".join(t.to_json() + "\n" for t in trajectories))
cfg = TinyModel(vocab_size=2048, hidden_size=256, intermediate_size=512, num_layers=4, num_heads=4)
tokenizer = train_tokenizer(trajectories, cfg)
build_model(cfg, tokenizer, seed=0).save_pretrained(work / "base")
tokenizer.save_pretrained(work / "base")
EOF
[ $? = 0 ] || exit 1

TINY=(--set model.tiny.hidden_size=256 --set model.tiny.intermediate_size=512 --set model.tiny.num_layers=4)
SHORT=(--set max_steps=60 --set logging_steps=10 --set per_device_batch_size=8)
step train-bf16 150 train train-bf16 --set max_steps=300 --set per_device_batch_size=16 --set logging_steps=25 \
  "${TINY[@]}"
cp "$WORK"/train-bf16/{metrics.jsonl,capability_loss.png,train_summary.json} "$OUT/" 2>/dev/null

PRETRAINED=(--set model.tiny=null --set model.name_or_path="$WORK/base")
step lora 100 train lora "${PRETRAINED[@]}" "${SHORT[@]}" --set lora.r=16
step qlora 120 train qlora "${PRETRAINED[@]}" "${SHORT[@]}" --set lora.r=16 --set lora.quantize_4bit=true

LAUNCH="accelerate launch --num_processes 1 --num_machines 1 --config_file recipes/train/accelerate/fsdp.yaml" \
  step fsdp 120 train fsdp "${TINY[@]}" "${SHORT[@]}"
LAUNCH="accelerate launch --num_processes 1 --num_machines 1 --config_file recipes/train/accelerate/zero2.yaml" \
  step zero2 120 train zero2 "${TINY[@]}" "${SHORT[@]}"
LAUNCH="accelerate launch --num_processes 1 --num_machines 1 --config_file recipes/train/accelerate/zero3.yaml" \
  step zero3 120 train zero3 "${TINY[@]}" "${SHORT[@]}"

step eval 150 eval_check "${TINY[@]}" "${SHORT[@]}"

# A model large enough for the GPU, not the host's kernel launches, to set the step time (56 ms on an H200).
step overhead 150 python3 benchmarks/train_overhead.py --device cuda --bf16 --samples 1500 --steps 20 --warmup 10 \
  --rounds 4 --batch 16 --hidden 2048 --layers 8
echo "== results"
cat "$RESULTS"
