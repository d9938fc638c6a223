#!/usr/bin/env bash
# How the window LLR converges with --downstream N (bases summed past the REF), on real 1000
# Genomes variants: mean and max |LLR(N) - LLR(whole window)|, Pearson r, model windows and time,
# one table (docs/score_variants.md, "--downstream").
# Usage: bench/variant_downstream.sh [threads] [region] [model] [N ...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
threads=${1:-2}
region=${2:-z:1-10000}
model=${3:-$here/models/germ-focus-default.safetensors}
shift $(($# < 3 ? $# : 3))
spans=("$@"); [ ${#spans[@]} -gt 0 ] || spans=(0 10 30 100 300 1000 2000)
data=$here/../shared/data
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -d "$data" ] || { echo "variant_downstream: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-downstream.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$data/variants/human_GRCh37_chr20_1-2Mb.1kgp.vcf.gz" "$work/kg.vcf.gz"
bcftools index -t "$work/kg.vcf.gz"
ref=$data/genomes/human_GRCh37_chr20_1-2Mb.fa

run() {  # label, extra options...: prints "seconds windows"
  "$germ" score -@ "$threads" -m "$model" --vcf "$work/kg.vcf.gz" --ref "$ref" -r "$region" --llr window -O tsv \
    -o "$work/$1.tsv" "${@:2}" 2> "$work/$1.log"
  sed -n 's/^germ score: .*; \([0-9.]*\) s, [0-9.]* records\/s, \([0-9]*\) model windows.*/\1 \2/p' "$work/$1.log"
}

echo "# germ score --vcf --llr window --downstream N, $(date -u +%Y-%m-%d), -@ $threads, $region, model $(basename "$model")"
. "$here/bench/machine.sh" && bench_machine "$germ"
read -r full_s full_w < <(run full)
printf "%-12s %8s %14s %14s %10s %10s %14s\n" "downstream" "ALTs" "mean |diff|" "max |diff|" "pearson r" "seconds" "model windows"
for n in "${spans[@]}"; do
  read -r s w < <(run "n$n" --downstream "$n")
  paste "$work/n$n.tsv" "$work/full.tsv" | awk -F'\t' -v n="$n" -v s="$s" -v w="$w" '
    NR > 1 && $5 != "." && $11 != "." { x = $5; y = $11; d = x - y; if (d < 0) d = -d; k++; sd += d; if (d > md) md = d
      sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y }
    END { r = (k * sxy - sx * sy) / sqrt((k * sxx - sx * sx) * (k * syy - sy * sy))
      printf "%-12s %8d %14.4f %14.4f %10.4f %10s %14s\n", n, k, sd / k, md, r, s, w }'
done
printf "%-12s %8s %14s %14s %10s %10s %14s\n" "whole window" "-" "0" "0" "1" "$full_s" "$full_w"
