#!/usr/bin/env bash
# Runs the benchmarks against an existing build (builds nothing) and prints one table.
# Usage: bench/run.sh [threads] (default: all cores)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GERM_BUILD_DIR:-$here/build}
threads=${1:-$(nproc)}
# As germ itself does (cli/main.cpp): OpenMP threads sleep while OpenBLAS works, and vice versa.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
[ -x "$build/germ_bench" ] || { echo "bench/run.sh: $build/germ_bench not built; run scripts/build.sh first" >&2; exit 1; }
echo "# germ benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
. "$here/bench/machine.sh" && bench_machine "$build/germ"
table=$("$build/germ_bench" "$threads")
echo "$table"
py=/usr/bin/python3
if $py -c 'import torch' 2>/dev/null; then
  reference=$($py "$here/bench/pytorch_reference.py" "$threads" 16 256 5)
  printf "%-40s %14.1f %10s\n" "train small clm, batch 16 x 256 (PyTorch)" "$reference" "tokens/s"
  # Same model and FLOPs per token as germ's row, so the fraction scales with the tokens/s.
  germ_tokens=$(awk '/^train small clm, batch 16 x 256 \(germ\)/ {print $(NF-1)}' <<<"$table")
  germ_share=$(awk '/^train small clm, of the GEMM ceiling/ {print $(NF-1)}' <<<"$table")
  if [ -n "$germ_tokens" ] && [ -n "$germ_share" ]; then
    printf "%-40s %14.1f %10s\n" "train small clm (PyTorch), of the GEMM ceiling" \
      "$(awk -v r="$reference" -v t="$germ_tokens" -v s="$germ_share" 'BEGIN {print s * r / t}')" "%"
  fi
  reference_long=$($py "$here/bench/pytorch_reference.py" "$threads" 4 1024 3)
  printf "%-40s %14.1f %10s\n" "train small clm, batch 4 x 1024 (PyTorch)" "$reference_long" "tokens/s"
  germ_long=$(awk '/^train small clm, batch 4 x 1024 \(germ\)/ {print $(NF-1)}' <<<"$table")
  if [ -n "$germ_long" ]; then
    printf "%-40s %14.2f %10s\n" "germ / PyTorch at 4 x 1024" \
      "$(awk -v g="$germ_long" -v r="$reference_long" 'BEGIN {print g / r}')" "x"
  fi
else
  echo "(PyTorch reference skipped: install python3-torch, or GERM_WITH_BENCH_DEPS=1 scripts/install_dependencies.sh)"
fi
