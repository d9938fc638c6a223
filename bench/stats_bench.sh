#!/usr/bin/env bash
# germ stats (sequence composition) against samtools faidx over the same bytes, one table
# (docs/stats_sequences.md). Usage: bench/stats_bench.sh [megabases]   (needs ../shared/data)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
data=$here/../shared/data/genomes
mb=${1:-100}
[ -x "$germ" ] || { echo "stats_bench: $germ not built" >&2; exit 1; }
[ -d "$data" ] || { echo "stats_bench: SKIP: $data is absent" >&2; exit 77; }
command -v samtools >/dev/null && [ -x /usr/bin/time ] || { echo "stats_bench: SKIP: needs samtools and /usr/bin/time" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-stats-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Real sequence repeated to the wanted size, 60 columns, in 25 Mb contigs.
python3 - "$mb" "$work/big.fa" "$data" <<'PY'
import sys, pathlib
mb, out, data = int(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
s = "".join(l.strip() for name in ["human_GRCh37_chr22_20-21Mb.fa", "ecoli_K12_MG1655_500kb.fa", "yeast_S288C_chrI.fa"]
            for l in open(data / name) if not l.startswith(">"))
want = mb * 1_000_000
s = (s * (want // len(s) + 1))[:want]
with open(out, "w") as f:
    for c in range(0, want, 25_000_000):
        f.write(">c%d\n" % (c // 25_000_000))
        piece = s[c:c + 25_000_000]
        f.write("\n".join(piece[i:i + 60] for i in range(0, len(piece), 60)) + "\n")
PY
cp "$data/human_GRCh37_chr22_20-21Mb.fa" "$work/chr22.fa"
best() {  # fastest of 3 wall-clock runs, seconds
  local best=999 t
  for _ in 1 2 3; do
    rm -f "$work"/*.fai
    t=$( { /usr/bin/time -f %e "$@" > /dev/null; } 2>&1 | tail -1)
    best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (a < b) ? a : b }')
  done
  echo "$best"
}
echo "# germ stats (composition) vs samtools faidx, fastest of 3, $(date -u +%F), $(nproc) cores"
. "$here/bench/machine.sh" && bench_machine "$germ"
printf "%-28s %10s %12s %14s %10s\n" input MB germ_s germ_MB/s faidx_s
for f in "$work/chr22.fa" "$work/big.fa"; do
  size=$(stat -c %s "$f")
  g=$(best "$germ" stats "$f")
  s=$(best samtools faidx "$f")
  printf "%-28s %10.1f %12s %14.0f %10s\n" "$(basename "$f")" "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')" "$g" \
    "$(awk -v b="$size" -v t="$g" 'BEGIN { print (t > 0) ? b / 1e6 / t : 0 }')" "$s"
done
