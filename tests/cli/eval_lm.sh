#!/usr/bin/env bash
# germ eval with a causal LM (the shipped default model): bits/base equal to germ score's
# per-base values, --no-memory, Markov baselines on the same bases, formats and errors.
. "$(dirname "$0")/lib.bash"
DATA="$GERM_SOURCE_DIR/test_data"
FA="$DATA/small.fa"
MODEL="$GERM_SOURCE_DIR/models/germ-focus-default.safetensors"
# Mean per-base log-likelihood of a bedGraph (runs of equal values count by their length).
mean_ll() { awk -F'\t' '!/^track/ { n += $3 - $2; s += ($3 - $2) * $4 } END { printf "%d %.9f\n", n, s / n }' "$1"; }
# Column of the TSV's row whose first two fields are SCOPE and FILE: tsv_field FILE.tsv SCOPE COLUMN
tsv_field() { awk -F'\t' -v scope="$2" -v col="$3" '$1 == scope { print $col; exit }' "$1"; }

expect_exit 0 "eval --help" -- "$GERM" eval --help
grep -q "bits/base" "$WORK/out" && grep -q -- "--baseline-train" "$WORK/out" && pass "help covers causal LMs" \
  || fail "help does not mention bits/base and --baseline-train"

# bits/base = -mean(germ score's per-base ln P) / ln 2 over the same bases.
expect_exit 0 "score small.fa" -- "$GERM" score -q -m "$MODEL" "$FA"
cp "$WORK/out" "$WORK/ll.bg"
read -r score_bases score_mean < <(mean_ll "$WORK/ll.bg")
expect_exit 0 "eval small.fa -O tsv" -- "$GERM" eval -q -m "$MODEL" -O tsv "$FA"
cp "$WORK/out" "$WORK/eval.tsv"
bases=$(tsv_field "$WORK/eval.tsv" total 4)
bits=$(tsv_field "$WORK/eval.tsv" total 5)
nats=$(tsv_field "$WORK/eval.tsv" total 6)
[ "$bases" = "$score_bases" ] && pass "eval scores the $bases bases germ score values" \
  || fail "eval scored $bases bases, germ score $score_bases"
python3 -c "
import math, sys
bits, nats, mean = float('$bits'), float('$nats'), float('$score_mean')
want = -mean / math.log(2)
sys.exit(0 if abs(bits - want) <= 1e-4 and abs(nats + mean) <= 1e-4 else 1)" \
  && pass "bits/base $bits = -mean(score ll)/ln 2 (mean ll $score_mean) within 1e-4" \
  || fail "bits/base $bits, nats/base $nats vs germ score mean ll $score_mean"
[ "$(awk -F'\t' '$1 == "contig"' "$WORK/eval.tsv" | cut -f3 | tr '\n' ' ')" = "chr1 chr2 HLA-A*01:01 " ] \
  && pass "one row per contig, in input order" || fail "contig rows: $(cut -f1-3 "$WORK/eval.tsv" | tr '\n' ' ')"

# A region is scored on the bases germ score values in it; a gzip input gives the same figures.
"$GERM" score -q -m "$MODEL" -r chr1:1001-2000 "$FA" > "$WORK/region.bg"
read -r region_bases region_mean < <(mean_ll "$WORK/region.bg")
expect_exit 0 "eval -r on bgzip input" -- "$GERM" eval -q -m "$MODEL" -O tsv -r chr1:1001-2000 "$DATA/small.fa.gz"
python3 -c "
import math, sys
sys.exit(0 if abs(float('$(tsv_field "$WORK/out" total 5)') + float('$region_mean') / math.log(2)) <= 1e-4 else 1)" \
  && [ "$(tsv_field "$WORK/out" total 4)" = "$region_bases" ] \
  && pass "region chr1:1001-2000: $region_bases bases, bits/base from germ score's values" \
  || fail "region figures differ from germ score -r: $(cat "$WORK/out")"

