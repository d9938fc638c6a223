#!/usr/bin/env bash
# Data-parallel training throughput: tokens/s of germ pretrain in 1 process (all cores) and in
# N processes through germ launch (cores split evenly), same global batch (docs/benchmarks.md).
# Usage: bench/distributed_bench.sh [FASTA] [processes] [steps] [size] [objective]
#   FASTA defaults to ../shared/data/genomes/ecoli_K12_MG1655_500kb.fa, else test_data/small.fa.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
fasta=${1:-$here/../shared/data/genomes/ecoli_K12_MG1655_500kb.fa}
[ -e "$fasta" ] || fasta=$here/test_data/small.fa
processes=${2:-2}
steps=${3:-40}
size=${4:-small}
objective=${5:-clm}
batch=16
seq_len=256
[ -x "$germ" ] || { echo "distributed_bench: $germ not built" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-distributed-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cores=$(nproc)

# Tokens/s over the training steps (the log's single interval: start-up and validation excluded).
# run NAME THREADS [launch -n N --]
run() {
  local name=$1 threads=$2; shift 2
  local start end slug
  slug=$(tr -c 'A-Za-z0-9\n' _ <<< "$name")
  start=$(date +%s.%N)
  "$germ" "$@" pretrain -q -@ "$threads" --objective "$objective" --size "$size" --steps "$steps" --batch-size "$batch" \
    --seq-len "$seq_len" --eval-every "$steps" --eval-windows 1 --checkpoint-every 0 \
    -o "$work/$slug.safetensors" "$fasta"
  end=$(date +%s.%N)
  local rate
  rate=$(awk -F'\t' 'NR == 2 { print $6 }' "$work/$slug.safetensors.log.tsv")
  printf "%-34s %12.0f %10.1f\n" "$name" "$rate" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
  echo "$rate" > "$work/$slug.rate"
}

echo "# germ pretrain data parallel (Gloo, loopback): $objective $size, batch $batch x $seq_len, $steps steps,"
echo "# $(basename "$fasta"), $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%F)"
printf "%-34s %12s %10s\n" run tokens/s wall_s
run "1 process, -@ $cores" "$cores"
run "1 process, -@ 1" 1
per_rank=$((cores / processes > 0 ? cores / processes : 1))
run "$processes processes (germ launch), -@ $per_rank" "$per_rank" launch -n "$processes" --
rate_of() { cat "$work/$(tr -c 'A-Za-z0-9\n' _ <<< "$1").rate"; }
awk -v one="$(rate_of "1 process, -@ $cores")" -v single="$(rate_of "1 process, -@ 1")" \
    -v many="$(rate_of "$processes processes (germ launch), -@ $per_rank")" -v n="$processes" \
  'BEGIN { printf "speed-up %d processes vs 1 process (all cores): %.2fx; vs 1 process x 1 thread: %.2fx (parallel efficiency %.0f%%)\n", n, many / one, many / single, 100 * many / (single * n) }'
