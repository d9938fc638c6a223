#!/usr/bin/env bash
# germ finetune / eval / predict on a small synthetic GUE task with a learnable signal
# (GC-rich vs AT-rich sequences), for every method; errors on bad data.
. "$(dirname "$0")/lib.bash"
FA="$GERM_SOURCE_DIR/test_data/small.fa"
TASK="$WORK/task"
make_gc_task "$TASK" 7 64 labels
"$GERM" pretrain -q --objective mlm --size tiny --vocab 64 --steps 5 --batch-size 8 --seq-len 64 \
  -o "$WORK/enc.safetensors" "$FA" 2>"$WORK/err" || fail "tiny encoder: $(head -c 300 "$WORK/err")"

# The encoder is barely trained (5 steps), so adapters need every linear layer, a high rate and 12
# epochs to learn (6 were enough for one random encoder and not for the next).
ADAPTER="--targets all-linear --lr 3e-3"
for method in full lora qlora loftq; do
  options=$ADAPTER; [ $method = full ] && options="--lr 1e-3"
  expect_exit 0 "finetune --method $method" -- "$GERM" finetune -q -@ 2 --method $method --base "$WORK/enc.safetensors" \
    --data "$TASK" --epochs 12 --batch-size 16 $options --warmup 5 -o "$WORK/$method.safetensors"
  expect_exit 0 "eval $method" -- "$GERM" eval -m "$WORK/$method.safetensors" --data "$TASK" -O json
  python3 - "$WORK/out" "$method" <<'PY' && pass "$method: test MCC > 0.3 and a full confusion matrix" || fail "$method: $(cat "$WORK/out")"
import json, sys
m = json.load(open(sys.argv[1]))
assert sum(map(sum, m["confusion"])) == 64, m
assert m["mcc"] > 0.3, m["mcc"]
PY
  head -1 "$WORK/$method.safetensors.log.tsv" | grep -q "dev_mcc" && pass "$method: training log" || fail "$method: no log"
done

# Adapter form and --merge give the same predictions.
expect_exit 0 "lora --merge" -- "$GERM" finetune -q -@ 2 --method lora --merge --base "$WORK/enc.safetensors" \
  --data "$TASK" --epochs 12 --batch-size 16 $ADAPTER --warmup 5 -o "$WORK/merged.safetensors"
"$GERM" predict -m "$WORK/lora.safetensors" "$TASK/test.csv" > "$WORK/adapter.tsv" 2>"$WORK/err"
"$GERM" predict -m "$WORK/merged.safetensors" "$TASK/test.csv" > "$WORK/merged.tsv" 2>>"$WORK/err"
python3 - "$WORK/adapter.tsv" "$WORK/merged.tsv" <<'PY' && pass "merged = adapter form (1e-5)" || fail "merged differs: $(head -3 "$WORK/merged.tsv")"
import sys
a = [l.split("\t") for l in open(sys.argv[1]) if not l.startswith("#")]
b = [l.split("\t") for l in open(sys.argv[2]) if not l.startswith("#")]
assert len(a) == len(b) == 64
assert all(abs(float(x) - float(y)) <= 1e-5 for ra, rb in zip(a, b) for x, y in zip(ra[2:], rb[2:]))
PY
# Outlier statistics of a classifier in adapter form: measured with the adapters folded in, so
# they equal those of the --merge file (and differ from the untouched encoder's).
for m in lora merged qlora; do
  "$GERM" stats -q -m "$WORK/$m.safetensors" --data "$TASK/test.csv" -O tsv > "$WORK/$m.stats.tsv" 2>"$WORK/err" \
    || fail "stats -m $m classifier: $(head -c 300 "$WORK/err")"
done
python3 - "$WORK/lora.stats.tsv" "$WORK/merged.stats.tsv" "$WORK/qlora.stats.tsv" <<'PY' \
  && pass "stats on LoRA/QLoRA classifiers: adapter form = merged (1e-3 relative)" || fail "stats differ: $(cat "$WORK/lora.stats.tsv" "$WORK/merged.stats.tsv")"
import sys
rows = [[l.split("\t") for l in open(f) if not l.startswith("#")] for f in sys.argv[1:]]
lora, merged, qlora = rows
assert len(lora) == len(merged) == len(qlora) >= 2
for a, b in zip(lora, merged):
    for x, y in zip(a[3:9], b[3:9]):
        assert abs(float(x) - float(y)) <= 1e-3 * max(1.0, abs(float(y))), (x, y)
assert all(float(r[3]) > 0 for r in qlora)
PY
head -1 "$WORK/merged.tsv" | grep -q "p_at_rich	p_gc_rich" && pass "class names from labels.tsv" || fail "header: $(head -1 "$WORK/merged.tsv")"

# predict on FASTA: one row per record.
expect_exit 0 "predict FASTA" -- "$GERM" predict -m "$WORK/full.safetensors" "$FA"
[ "$(grep -vc '^#' "$WORK/out")" -eq 3 ] && pass "3 records, 3 predictions" || fail "predict rows: $(cat "$WORK/out")"

