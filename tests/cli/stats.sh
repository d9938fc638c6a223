#!/usr/bin/env bash
# germ stats: sequence composition, model summary, outlier statistics with --vs and --plot, fidelity, errors.
. "$(dirname "$0")/lib.bash"
FA="$GERM_SOURCE_DIR/test_data/small.fa"
MODEL="$GERM_SOURCE_DIR/models/germ-focus-default.safetensors"
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }

# --- sequences: per-contig rows agree with counts made by awk ---
expect_exit 0 "stats small.fa -O tsv" -- "$GERM" stats -O tsv "$FA"
awk '/^>/ { name = substr($1, 2); order[++n] = name; next }
     { len[name] += length($0); s = toupper($0); gc[name] += gsub(/[GC]/, "", s); at[name] += gsub(/[AT]/, "", s);
       m = $0; low[name] += gsub(/[acgtn]/, "", m) }
     END { for (i = 1; i <= n; i++) { c = order[i]; printf "%s\t%d\t%.4f\t%.4f\n", c, len[c], gc[c] / (gc[c] + at[c]), low[c] / len[c] } }' \
  "$FA" > "$WORK/want.tsv"
awk -F'\t' '!/^#/ { print $1 "\t" $2 "\t" $10 "\t" $12 }' "$WORK/out" > "$WORK/got.tsv"
cmp -s "$WORK/want.tsv" "$WORK/got.tsv" && pass "length, GC and soft-masked fraction per contig match awk" \
  || fail "composition differs: $(diff "$WORK/want.tsv" "$WORK/got.tsv" | head -5)"
grep -q "^#total	6423	" "$WORK/out" && pass "total row" || fail "no total row of 6423 bases"
expect_exit 0 "stats -O json" -- "$GERM" stats -O json "$FA"
json_ok "$WORK/out" && pass "valid JSON" || fail "invalid JSON"
expect_exit 0 "stats from stdin" -- "$GERM" stats - < "$FA"
[ "$(grep -c '' "$WORK/out")" -eq 5 ] && pass "text: header, 3 contigs, total" || fail "text rows: $(cat "$WORK/out")"
expect_exit 0 "stats -r" -- "$GERM" stats -O tsv -r chr1:701-1100 "$FA"
grep -q "^chr1:701-1100	400	" "$WORK/out" && pass "region row named chr:beg-end, 400 bases" || fail "region row: $(cat "$WORK/out")"

# --- model summary ---
expect_exit 0 "stats -m" -- "$GERM" stats -m "$MODEL"
grep -q "^kind *causal-lm" "$WORK/out" && grep -q "^parameters *[0-9]" "$WORK/out" && grep -q "^focus" "$WORK/out" \
  && pass "summary: kind, parameters, focus adapter" || fail "summary: $(head -c 400 "$WORK/out")"
expect_exit 0 "stats -m -O json" -- "$GERM" stats -m "$MODEL" -O json
json_ok "$WORK/out" && pass "summary JSON" || fail "summary JSON invalid"

# --- outliers: the default model (softmax1) vs a softmax model of the same shape ---
"$GERM" pretrain -q --objective clm --config <(python3 -c 'import json,sys; print(json.dumps(dict(json.load(sys.stdin)["config"], attention="softmax")))' < "$WORK/out") \
  --steps 2 --batch-size 2 --seq-len 64 -o "$WORK/softmax.safetensors" "$FA" 2>"$WORK/err" \
  || fail "could not train the softmax model: $(head -c 300 "$WORK/err")"
expect_exit 0 "outliers with --vs and --plot" -- "$GERM" stats -m "$MODEL" --vs "$WORK/softmax.safetensors" \
  --data "$FA" -n 6 --length 300 --plot "$WORK/p.svg" -O json
python3 - "$WORK/out" <<'PY' && pass "JSON: 2 models x 4 layers, null mass only for softmax1, % change present" || fail "outlier JSON"
import json, sys
j = json.load(open(sys.argv[1]))
m, b = j["models"]
assert m["normaliser"] == "softmax1" and b["normaliser"] == "softmax"
assert len(m["layers"]) == len(b["layers"]) == 4 and m["sequences"] == 6 and m["tokens"] == 6 * 300
assert all(0 < x < 1 for l in m["layers"] for x in l["null_mass_per_head"])
assert all("null_mass_per_head" not in l for l in b["layers"])
assert all(l["ffn_output"]["kurtosis"] >= 1 and l["layer_output"]["max_abs"] >= l["layer_output"]["inf_norm"] for l in m["layers"])
assert isinstance(j["comparison"]["average_kurtosis_change_percent"], float)
assert sum(m["histogram"]["counts"]) == 6 * 300 * 128 * 2 * 4
PY
python3 -c 'import sys, xml.dom.minidom as d; assert d.parse(sys.argv[1]).documentElement.tagName == "svg"' "$WORK/p.svg" \
  && pass "plot is well-formed SVG" || fail "plot is not valid SVG"
expect_exit 0 "outliers as text" -- "$GERM" stats -m "$MODEL" --data "$FA" -n 4 --length 200
grep -q "^average kurtosis" "$WORK/out" && pass "text summary line" || fail "no summary line"

# --- fidelity (as germ score --fidelity) ---
expect_exit 0 "stats --fidelity" -- "$GERM" stats --fidelity -m "$MODEL" --fidelity-sequences 1 --fidelity-windows 2 "$FA"
grep -q "^mean_abs_dp	0\.0" "$WORK/out" && pass "fidelity report" || fail "fidelity: $(cat "$WORK/out")"

# --- errors: one line, non-zero exit, nothing left behind ---
expect_exit 1 "missing FASTA" -- "$GERM" stats "$WORK/absent.fa"
expect_one_line_error "absent.fa"
expect_exit 1 "unknown -O" -- "$GERM" stats -O xml "$FA"
expect_one_line_error "O/--output-type: .xml. is not one of"
expect_exit 1 "--data without a model" -- "$GERM" stats --data "$FA"
expect_one_line_error "needs -m/--model"
head -c 100 "$MODEL" > "$WORK/broken.safetensors"
expect_exit 1 "truncated model" -- "$GERM" stats -m "$WORK/broken.safetensors"
expect_one_line_error "broken.safetensors: model is corrupted"
expect_exit 1 "plot into a missing folder" -- "$GERM" stats -m "$MODEL" --data "$FA" -n 2 --length 100 \
  --plot "$WORK/no/such/dir/p.svg" -o "$WORK/report.txt"
expect_one_line_error "p.svg"
[ ! -e "$WORK/report.txt" ] && pass "no report left behind" || fail "a report was written despite the error"
printf 'sequence,label\nACGTQ,0\n' > "$WORK/bad.csv"
expect_exit 1 "bad CSV row" -- "$GERM" stats -m "$MODEL" --data "$WORK/bad.csv"
expect_one_line_error "bad.csv:2: sequence has 'Q'"
finish
