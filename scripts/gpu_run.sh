#!/usr/bin/env bash
# One call on a GPU machine (docs/gpu.md, "One-call run"): unpack the .debs of scripts/gpu_prepare.sh,
# build germ with GERM_CUDA=ON against python3's CUDA LibTorch, run the CUDA and CPU-agreement
# tests, the GPU benchmark rows, train the default-model candidate on the corpus for the minutes
# left (checkpoint every minute), train its FOCUS adapter, evaluate on the held-out files, and
# leave in $OUT: results.json (every stage's status and time, every figure), run.log,
# logs.tar.gz, the model files and the training log. Each stage runs on its own: one that fails
# is recorded and the later ones still run.
#   scripts/gpu_run.sh [--minutes N] [--payload DIR] [--out DIR] [--dry-run]
#   --dry-run: on a CPU machine, with the CPU build of GERM_BUILD_DIR (or the folder of $GERM), a
#              tiny model and the payload of `scripts/gpu_prepare.sh --tiny`; under 2 minutes.
#   GERM_GPU_FAIL_STAGES=a,b  force these stages to fail (tests/cli/gpu_script.sh)
set -uo pipefail  # no -e: a failing stage must not stop the later ones
cd "$(dirname "$0")/.."
root=$PWD
minutes=9 payload=.gpu-payload dry_run=0 out=${OUT:-$root/gpu-out}
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift ;;
    --payload) payload=$2; shift ;;
    --out) out=$2; shift ;;
    --dry-run) dry_run=1 ;;
    *) echo "usage: scripts/gpu_run.sh [--minutes N] [--payload DIR] [--out DIR] [--dry-run]" >&2; exit 2 ;;
  esac
  shift
done
payload=$(cd "$payload" 2>/dev/null && pwd) || { echo "gpu_run: no payload folder (run scripts/gpu_prepare.sh)" >&2; exit 2; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/germ-gpu-run.XXXXXX")
logs=$work/logs
mkdir -p "$logs"
trap 'rm -rf "$work"' EXIT
exec > >(tee "$out/run.log") 2>&1
tee_pid=$!
start_s=$(date +%s)
# Results are packed within the limit the tool is given (timeout_s), with 20 s to spare.
deadline_s=$((start_s + ${minutes%.*} * 60 - 20))

. scripts/gpu_lib.bash
. scripts/gpu_stages.bash

# figure KEY VALUE [UNIT]: one figure of the running stage, kept in results.json.
figure() { printf '%s\t%s\t%s\t%s\n' "$STAGE" "$1" "$2" "${3:-}" >> "$work/figures.tsv"; }
# figure_of KEY: the last value recorded under KEY by any stage (empty if none).
figure_of() { awk -F'\t' -v k="$1" '$2 == k { v = $3 } END { print v }' "$work/figures.tsv" 2>/dev/null; }
meta() { printf '%s\t%s\n' "$1" "$2" >> "$work/meta.tsv"; }
seconds_left() { echo $((deadline_s - $(date +%s))); }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

save_results() {
  python3 scripts/gpu_results.py json "$work" "$out/results.json"
  tar -czf "$out/logs.tar.gz.tmp" -C "$work" logs && mv "$out/logs.tar.gz.tmp" "$out/logs.tar.gz"
}

# run_stage NAME: runs stage_NAME in a subshell (set -e there), output to logs/NAME.log; exit
# status 0 = ok, 77 = skipped, anything else = failed. Results are saved after every stage.
run_stage() {
  local name=$1 begin rc status
  export STAGE=$name
  begin=$(ms_now)
  echo "== $name ($(seconds_left) s left)"
  if [[ ",${GERM_GPU_FAIL_STAGES:-}," == *",$name,"* ]]; then
    echo "forced to fail by GERM_GPU_FAIL_STAGES" > "$logs/$name.log"
    rc=1
  else
    ( set -e; "stage_$name" ) > "$logs/$name.log" 2>&1
    rc=$?
  fi
  case $rc in 0) status=ok ;; 77) status=skipped ;; *) status=failed ;; esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$(($(ms_now) - begin))" >> "$work/stages.tsv"
  echo "   $status (exit $rc, $(( ($(ms_now) - begin) / 1000 )) s): $(tail -n 1 "$logs/$name.log")"
  save_results
}

meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta dry_run "$dry_run"
meta minutes "$minutes"
meta commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
meta host_cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
meta cores "$(nproc)"
prefix=$work/prefix
# The default-model candidate and its batch (docs/gpu.md); a dry run trains a tiny model.
config=$root/scripts/gpu_model.json train_batch=64 train_seq=1024 eval_windows=64 eval_reserve_s=100
if [ "$dry_run" = 1 ]; then
  build=${GERM_BUILD_DIR:-$(dirname "${GERM:-$root/build/germ}")}
  device=cpu
  config=$work/tiny.json train_batch=2 train_seq=64 eval_windows=2 eval_reserve_s=5
  echo '{"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64, "vocab": 10, "type_vocab": 0, "dropout": 0.0,
    "attention_dropout": 0.0, "layer_norm_eps": 1e-5, "attention": "softmax1", "mask": "causal", "norm": "pre",
    "ffn": "geglu", "max_length": 128}' > "$config"
else
  build=$root/build-cuda
  device=cuda
  export LD_LIBRARY_PATH
  LD_LIBRARY_PATH=$(gpu_library_path "$prefix")
fi
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
germ=$build/germ
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

for stage in environment unpack build cuda_tests agreement_tests bench score train focus eval; do
  run_stage "$stage"
done
STAGE=layout
if python3 scripts/gpu_results.py layout "$out" > "$logs/layout.log" 2>&1; then status=ok; rc=0; else status=failed; rc=1; fi
printf 'layout\t%s\t%s\t0\n' "$status" "$rc" >> "$work/stages.tsv"
cat "$logs/layout.log"
save_results
echo "gpu_run: $(grep -c $'\tok\t' "$work/stages.tsv") stages ok, $(grep -c $'\tfailed\t' "$work/stages.tsv") failed," \
     "$(( $(date +%s) - start_s )) s; results in $out"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null  # run.log complete before the tool collects $OUT
