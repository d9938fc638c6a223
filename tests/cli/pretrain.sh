#!/usr/bin/env bash
# germ pretrain from the command line: errors, outputs, and resume after SIGKILL.
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
finish
