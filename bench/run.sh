#!/usr/bin/env bash
# Runs the benchmarks against an existing build (builds nothing) and prints one table.
# Usage: bench/run.sh [threads] (default: all cores)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GERM_BUILD_DIR:-$here/build}
threads=${1:-$(nproc)}
[ -x "$build/germ_bench" ] || { echo "bench/run.sh: $build/germ_bench not built; run scripts/build.sh first" >&2; exit 1; }
echo "# germ benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$build/germ_bench" "$threads"
