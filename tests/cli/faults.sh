#!/usr/bin/env bash
# Faults: SIGTERM removes the temporary output of a running command; a training run killed with
# SIGKILL resumes from its last checkpoint, losing at most one checkpoint interval of steps.
. "$(dirname "$0")/lib.bash"
FA="$GERM_SOURCE_DIR/test_data/small.fa"

# --- SIGTERM mid-run: the temporary is unlinked, no output appears, the status says "killed" ---
mkdir "$WORK/term"
"$GERM" score -q -@ 1 -o "$WORK/term/scores.bg" "$FA" 2>"$WORK/term.err" &
pid=$!
for _ in $(seq 1 200); do ls -A "$WORK/term" | grep -q germ-tmp && break; sleep 0.05; done
ls -A "$WORK/term" | grep -q germ-tmp && pass "temporary output exists while scoring" || fail "no temporary seen"
kill -TERM "$pid"
wait "$pid"
status=$?
[ "$status" -eq 143 ] && pass "killed by SIGTERM (exit 143)" || fail "exit $status after SIGTERM, wanted 143"
[ -z "$(ls -A "$WORK/term")" ] && pass "SIGTERM left no temporary and no output" || fail "left behind: $(ls -A "$WORK/term")"

# --- SIGKILL mid-training, then --resume ---
every=5
args=(pretrain --objective clm --size tiny --steps 40 --batch-size 2 --seq-len 32 --eval-every 1 --eval-windows 2
      --checkpoint-every $every -@ 1 -o "$WORK/r.safetensors" "$FA")
"$GERM" "${args[@]}" -q 2>"$WORK/killed.err" &
pid=$!
# Kill between checkpoints: after the second checkpoint and a few more logged steps.
for _ in $(seq 1 600); do
  last=$(awk -F'\t' 'NR > 1 { s = $1 } END { print s + 0 }' "$WORK/r.safetensors.log.tsv" 2>/dev/null)
  [ "${last:-0}" -ge $((2 * every + 2)) ] && break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
checkpoint_step() {
  /usr/bin/python3 - "$1" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
print(json.loads(json.loads(raw[8:8 + n])["__metadata__"]["germ.checkpoint"])["step"])
PY
}
logged=$(awk -F'\t' 'NR > 1 { s = $1 } END { print s + 0 }' "$WORK/r.safetensors.log.tsv")
saved=$(checkpoint_step "$WORK/r.safetensors.ckpt" 2>/dev/null || echo -1)
if [ -e "$WORK/r.safetensors" ]; then
  echo "note: the run finished before it was killed (fast machine)"
else
  [ "$saved" -gt 0 ] && [ $((logged - saved)) -ge 0 ] && [ $((logged - saved)) -le $every ] \
    && pass "killed at step $logged, checkpoint at step $saved: $((logged - saved)) steps lost (<= $every)" \
    || fail "killed at step $logged, checkpoint step $saved, interval $every"
fi
# SIGKILL cannot be handled: a hidden .germ-tmp file may remain, but never a file under an output's name.
ls "$WORK" | grep -q germ-tmp && fail "temporary left by SIGKILL is visible" || pass "nothing visible but the checkpoint"
expect_exit 0 "resume after SIGKILL" -- "$GERM" "${args[@]}" --resume "$WORK/r.safetensors.ckpt"
grep -q "wrote .*r.safetensors: 40 steps" "$WORK/err" && pass "resumed run ends at step 40" || fail "summary: $(tail -1 "$WORK/err")"
# The log continues from the checkpoint: the first step after it is saved + 1.
awk -F'\t' -v s="$saved" 'NR > 1 && $1 == s + 1 { n++ } END { exit n < 1 }' "$WORK/r.safetensors.log.tsv" \
  && pass "log resumes at step $((saved + 1))" || fail "log does not show step $((saved + 1))"
finish
