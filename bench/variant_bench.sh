#!/usr/bin/env bash
# germ score --vcf throughput: variants per second on the real 1000 Genomes chr20 sites, with and
# without shared-prefix reuse, one table (docs/benchmarks.md).
# Usage: bench/variant_bench.sh [threads] [region] [model]   (needs ../shared/data and a built germ)
#   region: a -r region of contig z (default z:1-10000, about 270 records)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GERM_BUILD_DIR:-$here/build}
threads=${1:-2}
region=${2:-z:1-10000}
model=${3:-$here/models/germ-focus-default.safetensors}
germ=$build/germ
data=$here/../shared/data
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -x "$germ" ] || { echo "variant_bench: $germ not built" >&2; exit 1; }
[ -d "$data" ] || { echo "variant_bench: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-variant-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$data/variants/human_GRCh37_chr20_1-2Mb.1kgp.vcf.gz" "$work/kg.vcf.gz"
bcftools index -t "$work/kg.vcf.gz"
ref=$data/genomes/human_GRCh37_chr20_1-2Mb.fa

# Prints "records seconds records_per_second windows" from germ's summary line.
run_vcf() {
  "$germ" score -@ "$threads" -m "$model" --vcf "$work/kg.vcf.gz" --ref "$ref" -r "$region" -O tsv \
    -o "$work/out.$1.tsv" "${@:2}" 2> "$work/log.$1"
  sed -n 's/^germ score: \([0-9]*\) records, .*; \([0-9.]*\) s, \([0-9.]*\) records\/s, \([0-9]*\) model windows.*/\1 \2 \3 \4/p' \
    "$work/log.$1"
}

echo "# germ score --vcf, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), -@ $threads"
. "$here/bench/machine.sh" && bench_machine "$germ"
echo "# 1000 Genomes sites, $region, default --window, model $(basename "$model")"
read -r n_shared s_shared r_shared w_shared < <(run_vcf shared)
read -r n_scratch s_scratch r_scratch w_scratch < <(run_vcf scratch --no-prefix-reuse)
# The two modes must agree (same values, to the TSV's 6 significant digits and 1e-3 nats).
paste "$work/out.shared.tsv" "$work/out.scratch.tsv" | awk -F'\t' 'NR > 1 && $5 != "." {
  d = $5 - $11; if (d < 0) d = -d; if (d > m) m = d } END { printf "# max |LLR shared - scratch| = %.2g nats\n", m }'
printf "%-40s %10s %10s %14s %14s\n" "mode" "records" "seconds" "records/s" "model windows"
printf "%-40s %10s %10s %14s %14s\n" "shared reference prefix (default)" "$n_shared" "$s_shared" "$r_shared" "$w_shared"
printf "%-40s %10s %10s %14s %14s\n" "--no-prefix-reuse" "$n_scratch" "$s_scratch" "$r_scratch" "$w_scratch"
awk -v a="$s_scratch" -v b="$s_shared" -v wa="$w_scratch" -v wb="$w_shared" \
  'BEGIN { printf "%-40s %10s %10.2fx %14s %13.2fx\n", "speed-up from prefix reuse", "", a / b, "", wa / wb }'
