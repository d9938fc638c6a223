#!/usr/bin/env bash
# MCC of full / LoRA / QLoRA / LoftQ fine-tuning for a softmax and a softmax1 encoder on real
# tasks, as one markdown table (docs/finetune.md). Runs two fine-tunes at a time, one thread each.
# Usage: scripts/finetune_table.sh SOFTMAX_ENCODER SOFTMAX1_ENCODER OUT_DIR TASK_DIR...
#   FT_EPOCHS (10), FT_LR_FULL (1e-4), FT_LR_ADAPTER (1e-3) override the recipe.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
softmax=${1:?usage}; softmax1=${2:?usage}; out=${3:?usage}; shift 3
epochs=${FT_EPOCHS:-10}; lr_full=${FT_LR_FULL:-1e-4}; lr_adapter=${FT_LR_ADAPTER:-1e-3}
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

jobs=()
for task in "$@"; do
  for enc in softmax softmax1; do
    for method in full lora qlora loftq; do jobs+=("$task $enc $method"); done
  done
done
run() {  # task encoder method
  local task=$1 enc=$2 method=$3 base lr name
  base=$softmax; [ "$enc" = softmax1 ] && base=$softmax1
  lr=$lr_adapter; [ "$method" = full ] && lr=$lr_full
  name=$out/$(basename "$task").$enc.$method
  "$germ" finetune -@ 1 --method "$method" --lr "$lr" --epochs "$epochs" --base "$base" --data "$task" \
    -o "$name.safetensors" 2> "$name.log"
  "$germ" eval -m "$name.safetensors" --data "$task/test.csv" -O json > "$name.test.json"
}
for ((i = 0; i < ${#jobs[@]}; i += 2)); do
  run ${jobs[i]} &
  [ $((i + 1)) -lt ${#jobs[@]} ] && run ${jobs[i + 1]} &
  wait
done

python3 - "$out" "$@" <<'PY'
import json, re, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| task | encoder | full | LoRA | QLoRA | LoftQ | full → LoRA | s/epoch (full, LoRA, QLoRA, LoftQ) |")
print("|---|---|---|---|---|---|---|---|")
for task in sys.argv[2:]:
    t = pathlib.Path(task).name
    for enc in ("softmax", "softmax1"):
        mcc, secs = {}, {}
        for m in ("full", "lora", "qlora", "loftq"):
            stem = out / f"{t}.{enc}.{m}"
            mcc[m] = json.load(open(f"{stem}.test.json"))["mcc"]
            secs[m] = re.search(r"([0-9.]+) s per epoch", open(f"{stem}.log").read()).group(1)
        print(f"| {t} | {enc} | {mcc['full']:.3f} | {mcc['lora']:.3f} | {mcc['qlora']:.3f} | {mcc['loftq']:.3f} "
              f"| {mcc['lora'] - mcc['full']:+.3f} | {', '.join(secs[m] for m in ('full', 'lora', 'qlora', 'loftq'))} |")
PY
