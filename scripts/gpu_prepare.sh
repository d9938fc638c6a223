#!/usr/bin/env bash
# Run HERE, in the checkout the device tool sends (docs/gpu.md, "One-call run"): fills the ignored
# folder .gpu-payload/ with what the GPU machine lacks and scripts/gpu_run.sh reads:
#   debs/             the Debian packages germ builds against besides LibTorch (scripts/gpu_debs.sh)
#   corpus/train/     ../shared/data/corpus/train/*.fa.gz, as they are (bgzip; germ reads them directly)
#   corpus/heldout/   ../shared/data/corpus/heldout/*.fa.gz with their indexes (evaluation only, never trained on)
# then checks that the working tree plus the payload stays under the tool's 64 MiB and prints the
# paths to carry and the exact command to run. Over --budget-mib (default 60: 4 MiB of the 64 left
# for the working tree to grow), the largest training file is cut to its first records (gzip).
#   scripts/gpu_prepare.sh [--tiny] [--payload DIR] [--budget-mib N]
#   --tiny: a fake .deb and a generated corpus of a few kilobases (the CPU dry run, tests/cli/gpu_script.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
payload=.gpu-payload tiny=0 budget_mib=60
while [ $# -gt 0 ]; do
  case $1 in
    --tiny) tiny=1 ;;
    --payload) payload=$2; shift ;;
    --budget-mib) budget_mib=$2; shift ;;
    *) echo "usage: scripts/gpu_prepare.sh [--tiny] [--payload DIR] [--budget-mib N]" >&2; exit 2 ;;
  esac
  shift
done
corpus=${GERM_CORPUS_DIR:-../shared/data/corpus}
limit=$((64 * 1024 * 1024))
rm -rf "$payload/corpus"
mkdir -p "$payload/debs" "$payload/corpus/train" "$payload/corpus/heldout"

# A .deb holding one file, so that the dry run unpacks a real package with dpkg -x.
fake_deb() {
  local root; root=$(mktemp -d "${TMPDIR:-/tmp}/germ-fake-deb.XXXXXX")
  mkdir -p "$root/DEBIAN" "$root/usr/share/germ-gpu-dry-run"
  printf 'Package: germ-gpu-dry-run\nVersion: 1.0\nArchitecture: all\nMaintainer: germ\nDescription: dry-run package\n' \
    > "$root/DEBIAN/control"
  echo "unpacked by scripts/gpu_run.sh --dry-run" > "$root/usr/share/germ-gpu-dry-run/marker"
  dpkg-deb --build --root-owner-group "$root" "$payload/debs/germ-gpu-dry-run_1.0_all.deb" >/dev/null
  rm -rf "$root"
}

# A few seeded random contigs with some repeated motifs (something to learn), gzip-compressed.
tiny_corpus() {
  python3 - "$payload/corpus" <<'PY'
import gzip, random, sys
rng = random.Random(29)
motifs = ["".join(rng.choice("ACGT") for _ in range(12)) for _ in range(8)]
def contig(n):
    s = []
    while len(s) < n:
        s.extend(rng.choice(motifs) if rng.random() < 0.5 else rng.choice("ACGT"))
    return "".join(s[:n])
for split, files in (("train", 3), ("heldout", 1)):
    for i in range(files):
        with gzip.open(f"{sys.argv[1]}/{split}/tiny{i}.fa.gz", "wt") as f:
            for c in range(2):
                s = contig(3000)
                f.write(f">{split}{i}_{c}\n" + "".join(s[j:j + 80] + "\n" for j in range(0, len(s), 80)))
PY
}

# cut_file FILE BYTES: FILE, BYTES smaller: its first records (the last one cut short), gzip
# -9 compressed, sized from the ratio gzip reaches on its first 4 Mb; prints what was kept.
cut_file() {
  python3 - "$1" "$2" <<'PY'
import gzip, os, sys, zlib
path, cut = sys.argv[1], int(sys.argv[2])
with gzip.open(path, "rt") as f:
    lines = f.read().split("\n")
total = sum(len(l) for l in lines if not l.startswith(">"))
sample = "\n".join(lines[:50000]).encode()
bytes_per_base = len(zlib.compress(sample, 9)) / max(1, sum(len(l) for l in lines[:50000] if not l.startswith(">")))
keep = min(total, int(0.99 * (os.path.getsize(path) - cut) / bytes_per_base))
budget, kept = keep, []
for line in lines:
    if not line.startswith(">"):
        line = line[:max(budget, 0)]
        budget -= len(line)
        if not line: continue
    elif budget <= 0:
        break
    kept.append(line)
with gzip.open(path + ".tmp", "wt", compresslevel=9) as f:
    f.write("\n".join(kept) + "\n")
os.replace(path + ".tmp", path)
print(f"{os.path.basename(path)}\t{keep}\t{total}")
PY
}

if [ "$tiny" = 1 ]; then
  rm -f "$payload"/debs/*.deb
  fake_deb
  tiny_corpus
else
  [ -d "$corpus/train" ] || { echo "gpu_prepare: $corpus/train is absent" >&2; exit 1; }
  rm -f "$payload"/debs/*.deb
  scripts/gpu_debs.sh "$payload/debs"
  cp "$corpus"/train/*.fa.gz "$payload/corpus/train/"
  cp "$corpus"/heldout/*.fa.gz "$corpus"/heldout/*.fa.gz.fai "$corpus"/heldout/*.fa.gz.gzi "$payload/corpus/heldout/"
fi

bytes() { du -cb "$@" 2>/dev/null | tail -1 | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# What the tool sends: tracked and untracked-not-ignored files, plus the carried payload (outside
# a git checkout, e.g. a CI tarball: every file but build folders and the payload).
tree_files() {
  git ls-files -z -co --exclude-standard 2>/dev/null ||
    find . \( -name '.git' -o -name 'build*' -o -path "./$payload" \) -prune -o -type f -print0
}
tree=$(tree_files | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
debs=$(bytes "$payload"/debs/*.deb)
train=$(bytes "$payload"/corpus/train/*.fa.gz)
heldout=$(bytes "$payload"/corpus/heldout/*)
total=$((tree + debs + train + heldout))
budget=$((budget_mib * 1024 * 1024))
echo -e "file\tbases_kept\tbases" > "$payload/corpus/cut.tsv"
if [ "$total" -gt "$budget" ]; then
  largest=$(ls -S "$payload"/corpus/train/*.fa.gz | head -1)
  cut_file "$largest" $((total - budget)) >> "$payload/corpus/cut.tsv"
  echo "gpu_prepare: over the $budget_mib MiB budget: cut $(tail -1 "$payload/corpus/cut.tsv" | awk '{ printf "%s to %d of its %d bases", $1, $2, $3 }')"
  train=$(bytes "$payload"/corpus/train/*.fa.gz)
  total=$((tree + debs + train + heldout))
fi
echo "gpu_prepare: working tree $(mib "$tree"), debs $(mib "$debs") ($(ls "$payload"/debs/*.deb | wc -l) files)," \
     "train corpus $(mib "$train") ($(ls "$payload"/corpus/train | wc -l) files), held-out $(mib "$heldout");" \
     "total $(mib "$total") of $(mib "$limit")"
if [ "$total" -gt "$limit" ]; then
  echo "gpu_prepare: over the device tool's 64 MiB: carry less (docs/gpu.md)" >&2
  exit 1
fi
echo "carry: [\"$payload\"]"
echo "command: bash scripts/gpu_run.sh --minutes 9 --payload $payload"
echo "timeout_s: 600"
