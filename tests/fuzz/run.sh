#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 30), one after another. Exits non-zero on any crash, leak, sanitizer report or
# broken invariant; the reproducer is left in build-fuzz/findings/. The targets compile the few
# non-torch sources they need directly, so germ_lib (gcc + LibTorch) is not involved.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      e.g. tests/fuzz/run.sh 600 fasta
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors fasta region labelled_csv vcf)
CXX=${FUZZ_CXX:-clang++-14}
command -v "$CXX" >/dev/null || CXX=clang++
out=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$out/findings"

# What each target compiles besides itself.
IO="src/io/bases.cpp src/io/compressed_input.cpp src/io/fasta_parser.cpp src/io/fastq_parser.cpp
    src/io/sequence_reader.cpp src/io/indexed_fasta.cpp src/io/region.cpp src/util/output_file.cpp"
declare -A sources=(
  [safetensors]="src/model/safetensors.cpp src/util/output_file.cpp"
  [fasta]="$IO"
  [region]="src/io/region.cpp"
  [labelled_csv]="$IO src/io/labelled_sequences.cpp"
  [vcf]="$IO src/io/vcf_reader.cpp src/score/variant_windows.cpp src/util/file_sync.cpp"
)
declare -A libraries=([safetensors]="" [fasta]="-lhts" [region]="" [labelled_csv]="-lhts" [vcf]="-lhts")
declare -A corpus=([safetensors]=safetensors [fasta]=fasta [region]=region [labelled_csv]=csv [vcf]=vcf)

/usr/bin/python3 tests/fuzz/make_seeds.py . "$out/seeds"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -Itests/fuzz)
status=0
total=0
for target in "${targets[@]}"; do
  binary="$out/fuzz_$target"
  # shellcheck disable=SC2086
  nice "$CXX" "${flags[@]}" "tests/fuzz/fuzz_$target.cpp" ${sources[$target]} ${libraries[$target]} -o "$binary"
  mkdir -p "$out/corpus/$target"
  log="$out/fuzz_$target.log"
  # -rss_limit_mb: a legitimately large allocation from a small input is itself a finding.
  if ASAN_OPTIONS=detect_leaks=1 nice "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/findings/$target-" \
       "$out/corpus/$target" "$out/seeds/${corpus[$target]}" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    total=$((total + runs))
    echo "fuzz $target: $runs executions in ${seconds}s, no crash"
  else
    status=1
    echo "fuzz $target: FAILED, see $log and $out/findings/" >&2
    grep -E "ERROR|invariant|SUMMARY|Test unit written" "$log" | head -8 >&2
  fi
done
echo "fuzz total: $total executions"
exit $status
