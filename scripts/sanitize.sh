#!/usr/bin/env bash
# CI stage after scripts/test.sh: (1) the unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc, -O1 -g, build-asan/), (2) each libFuzzer target for
# FUZZ_SECONDS (default 25). Fails on any sanitizer report or fuzz finding.
# Suppressions, options and the test filter are explained in tests/sanitizers/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
start=$SECONDS

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DGERM_SANITIZE=ON >&2
# Only what the unit tests need: germ_lib, germ_tests and the SentencePiece module they load.
cmake --build build-asan --parallel "$jobs" --target germ_tests germ_sentencepiece >&2
echo "sanitize: build took $((SECONDS - start)) s"

suppressions=$PWD/tests/sanitizers
export ASAN_OPTIONS="detect_leaks=1:suppressions=$suppressions/asan.supp:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$suppressions/ubsan.supp"
export GERM_TEST_DATA_DIR=$PWD/test_data
filter=$(grep -v '^#' tests/sanitizers/gtest_filter.txt | tr -d '[:space:]')
tests_start=$SECONDS
build-asan/tests/germ_tests --gtest_filter="$filter" --gtest_brief=1
echo "sanitize: unit tests under ASan+UBSan took $((SECONDS - tests_start)) s"

fuzz_start=$SECONDS
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-25}"
echo "sanitize: fuzzing took $((SECONDS - fuzz_start)) s; the whole stage $((SECONDS - start)) s"
