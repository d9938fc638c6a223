#!/usr/bin/env bash
# The bad-input table of docs/reliability.md: damaged, truncated and hostile inputs, options and
# output paths. Every failure is exactly one line on stderr naming the file or option and the
# problem, a non-zero exit, and no output left behind (or a pre-existing output byte-identical).
# The inputs are generated at test time by tests/bad_input/make_cases.py.
. "$(dirname "$0")/lib.bash"
CASES="$WORK/cases"
/usr/bin/python3 "$GERM_SOURCE_DIR/tests/bad_input/make_cases.py" "$GERM_SOURCE_DIR" "$CASES" || { fail "make_cases.py"; finish; }
FA="$GERM_SOURCE_DIR/test_data/small.fa"
OUT_DIR="$WORK/outputs"
mkdir -p "$OUT_DIR"
OUT="$OUT_DIR/result"
cases=0

# no_output_left: neither the output nor a temporary of it exists.
no_output_left() {
  [ ! -e "$OUT" ] && pass "$1: no output left" || fail "$1: output left behind"
  [ -z "$(ls -A "$OUT_DIR")" ] || fail "$1: files left in the output folder: $(ls -A "$OUT_DIR")"
  rm -rf "${OUT_DIR:?}"/* "${OUT_DIR:?}"/.[!.]*
}

# bad NAME PATTERN -- command (with -o "$OUT"): exit 1, one line matching PATTERN, no output.
bad() {
  local name=$1 pattern=$2; shift 3
  cases=$((cases + 1))
  expect_exit 1 "$name" -- "$@"
  expect_one_line_error "$pattern"
  no_output_left "$name"
}

# bad_keeps NAME PATTERN -- command: as bad, but $OUT exists beforehand and must stay unchanged.
bad_keeps() {
  local name=$1 pattern=$2; shift 3
  cases=$((cases + 1))
  printf 'an earlier result\n' > "$OUT"
  expect_exit 1 "$name" -- "$@"
  expect_one_line_error "$pattern"
  [ "$(cat "$OUT")" = "an earlier result" ] && pass "$name: earlier output untouched" || fail "$name: earlier output changed"
  rm -f "$OUT"
  no_output_left "$name"
}

# ---- FASTA / FASTQ (germ stats reads like every other command; germ score for a few) ----
C="$CASES"
bad "empty file" "^germ stats: .*empty.fa: empty file" -- "$GERM" stats -o "$OUT" "$C/empty.fa"
bad "'>' only" "^germ stats: .*gt_only.fa: line 1: record 1 has an empty name" -- "$GERM" stats -o "$OUT" "$C/gt_only.fa"
bad "non-ACGTN characters" "^germ stats: .*non_acgtn.fa: line 3: invalid sequence character 'J'" -- "$GERM" stats -o "$OUT" "$C/non_acgtn.fa"
bad "NUL byte in a sequence" "^germ stats: .*nul_in_sequence.fa: .*byte 0x00" -- "$GERM" stats -o "$OUT" "$C/nul_in_sequence.fa"
bad "binary garbage" "^germ stats: .*garbage.bin: not a FASTA or FASTQ file" -- "$GERM" stats -o "$OUT" "$C/garbage.bin"
bad "gzip FASTA truncated mid-record" "^germ stats: .*truncated_mid_record.fa.gz: truncated or corrupt gzip" -- \
  "$GERM" stats -o "$OUT" "$C/truncated_mid_record.fa.gz"
bad "gzip truncated in its header" "^germ stats: .*gzip_header_only.fa.gz: " -- "$GERM" stats -o "$OUT" "$C/gzip_header_only.fa.gz"
bad "gzip with a bad CRC" "^germ stats: .*gzip_bad_crc.fa.gz: truncated or corrupt gzip" -- "$GERM" stats -o "$OUT" "$C/gzip_bad_crc.fa.gz"
bad "bgzip without its EOF marker" "^germ stats: .*bgzf_no_eof.fa.gz: .*end-of-file marker" -- "$GERM" stats -o "$OUT" "$C/bgzf_no_eof.fa.gz"
bad_keeps "bgzip with a garbage .gzi" "^germ stats: .*bad_gzi.fa.gz.gzi: bgzip index is corrupted" -- "$GERM" stats -r chr2:1-50 -o "$OUT" "$C/bad_gzi.fa.gz"
bad_keeps "bgzip with .gzi offsets past the end" "^germ stats: .*bad_gzi_offsets.fa.gz.gzi: bgzip index is corrupted" -- \
  "$GERM" stats -r chr2:1-50 -o "$OUT" "$C/bad_gzi_offsets.fa.gz"
bad "score: gzip truncated mid-record" "^germ score: .*truncated_mid_record.fa.gz: truncated or corrupt gzip" -- \
  "$GERM" score -q -o "$OUT" "$C/truncated_mid_record.fa.gz"
bad "score: binary garbage" "^germ score: .*garbage.bin: not a FASTA" -- "$GERM" score -q -o "$OUT" "$C/garbage.bin"

# CRLF is not an error: the same results as LF.
cases=$((cases + 1))
"$GERM" stats -O tsv "$C/lf.fa" > "$WORK/lf.tsv" 2>"$WORK/err" && "$GERM" stats -O tsv "$C/crlf.fa" > "$WORK/crlf.tsv" 2>>"$WORK/err" \
  && sed 's/crlf.fa/lf.fa/' "$WORK/crlf.tsv" | cmp -s - "$WORK/lf.tsv" && [ ! -s "$WORK/err" ] \
  && pass "CRLF: germ stats output = LF output" || fail "CRLF stats differ: $(diff "$WORK/lf.tsv" "$WORK/crlf.tsv" | head -3) $(head -c 300 "$WORK/err")"
"$GERM" score -q -r chr1:101-400 "$C/lf.fa" > "$WORK/lf.bg" 2>"$WORK/err" && "$GERM" score -q -r chr1:101-400 "$C/crlf.fa" > "$WORK/crlf.bg" 2>>"$WORK/err" \
  && [ -s "$WORK/lf.bg" ] && cmp -s "$WORK/lf.bg" "$WORK/crlf.bg" \
  && pass "CRLF: germ score -r output = LF output" || fail "CRLF score differs: $(head -c 300 "$WORK/err")"

# ---- task CSVs (germ finetune reads train.csv and dev.csv before it loads the base model;
# germ eval checks labels against the classifier's classes) ----
"$GERM" pretrain -q --objective mlm --size tiny --vocab 64 --steps 1 --batch-size 2 --seq-len 32 \
  -o "$WORK/enc.safetensors" "$FA" 2>"$WORK/err" || fail "tiny encoder: $(head -c 300 "$WORK/err")"
"$GERM" finetune -q --base "$WORK/enc.safetensors" --data "$C/csv_good" --steps 1 --batch-size 2 \
  -o "$WORK/clf.safetensors" 2>"$WORK/err" || fail "tiny classifier: $(head -c 300 "$WORK/err")"
finetune_on() { "$GERM" finetune -q --base "$WORK/enc.safetensors" --data "$C/$1" --steps 1 -o "$OUT"; }
bad "CSV: missing label" "^germ finetune: .*csv_missing_label/train.csv:3: missing label" -- finetune_on csv_missing_label
bad "CSV: non-DNA sequence" "^germ finetune: .*csv_non_dna/train.csv:3: sequence has '<', not DNA" -- finetune_on csv_non_dna
bad "CSV: header only" "^germ finetune: .*csv_header_only/train.csv: no sequences" -- finetune_on csv_header_only
bad "CSV: label not an integer" "^germ finetune: .*train.csv:2: label 'zero' is not an integer" -- finetune_on csv_label_not_integer
bad "CSV: wrong field count" "^germ finetune: .*train.csv:2: expected 2 comma-separated fields" -- finetune_on csv_wrong_field_count
bad "finetune: unknown --pooling" "^germ finetune: --pooling: unknown value 'max' \(use cls or mean\)" -- \
  "$GERM" finetune -q --base "$WORK/enc.safetensors" --data "$C/csv_good" --steps 1 --pooling max -o "$OUT"
bad_keeps "CSV: label out of range" "^germ eval: .*csv_label_out_of_range/train.csv:3: label 7 is out of range \(labels are 0..1\)" -- \
  "$GERM" eval -m "$WORK/clf.safetensors" --data "$C/csv_label_out_of_range/train.csv" -o "$OUT"

# ---- model files (germ score loads them as a user would) ----
declare -A model_problem=([overlapping_tensors]="overlap" [header_2_63]="exceeds the limit" [json_bomb]="nests deeper"
  [shape_mismatch]="the config expects" [unknown_dtype]="unsupported dtype" [offset_past_end]="beyond the data region"
  [header_past_end]="runs past the end of the file" [not_germ]="not a germ model")
for model in empty truncated header_past_end header_2_63 offset_past_end overlapping_tensors shape_mismatch \
             unknown_dtype json_bomb not_a_model not_germ; do
  bad_keeps "model: $model" "^germ score: .*model_$model.safetensors: model is corrupted: .*${model_problem[$model]:-}" -- \
    "$GERM" score -q -m "$C/model_$model.safetensors" -r chr1:1-50 -o "$OUT" "$FA"
done

# ---- VCF / BCF (germ score --vcf against small.fa; the default model, short windows) ----
/usr/bin/python3 - "$FA" "$WORK" <<'PY'
import sys
fa, work = sys.argv[1:3]
seq, name = {}, None
for line in open(fa):
    if line.startswith(">"):
        name = line[1:].split()[0]
        seq[name] = []
    else:
        seq[name].append(line.strip().upper())
seq = {k: "".join(v) for k, v in seq.items()}
other = lambda b: "C" if b == "A" else "A"
head = '##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##contig=<ID=chr2>\n##INFO=<ID=AF,Number=A,Type=Float,Description="x">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'
def record(contig, pos, ref=None):
    base = seq[contig][pos - 1]
    return f"{contig}\t{pos}\t.\t{ref or base}\t{other(base)}\t.\t.\tAF=0.5\n"
def write(path, records):
    open(f"{work}/{path}", "w").write(head + "".join(records))
write("v_ok.vcf", [record("chr1", 100), record("chr2", 100)])
write("v_unsorted.vcf", [record("chr1", 300), record("chr1", 100)])
write("v_refmismatch.vcf", [record("chr1", 100, ref="GATTACA")])
write("v_nocontig.vcf", [record("chr1", 100), "chrUn\t5\t.\tA\tC\t.\t.\tAF=0.5\n"])
full = head + record("chr1", 100) + record("chr1", 200)
open(f"{work}/v_cut_midline.vcf", "w").write(full[:-9])                 # no line end
open(f"{work}/v_cut_columns.vcf", "w").write(full[:full.rindex("\t.\t.\t")] + "\n")  # 5 columns
open(f"{work}/v_nul_ref.vcf", "wb").write(head.encode() + b"chr1\t1\t.\0\0\0\0\0\0\0\0\0\0\tA\t.\t.\t.\n")  # found by fuzzing
PY
V="$WORK"
bad "VCF cut mid-line" "v_cut_midline.vcf: truncated: the last line has no line end" -- \
  "$GERM" score -q --vcf "$V/v_cut_midline.vcf" --ref "$FA" --window 200 -o "$OUT"
bad "VCF record with 5 of 8 columns" "v_cut_columns.vcf: damaged or truncated record after record 1" -- \
  "$GERM" score -q --vcf "$V/v_cut_columns.vcf" --ref "$FA" --window 200 -o "$OUT"
bad "VCF record with NUL bytes for REF (was: segfault)" "v_nul_ref.vcf: damaged or truncated record after record 0" -- \
  "$GERM" score -q --vcf "$V/v_nul_ref.vcf" --ref "$FA" --window 200 -o "$OUT"
bgzip -c "$V/v_ok.vcf" > "$V/v_ok.vcf.gz"
head -c $(( $(stat -c %s "$V/v_ok.vcf.gz") - 28 )) "$V/v_ok.vcf.gz" > "$V/v_cut.vcf.gz"
bad "bgzip VCF without its EOF block" "v_cut.vcf.gz: truncated" -- \
  "$GERM" score -q --vcf "$V/v_cut.vcf.gz" --ref "$FA" --window 200 -o "$OUT"
bgzip -c "$V/v_unsorted.vcf" > "$V/v_unsorted.vcf.gz"
bad "unsorted VCF with -r (no index can exist)" "v_unsorted.vcf.gz: -r/-R need an index" -- \
  "$GERM" score -q --vcf "$V/v_unsorted.vcf.gz" --ref "$FA" --window 200 -r chr1:1-500 -o "$OUT"
bad "unsorted VCF with -O z -W" "cannot build the index \(are the records sorted" -- \
  "$GERM" score -q --vcf "$V/v_unsorted.vcf" --ref "$FA" --window 200 -O z -W -o "$OUT"
[ ! -e "$OUT.tbi" ] && pass "no index left" || fail "index left behind"
# The site and window options: one line naming the option, nothing written; damaged input still
# fails the same way under --llr site (its own block reader).
bad "--llr with an unknown method" "score: --llr: unknown method 'sight'" -- \
  "$GERM" score -q --vcf "$V/v_ok.vcf" --ref "$FA" --llr sight -o "$OUT"
bad "--downstream below zero" "score: --downstream: must be 0 or more" -- \
  "$GERM" score -q --vcf "$V/v_ok.vcf" --ref "$FA" --window 200 --downstream -5 -o "$OUT"
bad "--llr site, VCF record with 5 of 8 columns" "v_cut_columns.vcf: damaged or truncated record after record 1" -- \
  "$GERM" score -q --vcf "$V/v_cut_columns.vcf" --ref "$FA" --llr site -o "$OUT"
# BCF whose records name contig #1 under a header that declares only contig #0.
bcftools view -O u -o "$V/v_ok.ubcf" "$V/v_ok.vcf"
/usr/bin/python3 - "$V" <<'PY'
import struct, sys
w = sys.argv[1]
raw = open(f"{w}/v_ok.ubcf", "rb").read()
l_text = struct.unpack("<I", raw[5:9])[0]
text = raw[9:9 + l_text].replace(b"##contig=<ID=chr2,IDX=1>\n", b"")
assert len(text) < l_text, "contig line not found"
open(f"{w}/v_mismatch.ubcf", "wb").write(raw[:5] + struct.pack("<I", len(text)) + text + raw[9 + l_text:])
PY
bgzip -c "$V/v_mismatch.ubcf" > "$V/v_mismatch.bcf"
bad "BCF records beyond its header's contigs" "v_mismatch.bcf: damaged or truncated record after record 1" -- \
  "$GERM" score -q --vcf "$V/v_mismatch.bcf" --ref "$FA" --window 200 -o "$OUT"
# Not errors: a REF mismatch and a contig missing from the reference are flagged, never dropped.
cases=$((cases + 1))
expect_exit 0 "VCF REF not matching the reference" -- "$GERM" score -q --vcf "$V/v_refmismatch.vcf" --ref "$FA" --window 200 -O tsv -o "$OUT"
grep -q "^chr1	100	GATTACA	.*	\.	REF_MISMATCH$" "$OUT" && pass "REF mismatch flagged, no score" || fail "REF mismatch: $(cat "$OUT")"
rm -f "$OUT"
cases=$((cases + 1))
expect_exit 0 "VCF contig missing from the reference" -- "$GERM" score --vcf "$V/v_nocontig.vcf" --ref "$FA" --window 200 -O tsv -o "$OUT"
grep -q "contig 'chrUn' is not in" "$WORK/err" && grep -q "^chrUn	5	A	C	\.	CONTIG_MISSING$" "$OUT" \
  && [ "$(grep -vc '^#' "$OUT")" -eq 2 ] && pass "missing contig reported and flagged, both records kept" \
  || fail "missing contig: $(cat "$OUT") $(cat "$WORK/err")"
rm -f "$OUT"

# ---- regions ----
bad_keeps "region chr1:0-10" "^germ stats: -r/--region chr1:0-10: positions are 1-based" -- "$GERM" stats -r chr1:0-10 -o "$OUT" "$FA"
bad_keeps "region chr1:10-5" "^germ stats: -r/--region chr1:10-5: end 5 is before begin 10" -- "$GERM" stats -r chr1:10-5 -o "$OUT" "$FA"
bad_keeps "region: unknown contig" "^germ stats: .*small.fa: no contig named 'chrZ'" -- "$GERM" stats -r chrZ:1-10 -o "$OUT" "$FA"
bad_keeps "region past the contig end" "^germ score: .*small.fa: .*chr1" -- "$GERM" score -q -r chr1:1-99999999 -o "$OUT" "$FA"

# ---- threads: negative is an error, 0 means all cores, more than the cores is clamped ----
bad "-@ -1" "^germ score: -@/--threads: must be 0 \(all cores\) or a positive number" -- "$GERM" score -q -@ -1 -r chr1:1-50 -o "$OUT" "$FA"
for threads in 0 10000; do
  cases=$((cases + 1))
  expect_exit 0 "-@ $threads works" -- "$GERM" score -q -@ "$threads" -r chr1:1-50 "$FA"
  [ -s "$WORK/out" ] && [ ! -s "$WORK/err" ] && pass "-@ $threads: output, no message" || fail "-@ $threads: $(head -c 300 "$WORK/err")"
done

# ---- output paths ----
mkdir "$WORK/a_folder"
cases=$((cases + 1))
expect_exit 1 "output to a directory" -- "$GERM" stats -o "$WORK/a_folder" "$FA"
expect_one_line_error "^germ stats: .*a_folder: is a directory"
[ -z "$(ls -A "$WORK/a_folder")" ] && [ -z "$(ls -A "$WORK" | grep germ-tmp)" ] && pass "nothing written beside or into it" || fail "files left"
bad "output folder missing" "^germ stats: .*no_such_folder/x.tsv: cannot create: No such file or directory" -- "$GERM" stats -o "$WORK/no_such_folder/x.tsv" "$FA"
if [ "$(id -u)" -ne 0 ]; then
  mkdir "$WORK/read_only" && chmod 555 "$WORK/read_only"
  bad "read-only folder" "^germ stats: .*read_only/x.tsv: cannot create: Permission denied" -- "$GERM" stats -o "$WORK/read_only/x.tsv" "$FA"
else
  echo "skip: read-only output (root ignores permissions)"
fi
if [ -w /dev/full ] && [ -c /dev/full ]; then
  cases=$((cases + 1))
  expect_exit 1 "output to a full disk (/dev/full)" -- "$GERM" stats -o /dev/full "$FA"
  expect_one_line_error "^germ stats: /dev/full: write failed: No space left on device"
  [ -c /dev/full ] && pass "/dev/full is still a device" || fail "/dev/full was replaced"
  expect_exit 1 "score -O z to /dev/full" -- "$GERM" score -q -O z -r chr1:1-50 -o /dev/full "$FA"
  expect_one_line_error "^germ score: /dev/full: "
fi

# ---- stdout closed early: quiet, like samtools (exit 0, or 141 as if killed by SIGPIPE) ----
cases=$((cases + 1))
"$GERM" score -q -r chr1:1-3000 "$FA" 2>"$WORK/err" | head -1 > "$WORK/first"
status=${PIPESTATUS[0]}
{ [ "$status" -eq 0 ] || [ "$status" -eq 141 ]; } && [ ! -s "$WORK/err" ] && [ -s "$WORK/first" ] \
  && pass "score | head -1: exit $status, nothing on stderr" || fail "score | head -1: exit $status, stderr: $(head -c 300 "$WORK/err")"

# ---- a 300 Mb single-line record streams in bounded memory (germ stats reads only) ----
cases=$((cases + 1))
bound_mib=256
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(b">one_line\n")
block = b"ACGTTGCA" * (1 << 17)  # 1 MiB
for _ in range(300): sys.stdout.buffer.write(block)
sys.stdout.buffer.write(b"\n")' | /usr/bin/time -f "%M" -o "$WORK/rss" "$GERM" stats -O tsv - > "$WORK/out" 2>"$WORK/err"
rss_kib=$(tail -1 "$WORK/rss")
grep -q "^one_line	314572800	" "$WORK/out" && pass "300 Mb record read whole (314572800 bases)" || fail "300 Mb: $(head -c 300 "$WORK/out") $(head -c 300 "$WORK/err")"
[ "$rss_kib" -lt $((bound_mib * 1024)) ] && pass "300 Mb record: peak RSS $((rss_kib / 1024)) MiB < $bound_mib MiB" \
  || fail "300 Mb record: peak RSS $((rss_kib / 1024)) MiB, bound $bound_mib MiB"

echo "bad-input cases: $cases"
[ "$cases" -ge 30 ] || fail "only $cases cases"
finish
