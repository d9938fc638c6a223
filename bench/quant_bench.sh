#!/usr/bin/env bash
# Inference throughput of one classifier in fp32, W8A8 and W4A8 (integer GEMMs) and W8A8
# fake-quant, same threads, plus file sizes: one table (docs/benchmarks.md).
# Usage: bench/quant_bench.sh CLASSIFIER TASK_DIR [THREADS] [SEQUENCES]
# Throughput excludes start-up and loading: each format is timed on SEQUENCES sequences and on
# one, and the difference is divided by SEQUENCES - 1. Best of 3.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
model=${1:?usage}; task=${2:?usage}; threads=${3:-$(nproc)}; count=${4:-2000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

# The evaluation set: the task's sequences repeated up to `count` rows.
python3 - "$task" "$count" "$work" <<'PY'
import csv, itertools, sys, pathlib
task, count, work = pathlib.Path(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
rows = [r["sequence"] for split in ("train", "dev", "test") if (task / f"{split}.csv").exists()
        for r in csv.DictReader(open(task / f"{split}.csv"))]
with open(work / "many.csv", "w") as f:
    f.write("sequence,label\n")
    for s in itertools.islice(itertools.cycle(rows), count): f.write(f"{s},0\n")
with open(work / "one.csv", "w") as f:
    f.write(f"sequence,label\n{rows[0]},0\n")
PY

"$germ" quantize -q -@ "$threads" -m "$model" --method smoothquant --bits w8a8 --calib "$task" -o "$work/w8a8.safetensors"
"$germ" quantize -q -@ "$threads" -m "$model" --method smoothquant --bits w4a8 --calib "$task" -o "$work/w4a8.safetensors"

seconds() {  # best wall time of 3 runs of: germ predict ARGS
  local best=""
  for _ in 1 2 3; do
    local start end t
    start=$(date +%s.%N)
    "$germ" predict -@ "$threads" "$@" > /dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

echo "# germ quantized inference, $(date -u +%Y-%m-%d), $threads threads, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
. "$here/bench/machine.sh" && bench_machine "$germ"
echo "# model $(basename "$model"), $count sequences of $(basename "$task")"
printf "%-22s %10s %12s %12s %10s\n" "format" "file MiB" "seq/s" "ms/seq" "vs fp32"
fp_rate=""
for format in fp32 w8a8 w4a8 w8a8-fake; do
  file=$model; flags=()
  case $format in
    w8a8) file=$work/w8a8.safetensors ;;
    w4a8) file=$work/w4a8.safetensors ;;
    w8a8-fake) file=$work/w8a8.safetensors; flags=(--fake-quant) ;;
  esac
  many=$(seconds "${flags[@]}" -m "$file" "$work/many.csv")
  one=$(seconds "${flags[@]}" -m "$file" "$work/one.csv")
  rate=$(echo "($count - 1) / ($many - $one)" | bc -l)
  [ -z "$fp_rate" ] && fp_rate=$rate
  printf "%-22s %10.2f %12.1f %12.3f %9.2fx\n" "$format" "$(echo "$(stat -c %s "$file") / 1048576" | bc -l)" \
    "$rate" "$(echo "1000 / $rate" | bc -l)" "$(echo "$rate / $fp_rate" | bc -l)"
done
