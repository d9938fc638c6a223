#!/usr/bin/env bash
# germ pretrain from the command line: errors, outputs, resume after SIGKILL and after --time-limit
# (the model and the FOCUS adapter).
. "$(dirname "$0")/lib.bash"
DATA="$GERM_SOURCE_DIR/test_data"

expect_exit 0 "pretrain --help" -- "$GERM" pretrain --help
grep -q -- "--resume" "$WORK/out" && grep -q "Examples:" "$WORK/out" && pass "help has --resume and examples" || fail "help incomplete"

expect_exit 1 "empty FASTA" -- "$GERM" pretrain --objective clm -o "$WORK/m.safetensors" "$DATA/empty.fa"
expect_one_line_error "^germ pretrain: .*empty.fa: "
[ ! -e "$WORK/m.safetensors" ] && pass "no model after an error" || fail "model file left behind"

expect_exit 1 "binary garbage" -- "$GERM" pretrain --objective clm -o "$WORK/m.safetensors" "$DATA/garbage.bin"
expect_one_line_error "^germ pretrain: .*garbage.bin: "

expect_exit 1 "missing output option" -- "$GERM" pretrain --objective clm "$DATA/small.fa"
expect_one_line_error "^germ pretrain: -o/--output"

expect_exit 1 "unknown objective" -- "$GERM" pretrain --objective gan -o "$WORK/m.safetensors" "$DATA/small.fa"
expect_one_line_error "^germ pretrain: --objective"

expect_exit 1 "corrupt --init-from" -- "$GERM" pretrain --objective clm --init-from "$DATA/garbage.bin" -o "$WORK/m.safetensors" "$DATA/small.fa"
expect_one_line_error "model is corrupted"

# A run killed with SIGKILL resumes from its last checkpoint and ends at the same step count.
args=(pretrain --objective clm --size tiny --steps 60 --batch-size 4 --seq-len 64 --eval-every 20
      --checkpoint-every 5 -@ 1 -o "$WORK/r.safetensors" "$DATA/small.fa")
"$GERM" "${args[@]}" -q 2>"$WORK/killed.err" &
pid=$!
for _ in $(seq 1 300); do [ -e "$WORK/r.safetensors.ckpt" ] && break; sleep 0.1; done
sleep 0.3
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
[ -e "$WORK/r.safetensors.ckpt" ] && pass "checkpoint written before the kill" || fail "no checkpoint"
if [ -e "$WORK/r.safetensors" ]; then
  echo "note: the run finished before it was killed (fast machine)"
  rm -f "$WORK/r.safetensors"
fi
ls "$WORK" | grep -q germ-tmp && fail "temporary file left by the killed run is visible as output" || true
expect_exit 0 "resume after SIGKILL" -- "$GERM" "${args[@]}" --resume "$WORK/r.safetensors.ckpt"
grep -q "wrote .*r.safetensors: 60 steps" "$WORK/err" && pass "resumed run ends at step 60" || fail "summary: $(tail -1 "$WORK/err")"
[ -s "$WORK/r.safetensors" ] && pass "final model written" || fail "no final model"
# "same" when two model files hold the same tensors byte for byte (metadata aside).
same_tensors() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
print("same" if a == b and a else "differ: " + ",".join(k for k in a if a[k] != b.get(k)))
PY
}

# --time-limit: checkpoint and exit 0 with a resume hint; the resumed run ends with the weights of
# an uninterrupted one (byte for byte: same steps, same data, one thread).
# Usage: split_run_matches_whole LABEL NAME STEPS COMMAND_WORDS -- ARGS...
split_run_matches_whole() {
  local label=$1 name=$2 steps=$3 words=$4; shift 5
  expect_exit 0 "$label: uninterrupted run" -- "$GERM" "$@" -o "$WORK/$name.whole.safetensors"
  expect_exit 0 "$label: run stopped by --time-limit" -- "$GERM" "$@" -o "$WORK/$name.safetensors" --time-limit 0.0001
  grep -q "^germ $words: time limit .* reached after step [0-9]* of $steps; wrote checkpoint .*$name.safetensors.ckpt; continue with the same command and --resume" "$WORK/err" \
    && pass "$label: time-limit message says how to resume" || fail "$label: time-limit message: $(tail -1 "$WORK/err")"
  [ ! -e "$WORK/$name.safetensors" ] && [ -s "$WORK/$name.safetensors.ckpt" ] \
    && pass "$label: only the checkpoint after the time limit" || fail "$label: outputs after the time limit"
  expect_exit 0 "$label: resume after the time limit" -- "$GERM" "$@" -o "$WORK/$name.safetensors" --resume "$WORK/$name.safetensors.ckpt"
  local same
  same=$(same_tensors "$WORK/$name.whole.safetensors" "$WORK/$name.safetensors")
  [ "$same" = same ] && pass "$label: time-limited + resumed run has the uninterrupted weights" || fail "$label: weights $same"
}
split_run_matches_whole "model" split 12 pretrain -- pretrain --objective clm --size tiny --steps 12 --batch-size 4 \
  --seq-len 64 --eval-every 4 --checkpoint-every 0 -@ 1 "$DATA/small.fa"

