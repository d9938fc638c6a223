# Helpers shared by scripts/gpu_build.sh and scripts/gpu_run.sh (sourced; docs/gpu.md): the GPU
# machine has a CUDA LibTorch in python3 but none of germ's other dependencies and no registry.

# gpu_unpack_debs DEB_DIR PREFIX: every .deb into PREFIX (dpkg -x: never installed into /).
# Debian's Gloo headers only where the LibTorch ships none of its own (theirs match its build).
gpu_unpack_debs() {
  local deb count=0 torch_include
  torch_include=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__) + "/include")' 2>/dev/null || true)
  mkdir -p "$2"
  for deb in "$1"/*.deb; do
    [ -e "$deb" ] || continue
    if [[ $deb == */libgloo-dev_* && -d $torch_include/gloo ]]; then
      echo "kept out $deb: $torch_include/gloo exists"
      continue
    fi
    dpkg -x "$deb" "$2"
    count=$((count + 1))
  done
  echo "unpacked $count .deb files into $2"
  [ "$count" -gt 0 ]
}

# gpu_library_path PREFIX: LD_LIBRARY_PATH for programs linked against PREFIX and python3's torch.
gpu_library_path() {
  local torch_lib
  torch_lib=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__) + "/lib")')
  echo "$1/usr/lib/x86_64-linux-gnu:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# gpu_configure_and_build PREFIX BUILD_DIR [TARGET...]: germ with GERM_CUDA=ON against python3's
# CUDA LibTorch, on every core.
gpu_configure_and_build() {
  local prefix=$1 build=$2 torch_prefix multiarch=$1/usr/lib/x86_64-linux-gnu
  shift 2
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  # nccl.h of the pip LibTorch's NCCL (for ProcessGroupNCCL; cmake/GermDistributed.cmake)
  local nccl_include
  nccl_include=$(python3 -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0] + "/include")' 2>/dev/null || true)
  local generator=() targets=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DGERM_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}" \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr;$multiarch/cmake" \
    -DCMAKE_LIBRARY_PATH="$multiarch" -DCMAKE_INCLUDE_PATH="$prefix/usr/include${nccl_include:+;$nccl_include}" &&
    cmake --build "$build" --parallel "$(nproc)" "${targets[@]}"
}

# The CUDA tests (CPU vs CUDA, skipped without a GPU) and the CPU agreement tests: every fused or
# fast path against its reference form, which LibTorch 2.x routes through other kernels (SDPA).
# shellcheck disable=SC2034  # read by the scripts that source this file
GPU_CUDA_TESTS='*Cuda*:Runtime.*'
# shellcheck disable=SC2034
GPU_AGREEMENT_TESTS='Softmax1.*:Attend.*:OnlineSoftmaxAttention.*:InferenceKernels.*:Focus.*:Transformer.*:ReadScorer.*'
