#!/usr/bin/env bash
# germ score on reads (BAM in, BAM out, default model): seconds and reads/s at -@ 1 and -@ N, on
# an idle machine and beside BUSY busy-looping processes (what a shared node or `ctest -j` does to
# it), for this build and optionally a baseline build, in one table with the ratios side by side
# (docs/benchmarks.md, docs/score_reads.md).
# Usage: bench/read_bench.sh [threads] [BUSY]      (threads default: all cores; BUSY default: cores)
#   GERM_BASELINE=/path/to/old/germ adds the baseline's columns and new/old ratios;
#   READ_BENCH_ALL=1 adds the 11,194-read manta BAM to the 1,001-read yeast one.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
threads=${1:-$(nproc)}
busy=${2:-$(nproc)}
baseline=${GERM_BASELINE:-}
data=$here/../shared/data/reads
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -x "$germ" ] || { echo "read_bench: $germ not built" >&2; exit 1; }
[ -d "$data" ] || { echo "read_bench: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-read-bench.XXXXXX")
loaders=()
stop_load() { for pid in "${loaders[@]}"; do kill "$pid" 2>/dev/null || true; done; loaders=(); }
trap 'stop_load; rm -rf "$work"' EXIT
start_load() { for _ in $(seq 1 "$busy"); do (while :; do :; done) & loaders+=($!); done; }

# seconds BINARY THREADS BAM: wall seconds of one run (model loading included).
seconds() {
  /usr/bin/time -f "%e" -o "$work/time" "$1" score -q -@ "$2" "$3" -o "$work/out.bam"
  cat "$work/time"
}

. "$here/bench/machine.sh" && bench_machine "$germ"
echo "# germ score on reads, $(date -u +%Y-%m-%d), $(nproc) cores; busy: $busy busy-looping processes beside it"
header="| input | reads | load | -@ 1 s | -@ $threads s | reads/s at -@ $threads |"
rule="|---|---:|---|---:|---:|---:|"
if [ -n "$baseline" ]; then
  header+=" baseline -@ 1 s | baseline -@ $threads s | baseline / this at -@ $threads |"
  rule+="---:|---:|---:|"
fi
echo "$header"; echo "$rule"
bams=("$data/yeast_SRR1569870_chrI.sorted.bam")
[ -n "${READ_BENCH_ALL:-}" ] && bams+=("$data/manta_HCC1954_tumor_region.bam")
for bam in "${bams[@]}"; do
  reads=$(samtools view -c "$bam")
  for load in idle busy; do
    [ "$load" = busy ] && start_load
    one=$(seconds "$germ" 1 "$bam"); many=$(seconds "$germ" "$threads" "$bam")
    row="| $(basename "$bam") | $reads | $load | $one | $many | $(awk -v r="$reads" -v s="$many" 'BEGIN { printf "%.0f", r / s }') |"
    if [ -n "$baseline" ]; then
      old_one=$(seconds "$baseline" 1 "$bam"); old_many=$(seconds "$baseline" "$threads" "$bam")
      row+=" $old_one | $old_many | $(awk -v a="$old_many" -v b="$many" 'BEGIN { printf "%.2f", a / b }') |"
    fi
    echo "$row"
    stop_load
  done
done
