#!/usr/bin/env bash
# germ score --vcf throughput on the real 1000 Genomes chr20 sites, one table: each method
# (site, window with the default --downstream, window over the whole window as before
# --downstream existed) on the dense set and on the same set thinned to one record per 20 kb,
# beside `germ score` over the same sequence; records/s, model windows, peak RSS, and the
# rare-vs-common separation of each method (docs/benchmarks.md, docs/score_variants.md).
# Usage: bench/variant_bench.sh [threads] [region] [model] [ROWS]
#   region: a -r region of contig z (default z:1-1000000: the whole 28,998-record set)
#   ROWS: comma-separated subset of site,snv-site,window,whole,sparse-site,sparse-window (default: all
#   but snv-site, the site method on the SNV records alone)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GERM_BUILD_DIR:-$here/build}
threads=${1:-2}
region=${2:-z:1-1000000}
model=${3:-$here/models/germ-focus-default.safetensors}
rows=${4:-site,window,whole,sparse-site,sparse-window}
germ=$build/germ
data=$here/../shared/data
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -x "$germ" ] || { echo "variant_bench: $germ not built" >&2; exit 1; }
[ -d "$data" ] || { echo "variant_bench: SKIP: $data is absent" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-variant-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$here/bench/chr20_variants.sh" && chr20_variant_set "$work" "$region"
bcftools view -h "$work/dense.vcf.gz" > "$work/sparse.vcf"
bcftools view -H "$work/dense.vcf.gz" | awk -F'\t' 'BEGIN { last = -1 } { bin = int($2 / 20000) } bin != last { print; last = bin }' >> "$work/sparse.vcf"
bgzip -f "$work/sparse.vcf"
bcftools view -v snps -Oz -o "$work/snv.vcf.gz" "$work/dense.vcf.gz"

# measure LABEL CMD...: prints "seconds peak_rss_MB" (wall clock and max RSS of the command).
measure() {
  /usr/bin/time -f "%e %M" -o "$work/$1.time" "${@:2}" 2> "$work/$1.log" > /dev/null
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$work/$1.time"
}
vcf_row() {  # LABEL VCF METHOD-OPTIONS...
  local label=$1 vcf=$2; shift 2
  read -r seconds rss < <(measure "$label" "$germ" score -@ "$threads" -m "$model" --vcf "$vcf" --ref "$ref" -O z \
    -o "$work/$label.vcf.gz" "$@")
  local records windows field=GERM_LLR separation
  records=$(sed -n 's/^germ score: \([0-9]*\) records.*/\1/p' "$work/$label.log")
  windows=$(sed -n 's/.* \([0-9]*\) model windows.*/\1/p' "$work/$label.log")
  [[ " $* " == *" site "* ]] && field=GERM_SITE_LLR
  separation=$(python3 "$here/scripts/variant_af_check.py" "$work/$label.vcf.gz" "$field" \
    | awk -F'|' '$2 ~ /SNVs/ { gsub(/ /, ""); printf "%.4f p=%s", $5 - $6, $9 }')
  printf "| %s | %s | %s | %.1f | %.1f | %s | %s | %s |\n" "$label" "$records" "$seconds" \
    "$(awk -v r="$records" -v s="$seconds" 'BEGIN { print r / s }')" \
    "$(awk -v s="$seconds" -v b="$score_seconds" 'BEGIN { print s / b }')" "$windows" "$rss" "${separation:-n/a}"
}

echo "# germ score --vcf, $(date -u +%Y-%m-%d), $(nproc) cores, -@ $threads, $region of the 1000 Genomes chr20 set, model $(basename "$model")"
. "$here/bench/machine.sh" && bench_machine "$germ"
read -r score_seconds score_rss < <(measure score "$germ" score -@ "$threads" -m "$model" "$work/region.fa" -o "$work/region.bg")
echo "| run | records | seconds | records/s | time / germ score | model windows | peak RSS MB | SNVs: mean rare - common, Mann-Whitney p |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
echo "| germ score over the same sequence (one strand) | - | $score_seconds | - | 1.0 | - | $score_rss | - |"
for row in ${rows//,/ }; do
  case $row in
    site) vcf_row "site" "$work/dense.vcf.gz" --llr site ;;
    snv-site) vcf_row "site, SNV records only" "$work/snv.vcf.gz" --llr site ;;
    window) vcf_row "window (--downstream 300)" "$work/dense.vcf.gz" --llr window ;;
    whole) vcf_row "window (whole window, as before)" "$work/dense.vcf.gz" --llr window --downstream -1 ;;
    sparse-site) vcf_row "sparse: site" "$work/sparse.vcf.gz" --llr site ;;
    sparse-window) vcf_row "sparse: window (--downstream 300)" "$work/sparse.vcf.gz" --llr window ;;
    *) echo "variant_bench: unknown row '$row'" >&2; exit 1 ;;
  esac
done