# Without the FOCUS memory: the same bases, other values.
expect_exit 0 "eval --no-memory" -- "$GERM" eval -q -m "$MODEL" -O tsv --no-memory "$FA"
[ "$(tsv_field "$WORK/out" total 4)" = "$bases" ] && pass "--no-memory scores the same bases" \
  || fail "--no-memory scored $(tsv_field "$WORK/out" total 4) bases"

# Markov baselines side by side, on the same bases; text and JSON carry them too.
expect_exit 0 "eval with markov:2,4" -- "$GERM" eval -q -m "$MODEL" -O tsv --baseline markov:4,2 \
  --baseline-train "$DATA/small.fa.gz" -- "$FA"
head -1 "$WORK/out" | grep -q $'\tmarkov2_bits_per_base\tmarkov4_bits_per_base$' && pass "baseline columns" \
  || fail "header: $(head -1 "$WORK/out")"
awk -F'\t' '!/^#/ && ($7 < 0.5 || $7 > 2.5 || $8 < 0.5 || $8 > 2.5) { bad = 1 } END { exit bad }' "$WORK/out" \
  && [ "$(tsv_field "$WORK/out" total 5)" = "$bits" ] \
  && pass "baseline bits/base in range; the model's figures unchanged" || fail "baseline rows: $(cat "$WORK/out")"
expect_exit 0 "eval -O json" -- "$GERM" eval -q -m "$MODEL" -O json --baseline markov:3 --baseline-train "$FA" -- "$FA"
python3 -c "
import json, sys
r = json.load(open('$WORK/out'))
t = r['total']
ok = t['bases'] == $bases and abs(t['bits_per_base'] - $bits) < 1e-6 and 0 < t['baselines']['markov:3']['bits_per_base'] < 2.5
ok = ok and r['baseline']['smoothing'] == 'add-0.5' and len(r['contigs']) == 3 and len(r['files']) == 1
sys.exit(0 if ok else 1)" && pass "JSON: total, baselines, contigs, files" || fail "JSON report: $(head -c 600 "$WORK/out")"
expect_exit 0 "eval text" -- "$GERM" eval -q -m "$MODEL" --baseline markov:3 --baseline-train "$FA" -- "$FA"
grep -q '^total' "$WORK/out" && grep -q 'markov:3' "$WORK/out" && pass "text table with a total and markov:3" \
  || fail "text report: $(cat "$WORK/out")"

# Errors: one line naming the file or option, non-zero exit, no output left behind.
expect_exit 1 "missing input" -- "$GERM" eval -m "$MODEL" -o "$WORK/x.tsv" "$WORK/nope.fa"
expect_one_line_error "^germ eval: .*nope.fa"
[ ! -e "$WORK/x.tsv" ] && pass "no output after an error" || fail "partial output left behind"
expect_exit 1 "order over 12" -- "$GERM" eval -m "$MODEL" --baseline markov:13 --baseline-train "$FA" -- "$FA"
expect_one_line_error "^germ eval: --baseline: .*13"
expect_exit 1 "baseline without training data" -- "$GERM" eval -m "$MODEL" --baseline markov:3 "$FA"
expect_one_line_error "^germ eval: --baseline: "
expect_exit 1 "region in no input" -- "$GERM" eval -m "$MODEL" -r chrX:1-100 "$FA"
expect_one_line_error "^germ eval: .*small.fa: has none of the contigs"
expect_exit 1 "bad training file" -- "$GERM" eval -m "$MODEL" --baseline markov:3 --baseline-train "$DATA/bad_char.fa" -- "$FA"
expect_one_line_error "^germ eval: .*bad_char.fa"
expect_exit 1 "classifier options on a causal LM" -- "$GERM" eval -m "$MODEL" --data "$FA"
expect_one_line_error "^germ eval: .*causal LM"
expect_exit 1 "unknown output type" -- "$GERM" eval -m "$MODEL" -O csv "$FA"
expect_one_line_error "^germ eval: -O/--output-type"
finish
