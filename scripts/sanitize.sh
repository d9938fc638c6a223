#!/usr/bin/env bash
# CI stage after scripts/test.sh (docs/reliability.md): (1) the unit tests of the code that reads
# untrusted input, built with gcc -fsanitize=address,undefined -O1 -g in build-asan/ (target
# germ_sanitize_tests: src/io, output files, sequence statistics; no LibTorch, so it builds in
# about 2 minutes instead of rebuilding germ_lib), (2) each libFuzzer target for FUZZ_SECONDS
# (default 15). Fails on any sanitizer report or fuzz finding. No suppressions are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DGERM_SANITIZE=ON >&2
cmake --build build-asan --parallel "$(nproc)" --target germ_sanitize_tests >&2
# Leaks count as failures; UBSan reports stop the run instead of being printed and ignored.
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
GERM_TEST_DATA_DIR=$PWD/test_data build-asan/tests/germ_sanitize_tests --gtest_brief=1
echo "sanitize: ASan+UBSan unit tests done after $((SECONDS - start)) s"
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-15}"
echo "sanitize: stage took $((SECONDS - start)) s"
