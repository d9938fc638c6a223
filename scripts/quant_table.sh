#!/usr/bin/env bash
# The PTQ table of docs/quantize.md (like GERM's Table 3): test MCC and its drop for every
# method x bit width, for a softmax and a softmax1 classifier of each task, with simulated
# quantization (--fake-quant, as the paper measures). Two jobs at a time, one thread each.
# Usage: scripts/quant_table.sh OUT_DIR TASK_DIR:SOFTMAX_CLASSIFIER:SOFTMAX1_CLASSIFIER...
#   QT_METHODS ("minmax smoothquant outlier-suppression omniquant"), QT_BITS ("w8a8 w6a6 w4a4"),
#   QT_CALIB_SIZE (256) override the grid.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
out=${1:?usage}; shift
methods=${QT_METHODS:-minmax smoothquant outlier-suppression omniquant}
bits_list=${QT_BITS:-w8a8 w6a6 w4a4}
calib_size=${QT_CALIB_SIZE:-256}
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

jobs=()
for spec in "$@"; do
  IFS=: read -r task softmax softmax1 <<< "$spec"
  for model in "$softmax" "$softmax1"; do
    jobs+=("$task $model fp32 -")
    for method in $methods; do
      for bits in $bits_list; do jobs+=("$task $model $method $bits"); done
    done
  done
done
run() {  # task model method bits
  local task=$1 model=$2 method=$3 bits=$4 name
  name=$out/$(basename "$task").$(basename "$model" .safetensors).$method.$bits
  if [ "$method" = fp32 ]; then
    "$germ" eval -@ 1 -m "$model" --data "$task/test.csv" -O json > "$name.test.json"
    return
  fi
  local start=$SECONDS
  "$germ" quantize -@ 1 -m "$model" --method "$method" --bits "$bits" --calib "$task" --calib-size "$calib_size" \
    -o "$name.safetensors" 2> "$name.log"
  echo "seconds $((SECONDS - start))" >> "$name.log"
  "$germ" eval -@ 1 --fake-quant -m "$name.safetensors" --data "$task/test.csv" -O json > "$name.test.json"
}
for ((i = 0; i < ${#jobs[@]}; i += 2)); do
  run ${jobs[i]} &
  [ $((i + 1)) -lt ${#jobs[@]} ] && run ${jobs[i + 1]} &
  wait
done

python3 - "$out" "$methods" "$bits_list" "$@" <<'PY'
import json, sys, pathlib
out, methods, bits_list = pathlib.Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()
print("| task | model | fp32 MCC | method | " + " | ".join(f"{b.upper()} MCC (drop)" for b in bits_list) + " |")
print("|---|---|---|---|" + "---|" * len(bits_list))
for spec in sys.argv[4:]:
    task, *models = spec.split(":")
    t = pathlib.Path(task).name
    for model in models:
        m = pathlib.Path(model).name.removesuffix(".safetensors")
        fp = json.load(open(out / f"{t}.{m}.fp32.-.test.json"))["mcc"]
        for method in methods:
            cells = []
            for bits in bits_list:
                q = json.load(open(out / f"{t}.{m}.{method}.{bits}.test.json"))["mcc"]
                drop = (fp - q) / abs(fp) * 100 if fp else float("nan")
                cells.append(f"{q:.3f} ({drop:+.1f}%)")
            print(f"| {t} | {m} | {fp:.3f} | {method} | " + " | ".join(cells) + " |")
PY
