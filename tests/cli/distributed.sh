#!/usr/bin/env bash
# Data-parallel pretrain/finetune over Gloo on loopback (docs/distributed.md): 2 processes give
# the weights of 1 process with the same global batch, a checkpoint resumes at another world
# size, and a killed rank stops the job with a one-line error instead of a hang.
. "$(dirname "$0")/lib.bash"
FA="$GERM_SOURCE_DIR/test_data/small.fa"

# Largest |a - b| over all tensors of two safetensors files; fails when the tensor sets differ.
max_difference() {
  python3 - "$1" "$2" <<'PY'
import array, json, struct, sys
def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: (v["dtype"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
worst = 0.0
for name, (dtype, raw) in a.items():
    if dtype != "F32":
        assert raw == b[name][1], name
        continue
    x, y = array.array("f", raw), array.array("f", b[name][1])
    worst = max([worst] + [abs(p - q) for p, q in zip(x, y)])
print(f"{worst:.3g}")
PY
}

# expect_equal_weights A B WHAT: the two model files agree within 1e-5.
expect_equal_weights() {
  local difference
  difference=$(max_difference "$1" "$2" 2>&1) || { fail "$3: $difference"; return; }
  python3 -c "import sys; sys.exit(0 if float('$difference') <= 1e-5 else 1)" \
    && pass "$3: max weight difference $difference" || fail "$3: max weight difference $difference > 1e-5"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- equality with one process (CLM: no dropout; MLM: per-sample masking and dropout) ---
clm=(pretrain -q --objective clm --size tiny --steps 4 --batch-size 4 --seq-len 32 --eval-every 4 --eval-windows 2
     --lr 2e-3 --warmup 1 --checkpoint-every 2)
expect_exit 0 "clm, 1 process" -- "$GERM" "${clm[@]}" -@ 1 -o "$WORK/clm1.safetensors" "$FA"
expect_exit 0 "clm, germ launch -n 2" -- "$GERM" launch -n 2 -- "${clm[@]}" -o "$WORK/clm2.safetensors" "$FA"
expect_equal_weights "$WORK/clm1.safetensors" "$WORK/clm2.safetensors" "clm 2 processes = 1 process"
[ "$(grep -c '' "$WORK/clm2.safetensors.log.tsv")" -eq 2 ] && pass "rank 0 alone wrote the log" || fail "log: $(cat "$WORK/clm2.safetensors.log.tsv")"
# The 2-process checkpoint (step 2) continued by 1 process ends where the 1-process run did.
expect_exit 0 "resume a 2-process checkpoint in 1 process" -- "$GERM" "${clm[@]}" -@ 1 \
  --resume "$WORK/clm2.safetensors.ckpt" -o "$WORK/clm_resumed.safetensors" "$FA"
expect_equal_weights "$WORK/clm1.safetensors" "$WORK/clm_resumed.safetensors" "resumed at world size 1 = 1 process"

mlm=(pretrain -q --objective mlm --size tiny --vocab 64 --steps 3 --batch-size 4 --seq-len 32 --eval-every 3
     --eval-windows 2 --lr 2e-3 --warmup 1 --checkpoint-every 0)
expect_exit 0 "mlm, 1 process" -- "$GERM" "${mlm[@]}" -@ 1 -o "$WORK/mlm1.safetensors" "$FA"
expect_exit 0 "mlm, germ launch -n 2" -- "$GERM" launch -n 2 -- "${mlm[@]}" -o "$WORK/mlm2.safetensors" "$FA"
expect_equal_weights "$WORK/mlm1.safetensors" "$WORK/mlm2.safetensors" "mlm (dropout, masking) 2 processes = 1 process"

TASK="$WORK/task"
make_gc_task "$TASK" 7 8
tune=(finetune -q --method full --base "$WORK/mlm1.safetensors" --data "$TASK" --steps 3 --batch-size 8 --lr 1e-3 --warmup 1)
expect_exit 0 "finetune, 1 process" -- "$GERM" "${tune[@]}" -@ 1 -o "$WORK/cls1.safetensors"
expect_exit 0 "finetune, germ launch -n 2" -- "$GERM" launch -n 2 -- "${tune[@]}" -o "$WORK/cls2.safetensors"
expect_equal_weights "$WORK/cls1.safetensors" "$WORK/cls2.safetensors" "finetune 2 processes = 1 process"

expect_exit 1 "global batch not divisible by the world size" -- "$GERM" launch -n 2 -- pretrain --objective clm --size tiny \
  --steps 1 --batch-size 3 --seq-len 32 -o "$WORK/x.safetensors" "$FA"
grep -q "^germ pretrain: --batch-size: 3 (the global batch) is not a multiple of the 2 processes" "$WORK/err" \
  && pass "names --batch-size" || fail "stderr: $(head -c 400 "$WORK/err")"

expect_exit 1 "launch of a command that does not train" -- "$GERM" launch -n 2 -- stats "$FA"
expect_one_line_error "^germ launch: stats: is not a data-parallel command"

# --- a killed rank: the survivor fails within --dist-timeout with one line ---
long=(pretrain --objective clm --size tiny --steps 100000 --batch-size 4 --seq-len 32 --eval-every 100000
      --checkpoint-every 1 -@ 1 -q)
# start_two_ranks TIMEOUT: ranks 0 and 1 ($rank0, $rank1) of a long run, started by hand; returns
# once training is under way (the first checkpoint exists). Rank 0's stderr: $WORK/rank0.err.
start_two_ranks() {
  rm -f "$WORK/k.safetensors.ckpt"
  local port; port=$(free_port)
  RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$GERM" "${long[@]}" --dist-timeout "$1" \
    -o "$WORK/k.safetensors" "$FA" 2>"$WORK/rank0.err" &
  rank0=$!
  RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$GERM" "${long[@]}" --dist-timeout "$1" \
    -o "$WORK/k.safetensors" "$FA" 2>/dev/null &
  rank1=$!
  for _ in $(seq 1 300); do [ -e "$WORK/k.safetensors.ckpt" ] && break; sleep 0.1; done
}
start_two_ranks 5
kill -9 "$rank1"
start=$(date +%s%N)
wait "$rank0"
status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
wait "$rank1" 2>/dev/null
[ "$status" -ne 0 ] && pass "survivor exits non-zero ($status) after ${elapsed_ms} ms" || fail "survivor exited 0"
[ "$elapsed_ms" -lt 8000 ] && pass "detected within the 5 s timeout (+3 s)" || fail "took ${elapsed_ms} ms"
cp "$WORK/rank0.err" "$WORK/err"
expect_one_line_error "^germ pretrain: distributed: rank 0 of 2: .* failed; another rank stopped"

# --- a rank that hangs (SIGSTOP) is detected by the timeout alone ---
start_two_ranks 2
kill -STOP "$rank1"
start=$(date +%s%N)
for _ in $(seq 1 100); do kill -0 "$rank0" 2>/dev/null || break; sleep 0.1; done
kill -9 "$rank0" "$rank1" 2>/dev/null
wait "$rank0"
status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
wait "$rank1" 2>/dev/null
[ "$status" -eq 1 ] && [ "$elapsed_ms" -lt 8000 ] && pass "hung peer: exit 1 after ${elapsed_ms} ms (timeout 2 s)" \
  || fail "hung peer: status $status after ${elapsed_ms} ms"
cp "$WORK/rank0.err" "$WORK/err"
expect_one_line_error "^germ pretrain: distributed: rank 0 of 2: .* failed; another rank stopped or did not answer within 2 s"

# --- germ launch stops the other ranks when one dies ---
"$GERM" launch -n 2 -- "${long[@]}" -o "$WORK/l.safetensors" "$FA" 2>"$WORK/launch.err" &
launcher=$!
for _ in $(seq 1 300); do [ -e "$WORK/l.safetensors.ckpt" ] && break; sleep 0.1; done
for child in $(pgrep -P "$launcher"); do tr '\0' '\n' <"/proc/$child/environ" | grep -qx "RANK=1" && kill -9 "$child"; done
start=$(date +%s%N)
wait "$launcher"
status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$status" -ne 0 ] && pass "launch exits non-zero ($status) after ${elapsed_ms} ms" || fail "launch exited 0"
grep -q "^germ launch: rank 1 (pid [0-9]*) was killed by signal 9 (Killed); stopping the other 1 rank(s)$" "$WORK/launch.err" \
  && pass "launch names the dead rank" || fail "launch stderr: $(head -c 600 "$WORK/launch.err")"
[ -z "$(pgrep -P "$launcher")" ] && pass "no rank left running" || fail "ranks still running"
finish
