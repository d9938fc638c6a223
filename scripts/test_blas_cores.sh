#!/usr/bin/env bash
# CI step (.ci/run): reruns the numeric tests under every other OpenBLAS core this CPU can execute
# (`germ --version --verbose` lists them: PRESCOTT, SANDYBRIDGE, HASWELL, ZEN, SKYLAKEX, COOPERLAKE
# as the ISA allows), so that a tolerance that only holds for one BLAS kernel fails on any
# machine, not only on an unlucky one (docs/troubleshooting.md).
# Numeric tests: the whole GoogleTest binary (model, focus, score, quant, kernels; two shards in
# parallel) and the CLI tests whose outputs are model values compared with the docs or between
# runs. The core OpenBLAS detects is skipped: the test suite has just run under it.
# Usage: scripts/test_blas_cores.sh [BUILD_DIR] [CORE...]   (cores default to all runnable ones)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
germ=$build/germ
tests=$build/tests/germ_tests
[ -x "$germ" ] && [ -x "$tests" ] || { echo "test_blas_cores: build $build first (scripts/build.sh)" >&2; exit 1; }
report=$(env -u OPENBLAS_CORETYPE "$germ" --version --verbose)
cores=${*:-$(sed -n 's/^BLAS cores this CPU can run: //p' <<< "$report")}
detected=$(sed -n 's/^BLAS core \([A-Za-z0-9_]*\) (detected.*/\1/p' <<< "$report")
[ -n "$cores" ] || { echo "test_blas_cores: the BLAS is not OpenBLAS; nothing to rerun"; exit 0; }
cli_tests='^cli\.(score|docs_commands|score_variants)$'
failed=() ran=()
for core in $cores; do
  if [ "${core^^}" = "${detected^^}" ]; then echo "== $core: the detected core, already tested"; continue; fi
  start=$SECONDS
  echo "== OpenBLAS core $core"
  # The library must really run the forced core (an unknown name would fall back silently).
  OPENBLAS_CORETYPE=$core "$germ" --version --verbose | grep -qi "^BLAS core $core " \
    || { echo "OpenBLAS did not take OPENBLAS_CORETYPE=$core"; failed+=("$core:forcing"); continue; }
  pids=()
  for shard in 0 1; do
    OPENBLAS_CORETYPE=$core GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard GERM_TEST_DATA_DIR="$PWD/test_data" \
      "$tests" --gtest_brief=1 > "$build/blas_core_${core}_$shard.log" 2>&1 &
    pids+=($!)
  done
  for i in 0 1; do
    wait "${pids[$i]}" || { failed+=("$core:unit"); grep -E '^\[  FAILED|Failure' -A4 "$build/blas_core_${core}_$i.log" | head -40; }
  done
  OPENBLAS_CORETYPE=$core ctest --test-dir "$build" -R "$cli_tests" --output-on-failure --parallel 2 --timeout 900 \
    || failed+=("$core:cli")
  ran+=("$core")
  echo "== core $core: $((SECONDS - start)) s"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test_blas_cores: failed under ${failed[*]}" >&2
  exit 1
fi
echo "test_blas_cores: numeric tests pass under ${ran[*]:-no other core} (and $detected in the main run)"
