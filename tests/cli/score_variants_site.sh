#!/usr/bin/env bash
# germ score --vcf --llr site: values equal what germ score writes for the reference and for the
# sequence carrying the ALT (both strands, same segment grid); threads, regions and the other
# records change nothing; indels go to the window method, flagged; fields and columns. Encoder
# models: the masked-marginal LLR of every ALT.
. "$(dirname "$0")/lib.bash"

python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
rng = random.Random(3)
seq = "".join(rng.choice("ACGT") for _ in range(6000))
def other(b): return "ACGT"[("ACGT".index(b) + 1) % 4]
def fasta(path, s):
    open(path, "w").write(">c1\n" + "\n".join(s[i:i + 70] for i in range(0, len(s), 70)) + "\n")
fasta(f"{w}/ref.fa", seq)
snvs = [700, 2345, 4100]  # 1-based POS
rows = [("c1", p, seq[p - 1], other(seq[p - 1])) for p in snvs]
rows.append(("c1", 3000, seq[2999:3002], seq[2999]))                       # deletion: window method
rows.append(("c1", 3500, seq[3499], other(seq[3499]) + "," + seq[3499] + "TT"))  # SNV + insertion
rows.sort(key=lambda r: r[1])
with open(f"{w}/calls.vcf", "w") as f:
    f.write("##fileformat=VCFv4.2\n##contig=<ID=c1,length=6000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for c, p, ref, alt in rows:
        f.write(f"{c}\t{p}\t.\t{ref}\t{alt}\t50\tPASS\t.\n")
for p in snvs:  # the genome carrying each SNV
    s = seq[:p - 1] + other(seq[p - 1]) + seq[p:]
    fasta(f"{w}/carrier{p}.fa", s)
open(f"{w}/snvs", "w").write(" ".join(map(str, snvs)))
PY
REF="$WORK/ref.fa"
VCF="$WORK/calls.vcf"
SITE=(--llr site --segment 2 --window 400)

expect_exit 0 "--llr site --strand-values" -- "$GERM" score -q "${SITE[@]}" --strand-values --vcf "$VCF" --ref "$REF" \
  -O tsv -o "$WORK/site.tsv"
head -1 "$WORK/site.tsv" | grep -q $'^#chrom\tpos\tref\talt\tgerm_site_llr\tgerm_site_llr_fwd\tgerm_site_llr_rev\tgerm_llr\tflags$' \
  && pass "TSV columns: site mean, each strand, window, flags" || fail "TSV header: $(head -1 "$WORK/site.tsv")"
awk -F'\t' 'NR > 1 && length($3) == 1 && length($4) == 1 && ($5 == "." || $6 == "." || $7 == "." || $8 != ".") { bad = 1 }
  NR > 1 && (length($3) != 1 || length($4) != 1) && ($5 != "." || $8 == "." || $9 !~ /NOT_SNV/) { bad = 1 }
  END { exit bad }' "$WORK/site.tsv" \
  && pass "SNVs get site values only; indels a window value, flagged NOT_SNV" || fail "values misplaced: $(cat "$WORK/site.tsv")"
awk -F'\t' 'NR > 1 && $5 != "." { d = ($6 + $7) / 2 - $5; if (d > 1e-5 || d < -1e-5) bad = 1 } END { exit bad }' \
  "$WORK/site.tsv" && pass "the site value is the mean of the strands" || fail "mean of strands"

# The same numbers from germ score: (carrier - reference) at the site, both strands averaged,
# on the same grid (--segment 2), equals the site LLR.
expect_exit 0 "germ score --both-strands, reference" -- "$GERM" score -q --both-strands --segment 2 "$REF" -o "$WORK/ref.bg"
value_at() {  # bedGraph, 1-based position
  awk -F'\t' -v p="$2" '$2 < p && p <= $3 { print $4; exit }' "$1"
}
for p in $(cat "$WORK/snvs"); do
  "$GERM" score -q --both-strands --segment 2 "$WORK/carrier$p.fa" -o "$WORK/carrier$p.bg" || fail "score carrier $p"
  expected=$(awk -v a="$(value_at "$WORK/carrier$p.bg" "$p")" -v r="$(value_at "$WORK/ref.bg" "$p")" 'BEGIN { printf "%.6f", a - r }')
  got=$(awk -F'\t' -v p="$p" '$2 == p { print $5 }' "$WORK/site.tsv")
  awk -v a="$expected" -v b="$got" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4 && b != "") }' \
    && pass "POS $p: site LLR $got = germ score carrier - reference $expected" || fail "POS $p: site $got vs germ score $expected"
