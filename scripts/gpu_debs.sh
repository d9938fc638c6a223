#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with apt): downloads, into DIR (default .gpu-debs, ignored by
# git), the Debian packages germ builds against besides LibTorch, with the runtime libraries
# they pull in, for a GPU machine that has a CUDA LibTorch (python3's torch) but no package
# registry. There, scripts/gpu_build.sh unpacks them with dpkg -x and builds with GERM_CUDA=ON.
#   scripts/gpu_debs.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.gpu-debs}
mkdir -p "$dir"
# Headers and link libraries germ needs; LibTorch, CUDA and the compiler come from the GPU machine.
direct=(libhts-dev libhts3 libtbb-dev libtbb12 libtbbmalloc2 libbigwig-dev libbigwig0 libdnnl-dev libdnnl2
        nlohmann-json3-dev libcli11-dev libsentencepiece-dev libsentencepiece0 libgtest-dev zlib1g-dev
        libdeflate0 libcurl3-gnutls libbz2-1.0 liblzma5 ocl-icd-libopencl1 libgloo-dev)
# Their shared-library dependencies, one level down, minus what every Linux has (libc, libstdc++)
# and what germ's build never reads, to save room under the device tool's 64 MiB (docs/gpu.md):
# googletest (sources; libgtest-dev has the libraries), the headers of htslib's own dependencies,
# and Gloo's libraries (only its headers are compiled against; LibTorch has its own Gloo).
mapfile -t depends < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${direct[@]}" 2>/dev/null | awk '/Depends:/ { print $2 }' | tr -d '<>' \
    | grep -Ev '^(libc6|libgcc-s1|libstdc\+\+6|debconf|dpkg)' \
    | grep -Ev '^(googletest|libcurl4-gnutls-dev|libdeflate-dev|liblzma-dev|libgloo0|libhiredis-dev|libibverbs-dev)$' \
    | sort -u)
# One at a time: a virtual package (e.g. libopencl1, provided by ocl-icd-libopencl1) has no
# candidate and would stop a single apt-get download of the whole list.
missing=()
for package in "${direct[@]}" "${depends[@]}"; do
  (cd "$dir" && apt-get download -qq "$package" >/dev/null 2>&1) || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] || echo "gpu_debs: not downloaded (virtual or unavailable): ${missing[*]}" >&2
ls "$dir"/*.deb | wc -l | xargs echo "gpu_debs: .deb files in $dir:"
