#!/usr/bin/env bash
# Compile-only check of germ's CUDA kernels (CI has nvcc under /usr/local/cuda but no GPU):
# src/cuda/*.cu must build for sm_90 with a compute_90 PTX fallback, and with no register
# spills in the common head sizes (32 and 64), which would signal a kernel gone slow.
# Their arithmetic runs on the CPU in tests/unit/test_online_softmax.cpp; on a GPU machine the
# CUDA tests compare them with the CPU reference (docs/gpu.md).
. "$(dirname "$0")/lib.bash"
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
if [ ! -x "$NVCC" ]; then
  echo "SKIP: no nvcc at $NVCC"
  exit 77
fi
for source in "$GERM_SOURCE_DIR"/src/cuda/*.cu; do
  name=$(basename "$source" .cu)
  if "$NVCC" -std=c++17 -O3 -I"$GERM_SOURCE_DIR/src" -Xptxas -v \
      -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
      -c "$source" -o "$WORK/$name.o" 2> "$WORK/$name.ptxas"; then
    pass "$name.cu compiles for sm_90 + compute_90 PTX"
  else
    fail "$name.cu: $(grep -m3 error "$WORK/$name.ptxas")"
    continue
  fi
  grep -q "sm_90" "$WORK/$name.ptxas" && pass "$name: sm_90 code generated" || fail "$name: no sm_90 code"
  # ptxas prints, per kernel, "Compiling entry function '<name>'" and then its spill line.
  read -r kernels spills < <(awk '/Compiling entry function/ { small = ($0 ~ /ILi(32|64)E/) }
    /spill stores/ && small { n++; s += $5; small = 0 } END { print n + 0, s + 0 }' "$WORK/$name.ptxas")
  [ "$kernels" -ge 4 ] && [ "$spills" -eq 0 ] && pass "$name: $kernels kernels at head sizes 32/64, none spills" \
    || fail "$name: $kernels kernels at head sizes 32/64, $spills bytes spilled"
done
finish
