#!/usr/bin/env bash
# CI step (.ci/run): reruns the numeric tests under every OpenBLAS core this CPU can execute
# (`germ --version --verbose` lists them: PRESCOTT, SANDYBRIDGE, HASWELL, ZEN, SKYLAKEX, COOPERLAKE
# as the ISA allows), so that a tolerance that only holds for one BLAS kernel fails on any
# machine, not only on an unlucky one (docs/troubleshooting.md).
# Numeric tests: the whole GoogleTest binary (model, focus, score, quant, kernels, in one process
# per core) and the CLI tests whose outputs are model values. Usage: scripts/test_blas_cores.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
germ=$build/germ
[ -x "$germ" ] && [ -x "$build/tests/germ_tests" ] || { echo "test_blas_cores: build $build first (scripts/build.sh)" >&2; exit 1; }
cores=$(env -u OPENBLAS_CORETYPE "$germ" --version --verbose | sed -n 's/^BLAS cores this CPU can run: //p')
[ -n "$cores" ] || { echo "test_blas_cores: the BLAS is not OpenBLAS; nothing to rerun"; exit 0; }
cli_tests='^cli\.(score|docs_commands|score_variants|score_reads|quantize)$'
failed=()
for core in $cores; do
  start=$SECONDS
  echo "== OpenBLAS core $core"
  # Sanity: the library really runs the forced core (an unknown name would fall back silently).
  OPENBLAS_CORETYPE=$core "$germ" --version --verbose | grep "^BLAS core" | grep -qi "^BLAS core $core" \
    || { echo "OpenBLAS did not take OPENBLAS_CORETYPE=$core"; failed+=("$core:forcing"); continue; }
  OPENBLAS_CORETYPE=$core GERM_TEST_DATA_DIR="$PWD/test_data" "$build/tests/germ_tests" --gtest_brief=1 \
    || failed+=("$core:unit")
  OPENBLAS_CORETYPE=$core ctest --test-dir "$build" -R "$cli_tests" --output-on-failure --timeout 900 \
    || failed+=("$core:cli")
  echo "== core $core: $((SECONDS - start)) s"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test_blas_cores: failed under ${failed[*]}" >&2
  exit 1
fi
echo "test_blas_cores: numeric tests pass under every runnable core ($cores)"
