#!/usr/bin/env bash
# Installs germ's build and test dependencies from Debian 12 (run as root).
# Skips apt entirely when every package is already installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev  # libgloo-dev: c10d ProcessGroupGloo headers
  libhts-dev libsentencepiece-dev libcli11-dev libtbb-dev zlib1g-dev
  libgtest-dev nlohmann-json3-dev libbigwig-dev libdnnl-dev
  samtools bcftools tabix
  clang-14 libclang-rt-14-dev  # scripts/sanitize.sh: libFuzzer targets
  snakemake                    # tests/cli/snakemake.sh runs workflows/snakemake (~4 min to install)
  help2man                     # man pages from --help (scripts/make_man_pages.sh)
)
# Benchmarks compare against PyTorch; CI and users who only build do not need it.
if [ "${GERM_WITH_BENCH_DEPS:-0}" = 1 ]; then packages+=(python3-torch); fi
# The import tests (tests/hf) write their DNABERT-2 fixture with PyTorch.
packages+=(python3-torch)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "germ: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# Debian's LibTorch calls the generic libblas.so.3: make sure OpenBLAS is what it resolves to.
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null | grep -q openblas; then
  echo "germ: warning: libblas.so.3 is not OpenBLAS; run: update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2
fi
