#!/usr/bin/env bash
# germ score --vcf: variant effects written back into the VCF, formats, regions, flags, errors;
# then the real 1000 Genomes and dbSNP sites when ../shared/data is present.
. "$(dirname "$0")/lib.bash"

# A 6 kb two-contig reference and a VCF without ##contig lines (as many real files are):
# SNVs, an MNV, indels, multi-allelic, symbolic and '*' ALTs, a REF mismatch, a contig with a
# chr-prefix twin, a record at each contig edge.
python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
rng = random.Random(7)
seq = {"1": "".join(rng.choice("ACGT") for _ in range(4000)), "2": "".join(rng.choice("ACGT") for _ in range(2000))}
with open(f"{w}/ref.fa", "w") as f:
    for name, s in seq.items():
        f.write(f">{name}\n" + "\n".join(s[i:i + 70] for i in range(0, len(s), 70)) + "\n")
def other(b): return "ACGT"[("ACGT".index(b) + 1) % 4]
rows = []
def add(c, pos, ref, alts, info="."):
    rows.append((c, pos, ref, ",".join(alts), info))
s1, s2 = seq["1"], seq["2"]
add("1", 1, s1[0], [other(s1[0])])                                   # contig start: EDGE
for p in (500, 501, 900, 1500, 2300, 3100):
    add("1", p, s1[p - 1], [other(s1[p - 1])])
add("1", 1000, s1[999:1002], [s1[999]])                             # deletion
add("1", 1200, s1[1199], [s1[1199] + "GATTACA"])                    # insertion
add("1", 1300, s1[1299:1301], [other(s1[1299]) + other(s1[1300])])  # MNV
add("1", 1400, s1[1399], [other(s1[1399]), other(other(s1[1399])), "<DEL>", "*"])  # multi-allelic + symbolic
add("1", 1600, other(s1[1599]), ["A"])                               # REF mismatch
add("chr2", 100, s2[99], [other(s2[99])])                            # chr-prefix mismatch
add("2", 700, s2[699], [other(s2[699])])
add("2", 2000, s2[1999], [other(s2[1999])])                         # contig end: EDGE
order = {"1": 0, "chr2": 1, "2": 2}
rows.sort(key=lambda r: (order[r[0]], r[1]))  # sorted, so that bcftools can index it
with open(f"{w}/calls.vcf", "w") as f:
    f.write("##fileformat=VCFv4.2\n##INFO=<ID=AF,Number=A,Type=Float,Description=\"x\">\n")
    f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for c, pos, ref, alt, info in rows:
        f.write(f"{c}\t{pos}\trs{pos}\t{ref}\t{alt}\t50\tPASS\t{info}\n")
PY
REF="$WORK/ref.fa"
VCF="$WORK/calls.vcf"
records=$(grep -vc '^#' "$VCF")
# A tiny causal LM trained for two steps: fast, and any model exercises the plumbing.
"$GERM" pretrain --objective clm --size tiny --steps 2 --seq-len 128 --batch-size 2 -q -o "$WORK/tiny.safetensors" "$REF" \
  || fail "tiny model"
M="$WORK/tiny.safetensors"
query() { bcftools query -f '%CHROM:%POS:%REF:%ALT\t%INFO/GERM_LLR\t%INFO/GERM_FLAG\n' "$@"; }

expect_exit 0 "score --vcf, default model" -- "$GERM" score --vcf "$VCF" --ref "$REF" --window 200 -o "$WORK/default.vcf"
grep -q "chr-prefix mismatch" "$WORK/err" && grep -q "'chr2'.*'2'" "$WORK/err" \
  && pass "chr-prefix mismatch reported, naming both spellings" || fail "no chr-prefix report: $(cat "$WORK/err")"
bcftools view "$WORK/default.vcf" > /dev/null 2>&1 && pass "bcftools reads the output" || fail "bcftools rejects the output"
[ "$(bcftools view -H "$WORK/default.vcf" | wc -l)" -eq "$records" ] && pass "all $records records kept" || fail "records lost"
bcftools view -h "$WORK/default.vcf" | grep -q '^##INFO=<ID=GERM_LLR,Number=A,Type=Float,.*nats' \
  && bcftools view -h "$WORK/default.vcf" | grep -q '^##germ_command=germ score --vcf' \
  && pass "GERM_LLR defined (Number=A, nats), ##germ_command kept" || fail "header lines missing"
