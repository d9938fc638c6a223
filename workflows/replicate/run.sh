#!/usr/bin/env bash
# Runs the replication workflow. Usage:
#   workflows/replicate/run.sh [--quick | --full] [--publish] [--outdir DIR] [snakemake options...]
#   --quick    the quick profile (quick.yaml: < 15 minutes on 2 CPU cores); default --full
#   --publish  also write docs/results.md
#   --outdir   results folder (default build/replicate-<profile>)
#   --configfile FILE  read after the profile's files (any key of config.yaml)
# The germ binary: $GERM, else build/germ of this checkout, else germ on PATH. The shared data
# folder: $GERM_DATA, else ../shared/data beside the checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
profile=full publish=0 outdir=""
args=() more_configs=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) profile=quick ;;
    --full) profile=full ;;
    --publish) publish=1 ;;
    --outdir) outdir=${2:?--outdir needs a folder}; shift ;;
    --configfile) more_configs+=("${2:?--configfile needs a file}"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
germ=${GERM:-}
[ -z "$germ" ] && { [ -x "$repo/build/germ" ] && germ=$repo/build/germ || germ=$(command -v germ || true); }
[ -n "$germ" ] || { echo "run.sh: no germ binary (build it with scripts/build.sh or set GERM)" >&2; exit 1; }
data=${GERM_DATA:-$repo/../shared/data}
[ -d "$data/genomes" ] || { echo "run.sh: $data/genomes: no such folder (set GERM_DATA to the shared data folder)" >&2; exit 2; }
command -v snakemake >/dev/null || { echo "run.sh: snakemake is not installed (apt-get install snakemake)" >&2; exit 1; }
outdir=${outdir:-$repo/build/replicate-$profile}
configs=("$here/config.yaml")
[ "$profile" = quick ] && configs+=("$here/quick.yaml")
configs+=("${more_configs[@]}")
extra_config=()
[ "$publish" = 1 ] && extra_config+=("results_md=$repo/docs/results.md")
mkdir -p "$outdir"
# Snakemake's own state (.snakemake/) lives with the results, not in the checkout.
snakemake -s "$here/Snakefile" --directory "$outdir" --configfile "${configs[@]}" \
  --config germ="$germ" data="$data" outdir="$outdir" "${extra_config[@]}" \
  --cores "${CORES:-$(nproc)}" --keep-going --printshellcmds --rerun-incomplete "${args[@]}"
echo "run.sh: results in $outdir" >&2
