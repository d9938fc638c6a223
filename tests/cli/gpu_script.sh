#!/usr/bin/env bash
# The one-call GPU run (docs/gpu.md) as a dry run on this CPU machine, so that the script cannot
# rot between the rare times a GPU is lent: scripts/gpu_prepare.sh --tiny, then
# scripts/gpu_run.sh --dry-run with this build. Every stage is recorded in results.json, $OUT fits
# the device tool's limits, the trained models load, and stages forced to fail do not stop the
# later ones.
. "$(dirname "$0")/lib.bash"
src=$GERM_SOURCE_DIR
build=$(dirname "$GERM")
command -v dpkg-deb >/dev/null || { echo "SKIP: no dpkg-deb to build the dry run's .deb"; exit 77; }

expect_exit 0 "gpu_prepare.sh --tiny" -- bash "$src/scripts/gpu_prepare.sh" --tiny --payload "$WORK/payload"
grep -q '^carry: \[".*payload"\]' "$WORK/out" && grep -q '^command: bash scripts/gpu_run.sh --minutes 9' "$WORK/out" &&
  pass "prepare prints the paths to carry and the command" || fail "prepare output: $(cat "$WORK/out")"

# dry_run OUT_DIR [FAILING_STAGES]: one dry run into OUT_DIR, timed.
dry_run() {
  local begin=$SECONDS
  GERM_BUILD_DIR=$build OUT=$1 GERM_GPU_FAIL_STAGES=${2:-} \
    bash "$src/scripts/gpu_run.sh" --dry-run --minutes 2 --payload "$WORK/payload" > "$1.console" 2>&1
  local rc=$? seconds=$((SECONDS - begin))
  [ "$rc" -eq 0 ] && pass "dry run exits 0 (failing: ${2:-none})" || fail "dry run exit $rc: $(tail -5 "$1.console")"
  [ "$seconds" -lt 120 ] && pass "dry run took $seconds s (< 120)" || fail "dry run took $seconds s"
}

# check_results OUT_DIR EXPECTED_FAILED: statuses and figures of results.json.
check_results() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(f"{sys.argv[1]}/results.json"))
want_failed = set(filter(None, sys.argv[2].split(",")))
status = {s["name"]: s["status"] for s in r["stages"]}
order = ["environment", "unpack", "build", "cuda_tests", "agreement_tests", "bench", "score", "train", "focus",
         "eval", "layout"]
problems = []
if list(status) != order:
    problems.append(f"stages {list(status)}")
for name in order:
    want = "failed" if name in want_failed else "skipped" if name == "build" else "ok"
    if status.get(name) != want:
        problems.append(f"{name}: {status.get(name)}, wanted {want}")
f = r["figures"]
def value(stage, key):
    return f.get(stage, {}).get(key, {}).get("value")
needed = [("train", "steps"), ("train", "validation_bits_per_base"), ("train", "tokens_per_s"),
          ("eval", "validation_bits_per_base"), ("eval", "focus_score_bits_per_base"),
          ("agreement_tests", "tests_passed")]
if "bench" not in want_failed:
    needed += [("bench", k) for k in ("gemm_fp32_tflops", "train_tokens_per_s", "train_tflops",
               "attention_explicit_ms", "attention_attend_ms", "train_fraction_of_fp32_gemm")]
    needed += [("score", k) for k in ("score_lanes8_bases_per_s", "score_lanes64_bases_per_s")]
for stage, key in needed:
    v = value(stage, key)
    if not isinstance(v, (int, float)) or v <= 0:
        problems.append(f"figure {stage}.{key} = {v!r}")
if value("train", "steps") != 6:
    problems.append(f"train.steps = {value('train', 'steps')!r}, wanted 6")
if r["meta"].get("dry_run") != 1:
    problems.append("meta.dry_run is not 1")
print("; ".join(problems) if problems else f"{len(status)} stages, {sum(map(len, f.values()))} figures")
sys.exit(1 if problems else 0)
PY
}

out=$WORK/run1
dry_run "$out"
report=$(check_results "$out" "") && pass "results.json: $report" || fail "results.json: $report"
report=$(python3 "$src/scripts/gpu_results.py" layout "$out") && pass "\$OUT within the tool's limits: $report" ||
  fail "\$OUT layout: $report"
for file in results.json run.log logs.tar.gz model.safetensors model-focus.safetensors train.log.tsv; do
  [ -s "$out/$file" ] || fail "\$OUT lacks $file"
done
tar -tzf "$out/logs.tar.gz" | grep -q 'logs/train.log' && pass "logs.tar.gz holds the stage logs" || fail "logs.tar.gz"
tar -xzOf "$out/logs.tar.gz" logs/unpack.log | grep -q "unpacked by scripts/gpu_run.sh --dry-run" &&
  pass "the .deb was unpacked with dpkg -x" || fail "no marker of the unpacked .deb"
expect_exit 0 "the FOCUS model scores" -- "$GERM" score -q -m "$out/model-focus.safetensors" "$GERM_SOURCE_DIR/test_data/small.fa"
[ -s "$WORK/out" ] && pass "bedGraph written" || fail "empty bedGraph"

# Forced failures: the stages after them still run and record their figures.
out=$WORK/run2
dry_run "$out" unpack,bench
report=$(check_results "$out" unpack,bench) && pass "after forced failures: $report" || fail "after forced failures: $report"
finish