# pretrain --focus: the same for the FOCUS adapter; a checkpoint is a model file `germ score`
# reads; a checkpoint of another geometry is refused in one line.
expect_exit 0 "base for FOCUS" -- "$GERM" pretrain --objective clm --size tiny --steps 2 --batch-size 2 --seq-len 64 \
  -@ 1 -o "$WORK/fbase.safetensors" "$DATA/small.fa"
focus=(pretrain --objective clm --focus --init-from "$WORK/fbase.safetensors" --focus-k 16 --window 64 --memory 4
       --focus-windows 2 --kl-weight 10 --steps 4 --batch-size 2 --eval-every 2 --eval-windows 2 --checkpoint-every 0
       -@ 1 "$DATA/small.fa")
split_run_matches_whole "FOCUS" fsplit 4 "pretrain --focus" -- "${focus[@]}"
grep -q "resumed at step" "$WORK/err" && pass "FOCUS resume says where it resumed" || fail "no resume line: $(head -2 "$WORK/err")"
expect_exit 0 "score reads a FOCUS checkpoint" -- "$GERM" score -@ 1 -m "$WORK/fsplit.safetensors.ckpt" -o "$WORK/ck.bedgraph" "$DATA/small.fa"
other=("${focus[@]}"); other[11]=8  # --memory 8
expect_exit 1 "FOCUS resume with another memory" -- "$GERM" "${other[@]}" -o "$WORK/fk.safetensors" --resume "$WORK/fsplit.safetensors.ckpt"
expect_one_line_error "^germ pretrain: .*fsplit.safetensors.ckpt: was trained with FOCUS geometry"
[ ! -e "$WORK/fk.safetensors" ] && pass "no output after a refused resume" || fail "output left by a refused resume"

# --heldout files are evaluated one by one (log columns, stderr in bits/base); bad options are one-line errors.
expect_exit 0 "held-out files" -- "$GERM" pretrain --objective clm --size tiny --steps 4 --batch-size 4 --seq-len 64 \
  --eval-every 2 -@ 1 -o "$WORK/h.safetensors" "$DATA/small.fa" --heldout "$DATA/small.fa.gz"
head -1 "$WORK/h.safetensors.log.tsv" | grep -q "small_bits_per_base" && pass "log has a column per held-out file" || fail "log header: $(head -1 "$WORK/h.safetensors.log.tsv")"
grep -q "step 4, held-out bits/base: small [0-9.]*" "$WORK/err" && pass "held-out bits/base on stderr" || fail "no held-out report: $(cat "$WORK/err")"
printf 'nothing*\t1\n' >"$WORK/w.tsv"
expect_exit 1 "weights matching no input" -- "$GERM" pretrain --objective clm -o "$WORK/m.safetensors" --weights "$WORK/w.tsv" "$DATA/small.fa"
expect_one_line_error "^germ pretrain: .*w.tsv: no line matches input"
expect_exit 1 "unknown precision" -- "$GERM" pretrain --objective clm --precision fp8 -o "$WORK/m.safetensors" "$DATA/small.fa"
expect_one_line_error "^germ pretrain: --precision: unknown precision"
expect_exit 1 "zero learning rate" -- "$GERM" pretrain --objective clm --lr 0 -o "$WORK/m.safetensors" "$DATA/small.fa"
expect_one_line_error "^germ pretrain: --lr: must be positive"
# Without --lr the rate follows the model's width (docs/pretrain.md): 5e-3 for the 64-wide tiny model.
expect_exit 0 "default learning rate" -- "$GERM" pretrain --objective clm --size tiny --steps 1 --batch-size 2 --seq-len 64 \
  -@ 1 -o "$WORK/lr.safetensors" "$DATA/small.fa"
grep -q "peak lr 0.005 (default for the model's width)" "$WORK/err" && pass "default rate for the width on stderr" || fail "lr line: $(grep -i lr "$WORK/err")"
finish

