#!/usr/bin/env bash
# germ score benchmarks: one table, ratios side by side (docs/benchmarks.md).
# Usage: bench/score_bench.sh [threads] [model]    (needs ../shared/data and a built germ)
#   GERM_BENCH_SIZES="1 10 20"  megabases for the scaling / memory rows (default 1 10 20)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GERM_BUILD_DIR:-$here/build}
threads=${1:-2}
model=${2:-$here/models/germ-focus-default.safetensors}
germ=$build/germ
data=$here/../shared/data/genomes
sizes=${GERM_BENCH_SIZES:-"1 10 20"}
py=/usr/bin/python3
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -x "$germ" ] || { echo "score_bench: $germ not built" >&2; exit 1; }
[ -d "$data" ] || { echo "score_bench: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-score-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Real sequence only: the human, E. coli and yeast genomes, concatenated (N gaps kept) and
# repeated until the wanted length, as one contig (memory must not grow with contig length).
make_fasta() {  # megabases, path
  $py - "$1" "$2" "$data" <<'PY'
import sys, pathlib
mb, out, data = int(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
seq = []
for name in ["human_GRCh37_chr22_20-21Mb.fa", "human_GRCh37_chr20_1-2Mb.fa", "ecoli_K12_MG1655_500kb.fa", "yeast_S288C_chrI.fa"]:
    seq += [l.strip() for l in open(data / name) if not l.startswith(">")]
s = "".join(seq)
want = mb * 1_000_000
s = (s * (want // len(s) + 1))[:want]
with open(out, "w") as f:
    f.write(">bench%dM\n" % mb)
    for i in range(0, len(s), 80): f.write(s[i:i+80] + "\n")
PY
}

# Runs germ score -v and prints "bases_per_second peak_rss_mib seconds scored_values".
run_score() {
  "$germ" score -v -q -@ "$threads" -m "$model" "$@" > /dev/null 2> "$work/log"
  sed -n 's/.* \([0-9]*\) values, .* in \([0-9.]*\) s (\([0-9]*\) bases\/s).*peak RSS \([0-9.]*\) MiB/\3 \4 \2 \1/p' "$work/log"
}

gemm=$(GERM_BENCH_GEMM_ONLY=1 "$build/germ_bench" "$threads" | awk '/^gemm/ { print $(NF - 1) }')
echo "# germ score benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), -@ $threads"
. "$here/bench/machine.sh" && bench_machine "$germ"
echo "# model: $model"
printf "%-58s %14s %14s %10s\n" "benchmark" "value" "reference" "ratio"
printf "%-58s %14s\n" "GEMM fp32 1024^3 (ceiling)" "$gemm GFLOP/s"

declare -A rate rss secs values
for mb in $sizes; do
  make_fasta "$mb" "$work/s$mb.fa"
  read -r rate[$mb] rss[$mb] secs[$mb] values[$mb] < <(run_score "$work/s$mb.fa")
  printf "%-58s %14s %14s\n" "score ${mb} Mb (FOCUS, default model)" "${rate[$mb]} b/s" "${rss[$mb]} MiB"
done
first=$(echo $sizes | awk '{ print $1 }'); last=$(echo $sizes | awk '{ print $NF }')
# Useful model FLOPs per scored base from the model's own geometry and config.
flops=$($py "$here/bench/score_flops.py" "$model")
frac=$($py -c "print(f'{$flops * ${rate[$first]} / ($gemm * 1e9) * 100:.1f}')")
printf "%-58s %14s %14s %10s\n" "GEMM-ceiling fraction at ${first} Mb (model FLOPs/base x b/s)" "$($py -c "print(f'{$flops/1e6:.2f}')") MFLOP/b" "" "${frac}%"
printf "%-58s %14s %14s %10s\n" "peak RSS ${last} Mb / ${first} Mb" "${rss[$last]} MiB" "${rss[$first]} MiB" \
  "$($py -c "print(f'{${rss[$last]}/${rss[$first]}:.3f}')")"
printf "%-58s %14s %14s %10s\n" "time ${last} Mb / time ${first} Mb (ideal $((last / first)))" "${secs[$last]} s" "${secs[$first]} s" \
  "$($py -c "print(f'{${secs[$last]}/${secs[$first]}:.2f}')")"
# The inputs differ in their share of N (skipped, not scored): the same ratio per scored base.
printf "%-58s %14s %14s %10s\n" "time per scored base ${last} Mb / ${first} Mb, x $((last / first))" "${values[$last]} values" "${values[$first]} values" \
  "$($py -c "print(f'{${secs[$last]}/${values[$last]}/(${secs[$first]}/${values[$first]})*$((last / first)):.2f}')")"

# Equal effective context of 64 kb: FOCUS keeps 640 focus states (k = 100); the uncompressed
# reference keeps the K/V of all 64,000 previous bases (a sliding KV cache).
make_fasta 1 "$work/ctx.fa"
head -c 110000 "$work/ctx.fa" > "$work/ctx96.fa"
read -r focus_rate _ _ < <(run_score --memory 640 --segment 1000 "$work/ctx96.fa")
read -r raw_rate _ _ < <(run_score --memory-kind raw --memory 64000 --context 1 --segment 1000 "$work/ctx96.fa")
printf "%-58s %14s %14s %10s\n" "64 kb context, 108 kb: FOCUS vs uncompressed KV cache" "$focus_rate b/s" "$raw_rate b/s" \
  "$($py -c "print(f'{$focus_rate/$raw_rate:.1f}x')")"

# The same uncompressed windowed model in plain PyTorch (bench/pytorch_score_reference.py).
if $py -c 'import torch' 2>/dev/null; then
  head -c 205000 "$work/ctx.fa" > "$work/py.fa"
  read -r germ_plain _ _ < <(run_score --memory-kind none --context 100 "$work/py.fa")
  py_rate=$($py "$here/bench/pytorch_score_reference.py" "$model" "$work/py.fa" --threads "$threads" | sed 's/.*bases_per_second=\([0-9.]*\).*/\1/')
  printf "%-58s %14s %14s %10s\n" "uncompressed windowed (W 1000, C 100), 200 kb: germ vs PyTorch" "$germ_plain b/s" "${py_rate%.*} b/s" \
    "$($py -c "print(f'{$germ_plain/$py_rate:.2f}x')")"
else
  echo "(PyTorch row skipped: python3-torch is not installed)"
fi
