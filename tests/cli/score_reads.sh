#!/usr/bin/env bash
# germ score on reads (SAM/BAM/CRAM/FASTQ): tags on every read, everything else kept, @PG
# chained; values as on a FASTA of the same sequence; classifiers; quantized models; errors.
# The real-data part (yeast chrI BAM round trip, CRAM with --ref) skips without ../shared/data.
. "$(dirname "$0")/lib.bash"
FA="$GERM_SOURCE_DIR/test_data/small.fa"

# same_records A B [TAG...]: the same records in the same order, every field equal once the germ
# tags (gl gn gc gp) and any TAG named are taken out of both; prints how many.
same_records() {
  python3 - "$@" <<'PY'
import sys
def records(path):
    out = []
    for line in open(path):
        if line.startswith("@"): continue
        fields = line.rstrip("\n").split("\t")
        out.append(fields[:11] + [f for f in fields[11:] if f[:2] not in ignored])
    return out
ignored = {"gl", "gn", "gc", "gp", *sys.argv[3:]}
a, b = records(sys.argv[1]), records(sys.argv[2])
assert len(a) == len(b), (len(a), len(b))
for i, (x, y) in enumerate(zip(a, b)):
    assert x == y, (i, x, y)
print(len(a))
PY
}
# tag FILE NAME: the value of tag NAME per record (empty when absent), one line each.
tag() { awk -F'\t' -v t="$2" '!/^@/ { v = ""; for (i = 12; i <= NF; i++) if (substr($i, 1, 3) == t ":") v = substr($i, 6); print v }' "$1"; }

