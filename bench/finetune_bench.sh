#!/usr/bin/env bash
# Time per epoch of the four fine-tuning methods on one task, side by side (docs/benchmarks.md).
# Usage: bench/finetune_bench.sh ENCODER [TASK_DIR] [threads] [epochs]
#   TASK_DIR defaults to build/tasks/yeast_coding (made by scripts/make_tasks.py from ../shared/data).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
encoder=${1:?usage: finetune_bench.sh ENCODER [TASK_DIR] [threads] [epochs]}
task=${2:-$here/build/tasks/yeast_coding}
threads=${3:-2}
epochs=${4:-2}
[ -x "$germ" ] || { echo "finetune_bench: $germ not built" >&2; exit 1; }
if [ ! -d "$task" ]; then
  python3 "$here/scripts/make_tasks.py" --out "$(dirname "$task")" --tasks "$(basename "$task")" 2>/dev/null \
    || { echo "finetune_bench: SKIP: no task $task (../shared/data absent?)" >&2; exit 77; }
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-finetune-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

echo "# germ finetune: seconds per epoch (training only), $(basename "$task"), $threads threads, $epochs epochs, $(date -u +%F)"
. "$here/bench/machine.sh" && bench_machine "$germ"
printf "%-8s %12s %12s %16s %10s\n" method s/epoch vs_full trained_params dev_mcc
full=""
for method in full lora qlora loftq; do
  "$germ" finetune -@ "$threads" --method "$method" --epochs "$epochs" --base "$encoder" --data "$task" \
    -o "$work/$method.safetensors" 2> "$work/log"
  line=$(grep "wrote" "$work/log")
  per_epoch=$(sed -E 's/.* ([0-9.]+) s per epoch.*/\1/' <<< "$line")
  mcc=$(sed -E 's/.*best dev MCC (-?[0-9.]+).*/\1/' <<< "$line")
  trained=$(sed -nE 's/.*; ([0-9]+) of [0-9]+ parameters trained.*/\1/p' "$work/log")
  [ -z "$full" ] && full=$per_epoch
  printf "%-8s %12s %12s %16s %10s\n" "$method" "$per_epoch" "$(awk -v a="$per_epoch" -v b="$full" 'BEGIN { printf "%.2fx", a / b }')" \
    "$trained" "$mcc"
done