done

# Threads, a region and the other records change nothing.
expect_exit 0 "-@ 2" -- "$GERM" score -q -@ 2 "${SITE[@]}" --strand-values --vcf "$VCF" --ref "$REF" -O tsv -o "$WORK/site2.tsv"
same_numbers "$WORK/site.tsv" "$WORK/site2.tsv" && pass "-@ 1 = -@ 2" || fail "threads change values"
bgzip -c "$VCF" > "$WORK/calls.vcf.gz" && bcftools index -t "$WORK/calls.vcf.gz"
expect_exit 0 "-r c1:2000-4200" -- "$GERM" score -q "${SITE[@]}" --strand-values --vcf "$WORK/calls.vcf.gz" --ref "$REF" \
  -r c1:2000-4200 -O tsv -o "$WORK/region.tsv"
awk -F'\t' 'NR == 1 || ($2 >= 2000 && $2 <= 4200)' "$WORK/site.tsv" > "$WORK/site.in_region.tsv"
same_numbers "$WORK/region.tsv" "$WORK/site.in_region.tsv" && pass "-r gives the whole-file values" || fail "-r changes values"
grep -v "	3000	\|	3500	" "$VCF" > "$WORK/snvs_only.vcf"
expect_exit 0 "SNVs alone" -- "$GERM" score -q "${SITE[@]}" --strand-values --vcf "$WORK/snvs_only.vcf" --ref "$REF" \
  -O tsv -o "$WORK/alone.tsv"
grep -v "	3000	\|	3500	" "$WORK/site.tsv" | cut -f1-7 > "$WORK/site.snvs.tsv"
cut -f1-7 "$WORK/alone.tsv" > "$WORK/alone.cut.tsv"
same_numbers "$WORK/alone.cut.tsv" "$WORK/site.snvs.tsv" && pass "other records change nothing" \
  || fail "values depend on the other records"

# VCF output: both methods' fields defined with the model and method; site,window fills both.
expect_exit 0 "--llr site,window -O z" -- "$GERM" score -q --llr site,window --segment 2 --window 400 --vcf "$VCF" \
  --ref "$REF" -O z -o "$WORK/both.vcf.gz"
bcftools view -h "$WORK/both.vcf.gz" | grep -q '^##INFO=<ID=GERM_SITE_LLR,Number=A,Type=Float,.*germ-focus-default.*reverse-complement' \
  && bcftools view -h "$WORK/both.vcf.gz" | grep -q '^##INFO=<ID=GERM_LLR,Number=A,Type=Float,' \
  && pass "header defines GERM_SITE_LLR (model, strands) and GERM_LLR" || fail "header fields"
[ "$(bcftools query -i 'INFO/GERM_LLR!="." && INFO/GERM_SITE_LLR!="."' -f '%POS\n' "$WORK/both.vcf.gz" | wc -l)" -eq 4 ] \
  && pass "site,window: SNV records carry both values" || fail "site,window values"

# Encoders (germ MLM here; imported DNABERT-2 alike): GERM_MM_LLR for every ALT, --llr refused.
"$GERM" pretrain --objective mlm --size tiny --steps 2 --batch-size 2 --vocab 64 -q -o "$WORK/enc.safetensors" "$REF" \
  || fail "tiny encoder"
expect_exit 0 "encoder model" -- "$GERM" score -q -m "$WORK/enc.safetensors" --vcf "$VCF" --ref "$REF" -O z -o "$WORK/mm.vcf.gz"
bcftools view -h "$WORK/mm.vcf.gz" | grep -q '^##INFO=<ID=GERM_MM_LLR,Number=A,Type=Float,.*masked-marginal' \
  && pass "header defines GERM_MM_LLR (masked-marginal)" || fail "GERM_MM_LLR header"
[ "$(bcftools query -f '%GERM_MM_LLR\n' "$WORK/mm.vcf.gz" | tr ',' '\n' | grep -cv '^\.$')" -eq 6 ] \
  && pass "every ALT (SNVs, indels) has a masked-marginal value" || fail "encoder values: $(bcftools query -f '%GERM_MM_LLR\n' "$WORK/mm.vcf.gz")"
expect_exit 1 "--llr with an encoder" -- "$GERM" score -q -m "$WORK/enc.safetensors" --llr site --vcf "$VCF" --ref "$REF" \
  -o "$WORK/refused.vcf"
expect_one_line_error "score: --llr: applies to causal LMs"
finish