# germ score with a classifier: sliding windows (default length = the training sequences'), the
# probability of one class per window, records tiling each contig without overlap (windows with
# more than 10% N, like the gap in chr2, have none).
expect_exit 0 "score with a classifier" -- "$GERM" score -q -m "$WORK/full.safetensors" --class gc_rich "$FA"
cp "$WORK/out" "$WORK/class.bg"
awk -F'\t' 'NF != 4 || $3 <= $2 || $4 < 0 || $4 > 1 { bad = 1 } $1 == c && $2 < e { bad = 1 } $1 != c && $2 != 0 { bad = 1 }
  { c = $1; e = $3 } END { exit bad }' "$WORK/class.bg" && pass "probabilities in [0,1], records sorted, not overlapping, from each contig start" \
  || fail "classifier track: $(head -3 "$WORK/class.bg")"
[ "$(cut -f1 "$WORK/class.bg" | uniq | tr '\n' ' ')" = "chr1 chr2 HLA-A*01:01 " ] && pass "contigs in input order" || fail "contig order"
expect_exit 0 "score with a classifier, --window 60 --stride 20 --class 0" -- "$GERM" score -q -m "$WORK/full.safetensors" \
  --window 60 --stride 20 --class 0 -r chr2 "$FA"
awk -F'\t' 'NR > 1 && NR < 5 && $3 - $2 != 20 { bad = 1 } END { exit bad || NR < 10 }' "$WORK/out" \
  && pass "stride-sized records" || fail "stride records: $(head -3 "$WORK/out")"
expect_exit 1 "unknown class" -- "$GERM" score -q -m "$WORK/full.safetensors" --class nope "$FA"
expect_one_line_error "class: 'nope' is not a class of the model \(0 = at_rich, 1 = gc_rich\)"

# A run that learns nothing (lr 1e-9): one warning line naming the cause and the option, the
# classifier still written; with --fail-on-chance exit 1, one line, and nothing written.
CHANCE=(finetune -q -@ 2 --base "$WORK/enc.safetensors" --data "$TASK" --epochs 2 --batch-size 16 --lr 1e-9)
expect_exit 0 "finetune at lr 1e-9" -- "$GERM" "${CHANCE[@]}" -o "$WORK/chance.safetensors"
expect_one_line_error "warning: nothing learned yet after the first epoch: training loss .* dev MCC .*too low.*--lr auto"
[ -s "$WORK/chance.safetensors" ] && pass "a warning only: classifier written" || fail "no classifier at lr 1e-9"
expect_exit 1 "--fail-on-chance at lr 1e-9" -- "$GERM" "${CHANCE[@]}" --fail-on-chance -o "$WORK/failed.safetensors"
expect_one_line_error "^germ finetune: --fail-on-chance: nothing learned in 16 steps: .*too low"
[ -z "$(ls "$WORK" | grep failed)" ] && pass "--fail-on-chance: nothing written" || fail "left: $(ls "$WORK" | grep failed)"

# --lr auto: the range test's bounds and choice on stderr, the rate in the provenance.
expect_exit 0 "finetune --lr auto" -- "$GERM" finetune -@ 2 --base "$WORK/enc.safetensors" --data "$TASK" \
  --epochs 2 --batch-size 16 --lr auto -o "$WORK/auto.safetensors"
grep -qE "lr [0-9.e+-]+ \(range test, [0-9]+ of at most 100 steps at rates 1e-05 to 1e-01: " "$WORK/err" \
  && pass "--lr auto: range test stated" || fail "--lr auto: $(grep 'lr ' "$WORK/err")"
python3 - "$WORK/auto.safetensors" <<'PY' && pass "--lr auto: chosen rate in the provenance" || fail "provenance lacks the rate"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
header = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])
fields = json.loads(header["__metadata__"]["germ.provenance"])
assert "range test" in fields["lr_source"] and 1e-6 <= float(fields["lr"]) <= 1, fields
PY
expect_exit 1 "bad --lr" -- "$GERM" finetune --lr fast --base "$WORK/enc.safetensors" --data "$TASK" -o "$WORK/x.safetensors"
expect_one_line_error "lr: 'fast' is neither a positive number nor auto"

# Errors: one line naming the file (and line), no model written.
cp -r "$TASK" "$WORK/bad"; printf 'ACGTZ,1\n' >> "$WORK/bad/train.csv"
expect_exit 1 "bad training row" -- "$GERM" finetune --base "$WORK/enc.safetensors" --data "$WORK/bad" -o "$WORK/x.safetensors"
expect_one_line_error "train.csv:130: sequence has 'Z'"
[ ! -e "$WORK/x.safetensors" ] && pass "no model written" || fail "a model was written"
printf 'seq1,seq2,label\nACGT,ACGT,0\n' > "$WORK/pair.csv"
expect_exit 1 "pair task" -- "$GERM" eval -m "$WORK/full.safetensors" --data "$WORK/pair.csv"
expect_one_line_error "pair classification"
expect_exit 1 "unknown method" -- "$GERM" finetune --method adapters --base "$WORK/enc.safetensors" --data "$TASK" -o "$WORK/x.safetensors"
expect_one_line_error "unknown method 'adapters'"
expect_exit 1 "unknown LoRA target" -- "$GERM" finetune --method lora --targets nosuch --base "$WORK/enc.safetensors" --data "$TASK" -o "$WORK/x.safetensors"
expect_one_line_error "nosuch"
expect_exit 1 "eval on an encoder" -- "$GERM" eval -m "$WORK/enc.safetensors" --data "$TASK"
expect_one_line_error "not a classifier"
finish
