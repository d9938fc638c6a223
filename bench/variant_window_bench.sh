#!/usr/bin/env bash
# The window method (`germ score --vcf --llr window`) of this build against another build of germ
# (the commit before a change), back to back on the same records: seconds, model windows and peak
# RSS of each build's default window method and of the baseline's whole-window method (the form
# before --downstream), the speed ratios, and the largest GERM_LLR difference between the two
# builds' default runs (docs/benchmarks.md, docs/score_variants.md).
# Usage: bench/variant_window_bench.sh BASELINE_BUILD_DIR [threads] [region] [model]
#   region: a -r region of contig z of the 1000 Genomes chr20 set (default z:1-50000: 1,365 records)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
baseline=${1:?usage: bench/variant_window_bench.sh BASELINE_BUILD_DIR [threads] [region] [model]}/germ
germ=${GERM_BUILD_DIR:-$here/build}/germ
threads=${2:-2}
region=${3:-z:1-50000}
model=${4:-$here/models/germ-focus-default.safetensors}
data=$here/../shared/data
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for g in "$germ" "$baseline"; do [ -x "$g" ] || { echo "variant_window_bench: $g not built" >&2; exit 1; }; done
[ -d "$data" ] || { echo "variant_window_bench: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-window-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$here/bench/chr20_variants.sh" && chr20_variant_set "$work" "$region"

# run LABEL GERM ARGS...: sets seconds, rss (MB) and windows of the run.
run() {
  local label=$1 binary=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$work/$label.time" "$binary" score -@ "$threads" -m "$model" "$@" \
    2> "$work/$label.log" > /dev/null
  read -r seconds rss < "$work/$label.time"
  rss=$((rss / 1024))
  windows=$(sed -n 's/.* \([0-9]*\) model windows.*/\1/p' "$work/$label.log")
}
vcf() { run "$1" "$2" --vcf "$work/dense.vcf.gz" --ref "$ref" -O z -o "$work/$1.vcf.gz" "${@:3}"; }

echo "# germ score --vcf window method, $(date -u +%Y-%m-%d), $(nproc) cores, -@ $threads, $region, model $(basename "$model")"
. "$here/bench/machine.sh" && bench_machine "$germ"
echo "# this build: $germ ($("$germ" --version)); baseline: $baseline ($("$baseline" --version))"
run score "$germ" "$work/region.fa" -o "$work/region.bg"
echo "| run | seconds | model windows | peak RSS MB | speed-up over the baseline's whole window | over the baseline's default |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| germ score over the same sequence (this build) | $seconds | - | $rss | - | - |"
vcf whole "$baseline" --downstream -1; whole=$seconds
echo "| baseline, whole window (\`--downstream -1\`) | $seconds | $windows | $rss | 1.00 | - |"
vcf old "$baseline"; old=$seconds
echo "| baseline, default window method | $seconds | $windows | $rss | $(awk -v a="$whole" -v b="$seconds" 'BEGIN { printf "%.2f", a / b }') | 1.00 |"
vcf new "$germ"
echo "| this build, default window method | $seconds | $windows | $rss | $(awk -v a="$whole" -v b="$seconds" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$old" -v b="$seconds" 'BEGIN { printf "%.2f", a / b }') |"
for label in old new; do bcftools query -f '%INFO/GERM_LLR\n' "$work/$label.vcf.gz" | tr ',' '\n' > "$work/$label.llr"; done
paste "$work/old.llr" "$work/new.llr" | awk -F'\t' '
  ($1 == ".") != ($2 == ".") { missing++; next }
  $1 != "." { d = $1 - $2; if (d < 0) d = -d; if (d > max) max = d; n++ }
  END { printf "# GERM_LLR, this build vs the baseline default: %d values, max |difference| %.2g nats, %d present in only one\n", n, max, missing }'