query "$WORK/default.vcf" > "$WORK/default.tsv"
# Every record is scored or flagged; each flag sits where it should.
awk -F'\t' '$2 == "." && $3 == "." { bad = 1 } END { exit bad }' "$WORK/default.tsv" \
  && pass "every record has GERM_LLR or GERM_FLAG" || fail "a record has neither"
check_flag() {
  awk -F'\t' -v site="$1" -v flag="$2" 'index($1, site) == 1 && $3 ~ flag { found = 1 } END { exit !found }' \
    "$WORK/default.tsv" && pass "$1 flagged $2" || fail "$1 not flagged $2: $(grep "^$1" "$WORK/default.tsv")"
}
check_flag "1:1:" EDGE
check_flag "2:2000:" EDGE
check_flag "1:1600:" REF_MISMATCH
check_flag "chr2:100:" CONTIG_MISSING
check_flag "1:1400:" SYMBOLIC_ALT
awk -F'\t' '$1 ~ /^1:1400:/ { split($2, v, ","); exit !(v[1] != "." && v[2] != "." && v[3] == "." && v[4] == ".") }' \
  "$WORK/default.tsv" && pass "multi-allelic: one value per ALT, symbolic ones missing" || fail "multi-allelic values"
for site in 1:1000: 1:1200: 1:1300:; do
  awk -F'\t' -v s="$site" 'index($1, s) == 1 { exit !($2 != "." && $3 == ".") }' "$WORK/default.tsv" \
    && pass "$site indel/MNV scored" || fail "$site not scored"
done

# Sharing the reference prefix changes nothing but speed.
expect_exit 0 "tiny model" -- "$GERM" score -q -m "$M" --vcf "$VCF" --ref "$REF" --window 300 -o "$WORK/shared.vcf"
expect_exit 0 "--no-prefix-reuse" -- "$GERM" score -q -m "$M" --vcf "$VCF" --ref "$REF" --window 300 --no-prefix-reuse \
  -o "$WORK/scratch.vcf"
paste <(query "$WORK/shared.vcf") <(query "$WORK/scratch.vcf") | awk -F'\t' '
  { n = split($2, a, ","); split($5, b, ","); for (i = 1; i <= n; i++) if (a[i] != "." && (a[i] - b[i] > 1e-3 || b[i] - a[i] > 1e-3)) bad = 1 }
  END { exit bad }' && pass "shared prefix = from scratch (1e-3 nats)" || fail "prefix reuse changes values"

# Formats: bgzip + tabix, BCF + csi, TSV, stdin.
expect_exit 0 "-O z -W" -- "$GERM" score -q -m "$M" --vcf "$VCF" --ref "$REF" --window 300 -O z -W -o "$WORK/s.vcf.gz"
[ -s "$WORK/s.vcf.gz.tbi" ] && tabix "$WORK/s.vcf.gz" 1:1000-1500 | grep -q rs1200 \
  && pass "tabix index works" || fail "tabix index"
# BCF refers to contigs by header index, so a contig found neither in the header nor in the
# reference (chr2 here) cannot be written: one-line error, nothing left behind; without it, BCF works.
bad_bcf="$WORK/s_bad.bcf"
expect_exit 1 "-O b with an undeclared, unknown contig" -- "$GERM" score -q -m "$M" --vcf "$VCF" --ref "$REF" --window 300 -O b -o "$bad_bcf"
expect_one_line_error "contig 'chr2' is declared neither in the VCF header nor in the reference"
[ ! -e "$bad_bcf" ] && pass "no BCF left behind" || fail "partial BCF left behind"
grep -v '^chr2' "$VCF" > "$WORK/known.vcf"
expect_exit 0 "-O b -W" -- "$GERM" score -q -m "$M" --vcf "$WORK/known.vcf" --ref "$REF" --window 300 -O b -W -o "$WORK/s.bcf"
[ -s "$WORK/s.bcf.csi" ] && diff <(query "$WORK/s.bcf") <(query "$WORK/shared.vcf" | grep -v '^chr2') >/dev/null \
  && pass "BCF + csi, same values" || fail "BCF output"
