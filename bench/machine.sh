# Sourced by the benchmark scripts: bench_machine GERM prints the machine line germ itself reports
# (CPU, vector extensions, BLAS core, threads), and exports OPENBLAS_CORETYPE = the core germ runs
# with, so that the PyTorch peer in the same table uses the same BLAS kernels (on a CPU that
# OpenBLAS does not know, germ forces a faster core than the library would pick for python3).
bench_machine() {
  local report core
  report=$("$1" --version --verbose)
  echo "# machine: $(sed -n 's/^machine: //p' <<< "$report")"
  core=$(sed -n 's/^BLAS core \([A-Za-z0-9_]*\).*/\1/p' <<< "$report")
  if [ -n "$core" ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    export OPENBLAS_CORETYPE=${core^^}
  fi
}
