#!/usr/bin/env bash
# Test MCC of germ finetune's default learning rate and of --lr auto next to a learning-rate
# sweep, for each encoder x task x method x seed, as markdown tables (docs/finetune.md, "Defaults").
# Usage: scripts/finetune_lr_sweep.sh OUT_DIR ENCODER... -- TASK_DIR...
#   SWEEP_LRS (1e-4,3e-4,1e-3,3e-3), SWEEP_METHODS (full,lora), SWEEP_SEEDS (1,2),
#   SWEEP_EPOCHS (3), SWEEP_JOBS (1 run at a time, one thread each) override the plan;
#   SWEEP_OPTIONS adds options to every finetune run (e.g. "--targets all-linear": use its own OUT_DIR).
# Finished runs (a .test.json) are kept, so an interrupted sweep continues where it stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
out=${1:?usage: OUT_DIR ENCODER... -- TASK_DIR...}; shift
encoders=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do encoders+=("$1"); shift; done
[ $# -gt 1 ] || { echo "usage: $0 OUT_DIR ENCODER... -- TASK_DIR..." >&2; exit 1; }
shift; tasks=("$@")
IFS=, read -ra lrs <<< "${SWEEP_LRS:-1e-4,3e-4,1e-3,3e-3}"
IFS=, read -ra methods <<< "${SWEEP_METHODS:-full,lora}"
IFS=, read -ra seeds <<< "${SWEEP_SEEDS:-1,2}"
epochs=${SWEEP_EPOCHS:-3}; jobs=${SWEEP_JOBS:-1}
read -ra extra <<< "${SWEEP_OPTIONS:-}"
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

run() {  # encoder task method seed lr(default|auto|number)
  local name
  name=$out/$(basename "$1" .safetensors).$(basename "$2").$3.s$4.$5
  [ -s "$name.test.json" ] && return 0
  local lr_option=(); [ "$5" != default ] && lr_option=(--lr "$5")
  nice "$germ" finetune -@ 1 --method "$3" --seed "$4" --epochs "$epochs" "${lr_option[@]}" "${extra[@]}" --base "$1" \
    --data "$2" -o "$name.safetensors" 2> "$name.log"
  nice "$germ" eval -@ 1 -m "$name.safetensors" --data "$2/test.csv" -O json > "$name.test.json"
  rm -f "$name.safetensors"
}
running=0
for task in "${tasks[@]}"; do for enc in "${encoders[@]}"; do for method in "${methods[@]}"; do
  for seed in "${seeds[@]}"; do for lr in default auto "${lrs[@]}"; do
    run "$enc" "$task" "$method" "$seed" "$lr" &
    if [ $((++running)) -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  done; done
done; done; done
wait

python3 "$here/scripts/finetune_lr_sweep_table.py" "$out" "${lrs[*]}"