expect_exit 0 "-O tsv" -- "$GERM" score -q -m "$M" --vcf "$VCF" --ref "$REF" --window 300 -o "$WORK/s.tsv"
alts=$(grep -v '^#' "$VCF" | awk -F'\t' '{ n += split($5, a, ",") } END { print n }')
[ "$(head -1 "$WORK/s.tsv")" = $'#chrom\tpos\tref\talt\tgerm_llr\tflags' ] && [ "$(grep -vc '^#' "$WORK/s.tsv")" -eq "$alts" ] \
  && pass "TSV: header and one row per ALT ($alts)" || fail "TSV layout"
"$GERM" score -q -m "$M" --vcf - --ref "$REF" --window 300 < "$VCF" > "$WORK/stdin.vcf" 2>"$WORK/err" \
  && diff <(query "$WORK/stdin.vcf") <(query "$WORK/shared.vcf") >/dev/null && pass "stdin = file" || fail "stdin differs"

# Regions go through the index and give the same values as the whole-file run.
bgzip -c "$VCF" > "$WORK/calls.vcf.gz" && bcftools index -t "$WORK/calls.vcf.gz"
expect_exit 0 "-r" -- "$GERM" score -q -m "$M" --vcf "$WORK/calls.vcf.gz" --ref "$REF" --window 300 -r 1:1000-1400 -o "$WORK/r.vcf"
query "$WORK/shared.vcf" | awk -F'[:\t]' '$1 == "1" && $2 >= 1000 && $2 <= 1400' > "$WORK/expect.r"
query "$WORK/r.vcf" > "$WORK/got.r"
same_numbers "$WORK/got.r" "$WORK/expect.r" && [ -s "$WORK/expect.r" ] \
  && pass "-r: records whose POS is in the region, same values as the whole run" || fail "-r output differs"
printf '1\t0\t600\n2\t600\t800\n' > "$WORK/r.bed"
expect_exit 0 "-R bed" -- "$GERM" score -q -m "$M" --vcf "$WORK/calls.vcf.gz" --ref "$REF" --window 300 -R "$WORK/r.bed" -o "$WORK/R.vcf"
[ "$(bcftools query -f '%CHROM:%POS ' "$WORK/R.vcf")" = "1:1 1:500 1:501 2:700 " ] && pass "-R BED regions" \
  || fail "-R selected $(bcftools query -f '%CHROM:%POS ' "$WORK/R.vcf")"

# Errors: one line, non-zero exit, nothing left behind.
bad_run() {  # bad_run DESCRIPTION PATTERN -- args...
  local what=$1 pattern=$2; shift 3
  rm -f "$WORK/bad.vcf"
  expect_exit 1 "$what" -- "$GERM" score -q -m "$M" "$@" -o "$WORK/bad.vcf"
  expect_one_line_error "$pattern"
  [ ! -e "$WORK/bad.vcf" ] && pass "no output left ($what)" || fail "output left behind ($what)"
}
bad_run "no --ref" "needs --ref" -- --vcf "$VCF"
bad_run "-r on a plain VCF" "calls.vcf: -r/-R need a bgzip" -- --vcf "$VCF" --ref "$REF" -r 1:1-100
cp "$WORK/calls.vcf.gz" "$WORK/noindex.vcf.gz"
bad_run "-r without an index" "noindex.vcf.gz: .*bcftools index" -- --vcf "$WORK/noindex.vcf.gz" --ref "$REF" -r 1:1-100
bad_run "-r unknown contig" "chr9" -- --vcf "$WORK/calls.vcf.gz" --ref "$REF" -r chr9:1-100
head -c $(( $(stat -c %s "$WORK/calls.vcf.gz") / 2 )) "$WORK/calls.vcf.gz" > "$WORK/truncated.vcf.gz"
bad_run "truncated bgzip VCF" "truncated.vcf.gz: truncated" -- --vcf "$WORK/truncated.vcf.gz" --ref "$REF"
printf '##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\tabc\t.\tA\tC\t.\t.\t.\n' > "$WORK/garbled.vcf"
bad_run "garbled record" "garbled.vcf: damaged" -- --vcf "$WORK/garbled.vcf" --ref "$REF"
bad_run "not a VCF" "ref.fa: (not a VCF|damaged)" -- --vcf "$REF" --ref "$REF"
bad_run "missing VCF" "nope.vcf: cannot open" -- --vcf "$WORK/nope.vcf" --ref "$REF"
bad_run "-W to stdout-able type" "write-index" -- --vcf "$VCF" --ref "$REF" -W -O v
bad_run "bad -O" "unknown type 'q'" -- --vcf "$VCF" --ref "$REF" -O q
# An existing output survives a failed run untouched.
echo keep > "$WORK/keep.vcf"
"$GERM" score -q -m "$M" --vcf "$WORK/garbled.vcf" --ref "$REF" -o "$WORK/keep.vcf" 2>/dev/null
[ "$(cat "$WORK/keep.vcf")" = keep ] && pass "failed run leaves the old output untouched" || fail "old output clobbered"

