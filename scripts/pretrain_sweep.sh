#!/usr/bin/env bash
# Compute-matched sweep of causal-LM shapes on the corpus (docs/pretrain.md, "Choosing the shape"):
# every shape trains for the same number of training FLOPs, evaluated on the held-out files every
# SWEEP_EVALS-th of the budget, then scripts/pretrain_sweep_report.py writes the table and the plot.
# Usage: scripts/pretrain_sweep.sh OUT_DIR CORPUS_DIR SHAPE.json[:SEQ_LEN] ...
#   SWEEP_FLOPS (8e13), SWEEP_TOKENS_PER_STEP (8192), SWEEP_LR (2e-3), SWEEP_THREADS (2),
#   SWEEP_EVALS (8), SWEEP_WEIGHTS (a --weights TSV), SWEEP_CHECKPOINT_EVERY (10 steps) override the plan.
# A finished shape (its model file) is kept; an interrupted one resumes from its checkpoint.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
germ=${GERM_BUILD_DIR:-$here/build}/germ
out=${1:?usage: OUT_DIR CORPUS_DIR SHAPE.json[:SEQ_LEN] ...}
corpus=${2:?usage: OUT_DIR CORPUS_DIR SHAPE.json[:SEQ_LEN] ...}
shift 2
[ $# -ge 1 ] || { echo "pretrain_sweep: no shapes given" >&2; exit 1; }
flops=${SWEEP_FLOPS:-8e13}; tokens_per_step=${SWEEP_TOKENS_PER_STEP:-8192}
lr=${SWEEP_LR:-2e-3}; threads=${SWEEP_THREADS:-2}; evals=${SWEEP_EVALS:-8}
weights=(); [ -n "${SWEEP_WEIGHTS:-}" ] && weights=(--weights "$SWEEP_WEIGHTS")
mkdir -p "$out"

for spec in "$@"; do
  config=${spec%%:*}; seq_len=1024; [ "$spec" != "$config" ] && seq_len=${spec##*:}
  name=$(basename "$config" .json).L$seq_len
  [ -s "$out/$name.safetensors" ] && continue
  cp "$config" "$out/$name.config.json"
  # Steps for the budget: FLOPs/token from the config (the same formula as bench_train.cpp).
  read -r steps per_token < <(python3 "$here/scripts/pretrain_sweep_report.py" --steps \
    "$config" "$seq_len" "$tokens_per_step" "$flops")
  batch=$((tokens_per_step / seq_len))
  resume=(); [ -s "$out/$name.safetensors.ckpt" ] && resume=(--resume "$out/$name.safetensors.ckpt")
  echo "pretrain_sweep: $name: $steps steps x $batch x $seq_len bases, $per_token FLOP/token" >&2
  nice "$germ" pretrain --objective clm --config "$config" --steps "$steps" --batch-size "$batch" \
    --seq-len "$seq_len" --lr "$lr" --schedule cosine --eval-every $(((steps + evals - 1) / evals)) \
    --eval-windows 48 --checkpoint-every "${SWEEP_CHECKPOINT_EVERY:-10}" -@ "$threads" "${weights[@]}" "${resume[@]}" \
    -o "$out/$name.safetensors" "$corpus"/train/*.fa.gz --heldout "$corpus"/heldout/*.fa.gz \
    2> "$out/$name.err"
  echo "$per_token $tokens_per_step" > "$out/$name.flops_per_token"
done
python3 "$here/scripts/pretrain_sweep_report.py" "$out"