# A SAM with what reads come as: forward and reverse alignments of the same read (the reverse one
# stores SEQ reverse-complemented), a secondary with SEQ '*', an unmapped read, a one-base read, a
# read carrying a stale gl tag of another type, and N bases.
READ=CATTGCAGGTCACGTTAGCCATTGACCGTAAGGCTTAGCTAGGCATCGATCGGATCCAAGTTCGACGTAGCTAGCAATCGGTACGTTAGCAT
REVCOMP=$(echo "$READ" | rev | tr ACGT TGCA)
QUAL=$(printf 'I%.0s' $(seq ${#READ}))
{
  printf '@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:5000\n@PG\tID:bwa\tPN:bwa\tVN:0.7\n@PG\tID:samtools\tPN:samtools\tPP:bwa\tVN:1.16\n'
  printf 'fwd\t0\tchr1\t100\t60\t%dM\t*\t0\t0\t%s\t%s\tNM:i:0\n' ${#READ} "$READ" "$QUAL"
  printf 'rev\t16\tchr1\t100\t60\t%dM\t*\t0\t0\t%s\t%s\tNM:i:0\n' ${#READ} "$REVCOMP" "$QUAL"
  printf 'sec\t256\tchr1\t300\t0\t%dM\t*\t0\t0\t*\t*\tNM:i:1\n' ${#READ}
  printf 'unmapped\t4\t*\t0\t0\t*\t*\t0\t0\tACGTNNACGTTTGACA\tIIIIIIIIIIIIIIII\n'
  printf 'one\t4\t*\t0\t0\t*\t*\t0\t0\tA\tI\n'
  printf 'stale\t4\t*\t0\t0\t*\t*\t0\t0\tACGGTCAAGT\tIIIIIIIIII\tgl:Z:old\tXY:i:3\n'
} > "$WORK/in.sam"

expect_exit 0 "SAM in, SAM out" -- "$GERM" score -q "$WORK/in.sam" -o "$WORK/out.sam"
n=$(same_records "$WORK/in.sam" "$WORK/out.sam" 2>"$WORK/err") && [ "$n" -eq 6 ] \
  && pass "every record kept, in order, other fields unchanged" || fail "records differ: $(tail -c 400 "$WORK/err")"
L=$((${#READ} - 1))  # bases with a value: all but the first
tag "$WORK/out.sam" gn | tr '\n' ' ' | grep -qx "$L $L  13 0 9 " && pass "gn: bases after the first, N not counted; none for SEQ '*'" \
  || fail "gn: $(tag "$WORK/out.sam" gn | tr '\n' ' ')"
gl=($(tag "$WORK/out.sam" gl))
[ "${gl[0]}" = "${gl[1]}" ] && [ ${#gl[@]} -eq 4 ] && pass "reverse-strand read scored as sequenced; no gl for 1 base or SEQ '*'" \
  || fail "gl: ${gl[*]}"
grep -P '^stale\t.*\tXY:i:3\tgl:f:-[0-9.]+\tgn:i:9$' "$WORK/out.sam" >/dev/null && pass "a stale gl tag is replaced" \
  || fail "stale: $(grep ^stale "$WORK/out.sam")"
grep -P '^@PG\tID:germ\tPP:samtools\tPN:germ\tVN:[^\t]+\tCL:.*score -q .*in.sam -o .*out.sam$' "$WORK/out.sam" >/dev/null \
  && [ "$(grep -c '^@' "$WORK/out.sam")" -eq 5 ] && pass "@PG line chained to the last @PG (PP), header otherwise kept" \
  || fail "header: $(grep '^@' "$WORK/out.sam")"
# Scoring the output again adds germ.1 after germ, as samtools chains its own.
"$GERM" score -q "$WORK/out.sam" > "$WORK/again.sam" 2>"$WORK/err"
grep -qP '^@PG\tID:germ.1\tPP:germ\t' "$WORK/again.sam" && pass "SAM on stdout by default; a second @PG is germ.1" \
  || fail "again: $(grep '^@PG' "$WORK/again.sam") $(cat "$WORK/err")"

# The same sequence as a one-record FASTA: the bedGraph's mean is the read's gl.
printf '>read\n%s\n' "$READ" > "$WORK/read.fa"
"$GERM" score -q "$WORK/read.fa" > "$WORK/read.bg"
awk -v gl="${gl[0]}" -v L=$L '{ s += $4 * ($3 - $2); n += $3 - $2 } END { d = s / n - gl; exit !(n == L && d < 1e-4 && d > -1e-4) }' \
  "$WORK/read.bg" && pass "gl = mean of germ score's FASTA track (1e-4)" || fail "FASTA mean vs gl ${gl[0]}: $(head -2 "$WORK/read.bg")"

# Formats: -O over the name; BAM and CRAM from the name; a missing directory; bad -O.
expect_exit 0 "-O bam" -- "$GERM" score -q -O bam "$WORK/in.sam" -o "$WORK/out.x"
[ "$(gzip -dc < "$WORK/out.x" 2>/dev/null | head -c 3)" = "BAM" ] && pass "BAM written" || fail "not BAM"
expect_exit 0 "BAM from the .bam name" -- "$GERM" score -q "$WORK/in.sam" -o "$WORK/out.bam"
samtools view -h "$WORK/out.bam" > "$WORK/bam.sam" && same_records "$WORK/out.sam" "$WORK/bam.sam" >/dev/null \
  && [ "$(tag "$WORK/bam.sam" gl | tr '\n' ' ')" = "$(tag "$WORK/out.sam" gl | tr '\n' ' ')" ] \
  && pass "BAM holds the same records and tags" || fail "BAM differs"
expect_exit 1 "CRAM of aligned reads without --ref" -- "$GERM" score -q "$WORK/in.sam" -o "$WORK/out.cram"
expect_one_line_error "out.cram: CRAM is encoded against the reference: give --ref"
[ ! -e "$WORK/out.cram" ] && pass "no CRAM left" || fail "a CRAM was left"
expect_exit 1 "-o in a missing directory" -- "$GERM" score -q "$WORK/in.sam" -o "$WORK/nope/out.bam"
expect_one_line_error "nope/out.bam: cannot create"
expect_exit 1 "unknown -O" -- "$GERM" score -q -O vcf "$WORK/in.sam"
expect_one_line_error "unknown output type 'vcf' for reads"

# Truncated inputs: an error naming the file, and no output under the final name or as a temporary.
samtools view -b -o "$WORK/in.bam" "$WORK/in.sam"
size=$(stat -c %s "$WORK/in.bam")
head -c $((size - 28)) "$WORK/in.bam" > "$WORK/noeof.bam"  # cut at a block boundary: only EOF missing
head -c $((size / 2)) "$WORK/in.bam" > "$WORK/half.bam"
mkdir "$WORK/t"
for input in noeof half; do
  expect_exit 1 "truncated BAM ($input)" -- "$GERM" score -q "$WORK/$input.bam" -o "$WORK/t/out.bam"
  expect_one_line_error "$input.bam: .*truncated"
done
head -c $((size / 2)) "$WORK/in.bam" > "$WORK/damaged.bam" && tail -c 28 "$WORK/in.bam" >> "$WORK/damaged.bam"
expect_exit 1 "BAM cut mid-block (EOF block present)" -- "$GERM" score -q "$WORK/damaged.bam" -o "$WORK/t/out.bam"
expect_one_line_error "damaged.bam: damaged or truncated"
[ -z "$(ls -A "$WORK/t")" ] && pass "nothing left behind" || fail "left: $(ls -A "$WORK/t")"

# FASTQ (plain and gzip): unaligned records (flag 4, or 77/141 for /1 /2 names, as samtools
# import), the comment dropped, @HD as samtools import writes it.
printf '@q1/1 a comment BC:Z:ACGT\n%s\n+\n%s\n@q2 other\nacgtnacgtacgttgca\n+\nIIIIIIIIIIIIIIIII\n' "$READ" "$QUAL" > "$WORK/r.fq"
gzip -c "$WORK/r.fq" > "$WORK/r.fq.gz"
for fq in r.fq r.fq.gz; do
  expect_exit 0 "FASTQ in ($fq)" -- "$GERM" score -q "$WORK/$fq" -o "$WORK/fq.sam"
  awk -F'\t' '!/^@/ { print $1, $2, $3, $10, NF }' "$WORK/fq.sam" | tr '\n' ';' \
    | grep -qx "q1 77 \* $READ 13;q2 4 \* ACGTNACGTACGTTGCA 13;" && pass "$fq: unaligned records, comment dropped" \
    || fail "$fq: $(grep -v '^@' "$WORK/fq.sam" | cut -c 1-200)"
  [ "$(tag "$WORK/fq.sam" gl | head -1)" = "${gl[0]}" ] && pass "$fq: same gl as the aligned read" || fail "$fq gl"
  grep -qP '^@HD\tVN:1.6\tSO:unsorted\tGO:query$' "$WORK/fq.sam" && grep -q '^@PG	ID:germ	PN:germ' "$WORK/fq.sam" \
    && pass "$fq: @HD and @PG" || fail "$fq header: $(grep '^@' "$WORK/fq.sam")"
done
expect_exit 0 "FASTQ to unaligned CRAM (no reference needed)" -- "$GERM" score -q "$WORK/r.fq" -o "$WORK/fq.cram"
[ "$(samtools view "$WORK/fq.cram" | tag /dev/stdin gn | tr '\n' ' ')" = "$L 15 " ] && pass "unaligned CRAM readable" \
  || fail "fq.cram: $(samtools view "$WORK/fq.cram" 2>&1 | head -c 300)"
printf '@q1\nACGTAC\n+\nIII' > "$WORK/bad.fq"
expect_exit 1 "truncated FASTQ" -- "$GERM" score -q "$WORK/bad.fq" -o "$WORK/t/bad.sam"
expect_one_line_error "bad.fq: damaged or truncated after record 0"

# A classifier: gc:Z the predicted class, gp:f its probability; with --class, that class's.
# Reads within the training length (80) get what germ predict gives the same sequence; longer
# reads (here 92 bases) average two tiles.
make_gc_task "$WORK/task" 5 8 labels
"$GERM" pretrain -q --objective mlm --size tiny --vocab 64 --steps 3 --batch-size 8 --seq-len 64 \
  -o "$WORK/enc.safetensors" "$FA" 2>"$WORK/err" || fail "tiny encoder: $(head -c 300 "$WORK/err")"
"$GERM" finetune -q -@ 2 --method full --lr 1e-3 --base "$WORK/enc.safetensors" --data "$WORK/task" --epochs 2 \
  --batch-size 16 --warmup 2 -o "$WORK/cls.safetensors" 2>"$WORK/err" || fail "finetune: $(head -c 300 "$WORK/err")"
expect_exit 0 "classifier tags" -- "$GERM" score -q -m "$WORK/cls.safetensors" "$WORK/in.sam" -o "$WORK/cls.sam"
same_records "$WORK/in.sam" "$WORK/cls.sam" >/dev/null && pass "classifier: records kept" || fail "classifier: records differ"
tag "$WORK/cls.sam" gc | grep -cxE 'at_rich|gc_rich' | grep -qx 5 && [ -z "$(tag "$WORK/cls.sam" gn | tr -d '\n')" ] \
  && pass "gc:Z a class name on the 5 reads with SEQ, no gl/gn" || fail "gc: $(tag "$WORK/cls.sam" gc | tr '\n' ' ')"
expect_exit 0 "classifier --class gc_rich" -- "$GERM" score -q -m "$WORK/cls.safetensors" --class gc_rich "$WORK/in.sam" -o "$WORK/gc.sam"
{ echo "sequence,label"; awk -F'\t' '!/^@/ && $10 != "*" && length($10) <= 80 { print $10 ",0" }' "$WORK/in.sam"; } > "$WORK/short_task.csv"
"$GERM" predict -m "$WORK/cls.safetensors" "$WORK/short_task.csv" > "$WORK/predict.tsv" 2>"$WORK/err"
python3 - "$WORK/cls.sam" "$WORK/gc.sam" "$WORK/predict.tsv" <<'PY' && pass "gp = germ predict's probability (1e-4); --class reports P(gc_rich)" || fail "classifier values: $(head -3 "$WORK/predict.tsv")"
import sys
def tags(path):
    out = {}
    for line in open(path):
        if line.startswith("@"): continue
        f = line.rstrip("\n").split("\t")
        out[f[0]] = (len(f[9]) if f[9] != "*" else 0, dict((t[:2], t[5:]) for t in f[11:]))
    return out
cls, gc = tags(sys.argv[1]), tags(sys.argv[2])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if not l.startswith("#")]
short = [name for name, (length, _) in cls.items() if 0 < length <= 80]
assert len(rows) == len(short) == 3, (rows, short)
for name, row in zip(short, rows):
    p_at, p_gc = float(row[2]), float(row[3])
    label = "gc_rich" if p_gc > p_at else "at_rich"
    assert cls[name][1]["gc"] == label, (name, cls[name], row)
    assert abs(float(cls[name][1]["gp"]) - max(p_at, p_gc)) < 1e-4, (name, cls[name], row)
    assert abs(float(gc[name][1]["gp"]) - p_gc) < 1e-4, (name, gc[name], row)
for name, (length, t) in cls.items():
    if length:
        assert 0.5 <= float(t["gp"]) <= 1 and 0 <= float(gc[name][1]["gp"]) <= 1, (name, t)
        assert gc[name][1]["gc"] == t["gc"]
PY
expect_exit 1 "--class with a causal LM" -- "$GERM" score -q --class 1 "$WORK/in.sam"
expect_one_line_error "class: is for classifier models"

# A quantized causal LM (no FOCUS adapter: reads within a window need none): integer and
# --fake-quant close to each other and to fp32.
"$GERM" pretrain -q --objective clm --size tiny --vocab 64 --steps 5 --batch-size 8 --seq-len 64 \
  -o "$WORK/clm.safetensors" "$FA" 2>"$WORK/err" || fail "tiny clm: $(head -c 300 "$WORK/err")"
"$GERM" quantize -q -m "$WORK/clm.safetensors" --method smoothquant --bits w8a8 --calib "$FA" --calib-length 200 \
  -o "$WORK/clm.q.safetensors" 2>"$WORK/err" || fail "quantize: $(head -c 300 "$WORK/err")"
for variant in "clm" "clm.q" "clm.q --fake-quant"; do
  set -- $variant
  expect_exit 0 "score reads with $variant" -- "$GERM" score -q -m "$WORK/$1.safetensors" ${2:-} "$WORK/in.sam" -o "$WORK/$1${2:-}.sam"
done
paste <(tag "$WORK/clm.sam" gl) <(tag "$WORK/clm.q.sam" gl) <(tag "$WORK/clm.q--fake-quant.sam" gl) \
  | awk -F'\t' '$1 != "" { n++; if ($2 - $1 > 0.05 || $1 - $2 > 0.05 || $3 - $2 > 0.02 || $2 - $3 > 0.02) bad = 1 }
                END { exit bad || n != 4 }' && pass "quantized gl within 0.05 nats of fp32, integer ~ fake-quant" \
  || fail "quantized: $(paste <(tag "$WORK/clm.sam" gl) <(tag "$WORK/clm.q.sam" gl) | tr '\n' ' ')"

# Real data.
[ "$failures" -eq 0 ] || finish
shared_data_or_skip
YEAST="$GERM_SHARED_DATA_DIR/reads/yeast_SRR1569870_chrI.sorted.bam"
# One thread: ctest runs tests side by side, and two threads per forward on cores other jobs hold
# wait on each other (docs/score_reads.md: 49 s instead of 4 s for this BAM); values do not
# depend on -@ (unit test ReadScorer.ThreadsDoNotChangeTheValues).
expect_exit 0 "yeast chrI BAM" -- "$GERM" score -q -@ 1 "$YEAST" -o "$WORK/yeast.bam"
samtools view "$YEAST" > "$WORK/yeast_in.sam"
samtools view "$WORK/yeast.bam" > "$WORK/yeast_out.sam"
n=$(same_records "$WORK/yeast_in.sam" "$WORK/yeast_out.sam" 2>"$WORK/err") && [ "$n" -eq 1001 ] \
  && pass "yeast: 1,001 reads, same order, other fields unchanged" || fail "yeast: $(tail -c 300 "$WORK/err")"
awk -F'\t' '$10 != "*" && !/\tgl:f:-[0-9.e-]+\tgn:i:[0-9]+$/ { bad++ } END { exit bad }' "$WORK/yeast_out.sam" \
  && pass "yeast: every read with SEQ has gl and gn" || fail "yeast: reads without tags"
samtools view -H "$WORK/yeast.bam" | grep -qP '^@PG\tID:germ\tPP:bwa\tPN:germ\t' && pass "yeast: @PG after bwa" \
  || fail "yeast @PG: $(samtools view -H "$WORK/yeast.bam" | grep '^@PG')"

# CRAM in and out against the reference (a copy: htslib may write its .fai beside it).
cp "$GERM_SHARED_DATA_DIR/genomes/strelka_demo20.fa" "$WORK/demo20.fa"
STRELKA="$GERM_SHARED_DATA_DIR/reads/strelka_NA12891_demo20.bam"
expect_exit 0 "BAM to CRAM with --ref" -- "$GERM" score -q -@ 1 --ref "$WORK/demo20.fa" "$STRELKA" -o "$WORK/demo.cram"
expect_exit 1 "CRAM in without --ref" -- "$GERM" score -q "$WORK/demo.cram" -o "$WORK/t/x.sam"
expect_one_line_error "demo.cram: CRAM is decoded against its reference: give --ref"
expect_exit 0 "CRAM in with --ref" -- "$GERM" score -q -@ 1 --ref "$WORK/demo20.fa" "$WORK/demo.cram" -o "$WORK/demo.sam"
samtools view "$STRELKA" > "$WORK/demo_in.sam"
samtools view -T "$WORK/demo20.fa" "$WORK/demo.cram" > "$WORK/demo_cram.sam"
# CRAM decoding adds MD and NM where the input had none (samtools does the same).
n=$(same_records "$WORK/demo_in.sam" "$WORK/demo_cram.sam" MD NM 2>"$WORK/err") && [ "$n" -eq 829 ] \
  && same_records "$WORK/demo_in.sam" "$WORK/demo.sam" MD NM >/dev/null && cmp -s <(tag "$WORK/demo_cram.sam" gl) <(tag "$WORK/demo.sam" gl) \
  && pass "CRAM round trip: 829 reads kept, tags rescored identically" || fail "CRAM: $(tail -c 300 "$WORK/err")"
finish
