#!/usr/bin/env bash
# Run ON THE GPU MACHINE from the repository root: unpacks the .deb files of scripts/gpu_debs.sh
# into a prefix (dpkg -x, never installed system-wide) and builds germ with GERM_CUDA=ON against
# python3's CUDA LibTorch into build-cuda/, then runs the CUDA tests. docs/gpu.md; the one-call
# run with benchmarks and training is scripts/gpu_run.sh.
#   scripts/gpu_build.sh [DEB_DIR] [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu_lib.bash
debs=${1:-.gpu-debs}
prefix=${2:-/tmp/germ-prefix}
gpu_unpack_debs "$debs" "$prefix"
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(gpu_library_path "$prefix")
gpu_configure_and_build "$prefix" build-cuda
build-cuda/tests/germ_tests --gtest_filter="$GPU_CUDA_TESTS:$GPU_AGREEMENT_TESTS"
