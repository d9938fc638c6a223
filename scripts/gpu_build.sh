#!/usr/bin/env bash
# Run ON THE GPU MACHINE from the repository root: unpacks the .deb files of scripts/gpu_debs.sh
# into a prefix (dpkg -x, never installed system-wide) and builds germ with GERM_CUDA=ON against
# python3's CUDA LibTorch into build-cuda/, then runs the CUDA tests. docs/gpu.md.
#   scripts/gpu_build.sh [DEB_DIR] [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
debs=${1:-.gpu-debs}
prefix=${2:-/tmp/germ-prefix}
mkdir -p "$prefix"
for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
multiarch=$prefix/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$multiarch:$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__) + "/lib")')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-cuda "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DGERM_CUDA=ON \
  -DCMAKE_CUDA_COMPILER="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}" \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr;$multiarch/cmake" \
  -DCMAKE_LIBRARY_PATH="$multiarch" -DCMAKE_INCLUDE_PATH="$prefix/usr/include"
cmake --build build-cuda --parallel "$(nproc)"
build-cuda/tests/germ_tests --gtest_filter='*Cuda*:*OnlineSoftmax*:Runtime.*'