# Real data: every 1000 Genomes site is scored or flagged, and a dbSNP slice scores.
if [ -d "$GERM_SHARED_DATA_DIR" ]; then
  D="$GERM_SHARED_DATA_DIR"
  cp "$D/variants/human_GRCh37_chr20_1-2Mb.1kgp.vcf.gz" "$WORK/kg.vcf.gz" && bcftools index -t "$WORK/kg.vcf.gz"
  expect_exit 0 "1000 Genomes sites, z:1-30000" -- "$GERM" score -m "$M" --vcf "$WORK/kg.vcf.gz" \
    --ref "$D/genomes/human_GRCh37_chr20_1-2Mb.fa" --window 2 -r z:1-30000 -O z -o "$WORK/kg.out.vcf.gz"
  want=$(bcftools view -H -r z:1-30000 "$WORK/kg.vcf.gz" | wc -l)
  got=$(bcftools view -H "$WORK/kg.out.vcf.gz" | wc -l)
  unscored=$(bcftools view -H -i 'INFO/GERM_LLR="." && INFO/GERM_FLAG="."' "$WORK/kg.out.vcf.gz" | wc -l)
  [ "$want" -gt 500 ] && [ "$got" -eq "$want" ] && [ "$unscored" -eq 0 ] \
    && pass "1kGP: $got of $want records out, all scored or flagged" || fail "1kGP: $got of $want out, $unscored neither scored nor flagged"
  # dbSNP (HISAT2 .snp: id, type, contig, 0-based pos, alt) -> VCF on the chr22 slice.
  python3 - "$D" "$WORK" <<'PY'
import sys
d, w = sys.argv[1:3]
seq = "".join(l.strip() for l in open(f"{d}/genomes/human_GRCh37_chr22_20-21Mb.fa") if not l.startswith(">"))
name = open(f"{d}/genomes/human_GRCh37_chr22_20-21Mb.fa").readline()[1:].split()[0]
rows = []
for line in open(f"{d}/variants/human_GRCh37_chr22_20-21Mb.dbsnp.tsv"):
    rid, kind, contig, pos, alt = line.split()
    pos = int(pos)
    if kind == "single": rows.append((pos + 1, rid, seq[pos], alt))
    elif kind == "deletion": rows.append((pos, rid, seq[pos - 1:pos + int(alt)], seq[pos - 1]))
    elif kind == "insertion": rows.append((pos, rid, seq[pos - 1], seq[pos - 1] + alt))
rows = sorted(r for r in rows if r[0] <= 60000)
with open(f"{w}/dbsnp.vcf", "w") as f:
    f.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for pos, rid, ref, alt in rows: f.write(f"{name}\t{pos}\t{rid}\t{ref}\t{alt}\t.\t.\t.\n")
PY
  expect_exit 0 "dbSNP chr22 slice" -- "$GERM" score -q -m "$M" --vcf "$WORK/dbsnp.vcf" \
    --ref "$D/genomes/human_GRCh37_chr22_20-21Mb.fa" --window 2 -o "$WORK/dbsnp.out.vcf"
  n_in=$(grep -vc '^#' "$WORK/dbsnp.vcf"); n_out=$(bcftools view -H "$WORK/dbsnp.out.vcf" | wc -l)
  n_scored=$(bcftools view -H -i 'INFO/GERM_LLR!="."' "$WORK/dbsnp.out.vcf" | wc -l)
  [ "$n_in" -gt 50 ] && [ "$n_out" -eq "$n_in" ] && [ "$n_scored" -gt $((n_in * 9 / 10)) ] \
    && pass "dbSNP: $n_out of $n_in records out, $n_scored scored" || fail "dbSNP: $n_out of $n_in out, $n_scored scored"
else
  echo "SKIP (real data): ../shared/data is absent ($GERM_SHARED_DATA_DIR)"
fi
finish
