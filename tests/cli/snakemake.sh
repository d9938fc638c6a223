#!/usr/bin/env bash
# workflows/snakemake: scatter a genome and a VCF by region, gather, and compare with one
# `germ score` run on the whole input (docs/workflows.md states the tolerance).
. "$(dirname "$0")/lib.bash"
command -v snakemake >/dev/null || {
  echo "SKIP: snakemake is not installed (Debian: apt-get install snakemake; scripts/install_dependencies.sh does it)"
  exit 77
}
: "${GERM_SOURCE_DIR:?}"
# The documented tolerance (nats): printed values have 6 significant digits, and a chunk's
# lanes are batched differently from a whole-genome run's (float summation order).
TOLERANCE=1e-4

# Three contigs: one cut into 3 chunks (the last one partial) with an N run, a short one, and
# one whose name holds a ':' (germ's region syntax quotes it). Real sequence is not needed to
# test the plumbing; repeats make the default model's values vary.
python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
rng = random.Random(11)
def dna(n): return "".join(rng.choice("ACGT") for _ in range(n))
motif = dna(300)
chr1 = dna(3000) + motif * 4 + "N" * 700 + dna(2500) + motif * 3 + dna(1700)
contigs = {"chr1": chr1, "chr2": dna(3000), "HLA:1": dna(1500)}
with open(f"{w}/genome.fa", "w") as f:
    for name, s in contigs.items():
        f.write(f">{name}\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n")
# SNVs and an indel, three of them around a chunk boundary (chunks of 4,000 bases).
with open(f"{w}/calls.vcf", "w") as f:
    f.write("##fileformat=VCFv4.2\n")
    for name, s in contigs.items():
        f.write(f"##contig=<ID={name},length={len(s)}>\n")
    f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    def other(b): return "ACGT"[("ACGT".index(b) + 1) % 4]
    for name, pos in (("chr1", 500), ("chr1", 3999), ("chr1", 4000), ("chr1", 4001), ("chr1", 9000),
                      ("chr2", 1500), ("chr2", 3000), ("HLA:1", 700)):
        ref = contigs[name][pos - 1]
        if ref != "N":
            f.write(f"{name}\t{pos}\t.\t{ref}\t{other(ref)}\t50\tPASS\t.\n")
    f.write(f"chr2\t2000\t.\t{contigs['chr2'][1999:2002]}\t{contigs['chr2'][1999]}\t50\tPASS\t.\n")
PY
# The VCF lines above are written contig by contig, but the indel must join its contig's rows.
bcftools sort -O z -o "$WORK/calls.vcf.gz" "$WORK/calls.vcf" 2>/dev/null && bcftools index -t "$WORK/calls.vcf.gz" \
  || fail "test VCF"

# A smaller FOCUS geometry than the default model's: windows of 200 bases, 8 memory states
# (warm-up 1 kb) and 10-window segments (a 2 kb grid), so that a 14.5 kb genome makes 5 chunks
# and the test takes seconds; memory still crosses windows and is warmed up at every chunk.
# VCF: 1 kb variant windows for the same reason.
GRID="--window 200 --memory 8 --segment 10"
VCF_ARGS="--window 1000"
SNAKEFILE="$GERM_SOURCE_DIR/workflows/snakemake/Snakefile"
expect_exit 0 "snakemake --cores 2 (track, bigWig, VCF)" -- \
  snakemake -s "$SNAKEFILE" -d "$WORK/run" --cores 2 --quiet \
  --config genome="$WORK/genome.fa" vcf="$WORK/calls.vcf.gz" germ="$GERM" chunk_size=4000 threads=1 \
  "score_args=$GRID" "vcf_args=$VCF_ARGS" name=test
RESULTS="$WORK/run/results"
[ "$(wc -l < "$RESULTS/chunks.tsv")" -eq 5 ] && grep -q $'\t{HLA:1}:1-1500$' "$RESULTS/chunks.tsv" \
  && pass "5 chunks, the ':' name quoted" || fail "chunks: $(cat "$RESULTS/chunks.tsv" 2>&1)"
[ ! -e "$RESULTS/chunks/000000.bedgraph" ] && pass "chunk tracks are temporary" || fail "chunk tracks left behind"

# The gathered track: bgzip + tabix, equal to one whole-input run within the tolerance.
"$GERM" score $GRID -q -o "$WORK/single.bedgraph" "$WORK/genome.fa" || fail "single run"
tabix -l "$RESULTS/test.bedgraph.gz" > "$WORK/indexed" 2>&1 && [ "$(tr '\n' ' ' < "$WORK/indexed")" = "chr1 chr2 HLA:1 " ] \
  && pass "tabix index lists the 3 contigs" || fail "tabix: $(cat "$WORK/indexed")"
tabix "$RESULTS/test.bedgraph.gz" chr1:3990-4010 | grep -q . && pass "tabix query across a chunk boundary" \
  || fail "tabix query"
bgzip -dc "$RESULTS/test.bedgraph.gz" > "$WORK/gathered.bedgraph" || fail "bgzip -d"
compare_tracks "$WORK/single.bedgraph" "$WORK/gathered.bedgraph" "$TOLERANCE"

# bigWig: libBigWig's magic number, little-endian (germ's own tests read the values back).
[ "$(head -c 4 "$RESULTS/test.bw" | od -An -tx4 | tr -d ' ')" = "888ffc26" ] && pass "bigWig written" \
  || fail "no bigWig: $(ls "$RESULTS")"

# The scattered VCF: every record once, in order, with the values of one whole-VCF run.
bcftools index -n "$RESULTS/test.vcf.gz" > /dev/null 2>&1 && pass "bcftools reads the gathered VCF's index" \
  || fail "gathered VCF index"
"$GERM" score -q $VCF_ARGS --vcf "$WORK/calls.vcf.gz" --ref "$WORK/genome.fa" -o "$WORK/single.vcf" || fail "single VCF run"
query() { bcftools query -f '%CHROM:%POS:%REF:%ALT\t%INFO/GERM_LLR\t%INFO/GERM_FLAG\n' "$1"; }
query "$WORK/single.vcf" > "$WORK/single.tsv"
query "$RESULTS/test.vcf.gz" > "$WORK/gathered.tsv"
[ "$(wc -l < "$WORK/gathered.tsv")" -eq "$(bcftools view -H "$WORK/calls.vcf.gz" | wc -l)" ] \
  && pass "every VCF record once" || fail "VCF records: $(wc -l < "$WORK/gathered.tsv")"
paste "$WORK/single.tsv" "$WORK/gathered.tsv" | awk -F'\t' -v tol="$TOLERANCE" '
  $1 != $4 || $3 != $6 || ($2 == ".") != ($5 == ".") { bad = 1 }
  $2 != "." { d = $2 - $5; if (d < 0) d = -d; if (d > tol) bad = 1 }
  END { exit bad }' && pass "scattered VCF = whole-VCF run" || fail "VCF differs: $(paste "$WORK/single.tsv" "$WORK/gathered.tsv")"

finish
