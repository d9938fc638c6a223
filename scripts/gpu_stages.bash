# The stages of scripts/gpu_run.sh (sourced there; each runs in its own subshell with set -e).
# They read the run's settings (root, payload, out, work, build, germ, device, prefix, dry_run,
# config, train_batch, train_seq) and record with figure KEY VALUE UNIT.
# shellcheck disable=SC2154  # the settings are gpu_run.sh's

stage_environment() {
  figure cores "$(nproc)"
  local torch
  torch=$(python3 -c 'import torch; c = torch.cuda.is_available()
print(torch.__version__, torch.cuda.get_device_name(0) if c else "no-gpu", sep="\t")' 2>/dev/null) || torch=$'none\tno-gpu'
  figure torch_version "${torch%%$'\t'*}"
  figure gpu "${torch#*$'\t'}"
  echo "python3 torch: $torch"
  nvidia-smi 2>&1 || echo "nvidia-smi: not here"
  for tool in nvcc cmake ninja c++; do
    echo "$tool: $("$tool" --version 2>/dev/null | head -1 || echo absent)"
  done
}

stage_unpack() {
  gpu_unpack_debs "$payload/debs" "$prefix"
  figure debs "$(ls "$payload"/debs/*.deb | wc -l)" files
  if [ "$dry_run" = 1 ]; then cat "$prefix/usr/share/germ-gpu-dry-run/marker"; fi
}

stage_build() {
  if [ "$dry_run" = 1 ]; then
    [ -x "$germ" ] && [ -x "$build/germ_device_bench" ] && [ -x "$build/tests/germ_tests" ] ||
      { echo "dry run: $build lacks germ, germ_device_bench or tests/germ_tests"; exit 1; }
    echo "dry run: skipped, using the existing build $build"
    exit 77
  fi
  # The build may use all but the last 90 s: a build that ends later leaves nothing to run.
  local allowed=$(($(seconds_left) - 90))
  timeout "$((allowed > 60 ? allowed : 60))" bash -c '. scripts/gpu_lib.bash
    gpu_configure_and_build "$1" "$2" germ germ_tests germ_device_bench germ_sentencepiece' _ "$prefix" "$build"
  "$germ" --version --verbose
}

# run_gtests FILTER: the unit tests matching FILTER, with their counts as figures.
run_gtests() {
  local rc=0 count kind
  timeout 150 "$build/tests/germ_tests" --gtest_filter="$1" > "$work/gtest.out" 2>&1 || rc=$?
  cat "$work/gtest.out"
  for kind in PASSED SKIPPED FAILED; do
    count=$(sed -n "s/^\[  $kind  *\] \([0-9]*\) test.*/\1/p" "$work/gtest.out" | head -1)
    figure "tests_${kind,,}" "${count:-0}"
  done
  return $rc
}

# On a GPU none may skip (a skip there means no GPU seen or no kernels built), so the one test
# of a build without kernels is left out.
stage_cuda_tests() {
  if [ "$dry_run" = 1 ]; then run_gtests "$GPU_CUDA_TESTS"; return; fi
  run_gtests "$GPU_CUDA_TESTS-CudaBuild.WithoutKernelsTheFusedPathSaysHowToGetThem"
  [ "$(figure_of tests_skipped)" = 0 ] || { echo "CUDA tests skipped on the GPU machine"; return 1; }
}

# A dry run takes the quick ones (the FOCUS and read-scorer tests take a minute on 2 cores).
stage_agreement_tests() {
  if [ "$dry_run" = 1 ]; then run_gtests 'Softmax1.*:Attend.*:OnlineSoftmaxAttention.*:InferenceKernels.*'
  else run_gtests "$GPU_AGREEMENT_TESTS"; fi
}

# ratio A B: A / B with 4 significant digits, or nothing when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b + 0 > 0) printf "%.4g", a / b }'; }

stage_bench() {
  local args=(--config "$config" --batch "$train_batch" --seq-len "$train_seq")
  if [ "$dry_run" = 1 ]; then
    args+=(--device cpu --attention-length 128 --gemm-size 128 --seconds 0.05)
  else
    args+=(--device cuda --attention-length 4096 --seconds 2)
  fi
  timeout 120 "$build/germ_device_bench" "${args[@]}" > "$work/bench.tsv"
  cat "$work/bench.tsv"
  local key value unit
  while IFS=$'\t' read -r key value unit; do figure "$key" "$value" "$unit"; done < "$work/bench.tsv"
  # Model-FLOP utilisation of fp32 training, against the measured GEMM ceilings of this device.
  figure train_fraction_of_fp32_gemm "$(ratio "$(figure_of train_tflops)" "$(figure_of gemm_fp32_tflops)")"
  figure train_fraction_of_bf16_gemm "$(ratio "$(figure_of train_tflops)" "$(figure_of gemm_bf16_tflops)")"
  figure fused_bf16_speedup_over_attend "$(ratio "$(figure_of attention_attend_ms)" "$(figure_of attention_fused_bf16_ms)")"
}

# The held-out genome scored by the score and eval stages: yeast chrXVI where present, its first
# 500 kb where it has an index (sets input and region).
heldout_input() {
  input=$(ls "$payload"/corpus/heldout/yeast*.fa.gz 2>/dev/null || ls "$payload"/corpus/heldout/*.fa.gz | head -1)
  region=()
  if [ -e "$input.fai" ]; then
    region=(-r "$(awk -F'\t' 'NR == 1 { print $1 ":1-" ($2 < 500000 ? $2 : 500000) }' "$input.fai")")
  fi
}

# bedgraph_bits FILE: bits per base, the base-weighted mean log-likelihood negated, / ln 2.
bedgraph_bits() {
  awk -F'\t' '{ s += $4 * ($3 - $2); n += $3 - $2 } END { if (n) printf "%.4f", -s / n / log(2) }' "$1"
}

# The shipped default FOCUS model over the held-out genome, at the default lanes and at 64;
# each run within 45 s.
stage_score() {
  local model=$root/models/germ-focus-default.safetensors input lanes line flops region rc=0
  heldout_input
  flops=$(python3 bench/score_flops.py "$model")
  figure score_flops_per_base "$flops" FLOP
  for lanes in 8 64; do
    timeout 45 "$germ" score --device "$device" --lanes "$lanes" -v -q -m "$model" "${region[@]}" "$input" \
      > "$work/default.lanes$lanes.bedgraph" 2> "$work/score.err" || true
    cat "$work/score.err"
    line=$(sed -n 's/.* \([0-9]*\) values, .* in \([0-9.]*\) s (\([0-9]*\) bases\/s).*peak RSS \([0-9.]*\) MiB.*/\3 \2 \4/p' "$work/score.err")
    [ -n "$line" ] || { echo "--lanes $lanes: no throughput line from germ score"; rc=1; continue; }
    read -r rate seconds rss <<< "$line"
    figure "score_lanes${lanes}_bases_per_s" "$rate" bases/s
    figure "score_lanes${lanes}_peak_rss" "$rss" MiB
    figure "score_lanes${lanes}_default_model_bits_per_base" "$(bedgraph_bits "$work/default.lanes$lanes.bedgraph")" bits
    figure "score_lanes${lanes}_fraction_of_fp32_gemm" \
      "$(ratio "$(awk -v f="$flops" -v r="$rate" 'BEGIN { print f * r / 1e12 }')" "$(figure_of gemm_fp32_tflops)")"
  done
  echo "scored $input ${region[*]}"
  return $rc
}

# Options of `germ pretrain` that land later (docs/gpu.md): used when its --help lists them.
pretrain_has() { "$germ" pretrain --help 2>/dev/null | grep -q -- "$1"; }

# pretrain_run SECONDS LABEL ARGS...: germ pretrain within SECONDS (--time-limit where germ has it,
# and a hard timeout 30 s later in any case: the checkpoints of an interrupted run survive).
pretrain_run() {
  local seconds=$1 label=$2 limit
  shift 2
  local args=("$@")
  if pretrain_has --time-limit; then
    # Whole minutes unless its help says it takes a FLOAT (CLI11 prints the type).
    limit=$(( seconds / 60 > 0 ? seconds / 60 : 1 ))
    if "$germ" pretrain --help | grep -q -- '--time-limit FLOAT'; then
      limit=$(awk -v s="$seconds" 'BEGIN { printf "%.2f", s / 60 }')
    fi
    args+=(--time-limit "$limit")
  fi
  echo "germ pretrain ${args[*]}"
  local rc=0
  timeout "$((seconds + 30))" "$germ" pretrain "${args[@]}" 2> "$work/$label.err" || rc=$?
  cat "$work/$label.err"
  return $rc
}

# finished_or_checkpoint MODEL: MODEL when the run wrote it, else the last checkpoint of a run that
# was stopped or failed (recorded as a figure), else nothing and failure.
finished_or_checkpoint() {
  if [ -e "$1" ]; then echo "$1"; return; fi
  [ -e "$1.ckpt" ] || { echo "no $1 and no checkpoint" >&2; return 1; }
  figure kept_last_checkpoint 1
  echo "$1.ckpt"
}

# steps_for SECONDS TOKENS_PER_STEP: steps that fill SECONDS at the benchmark's training rate,
# less 20% for data loading and validation. Without a benchmark, 1M tokens/s is assumed: too
# many steps rather than too few, the timeout then stops the run and its last checkpoint is kept.
steps_for() {
  local rate; rate=$(figure_of train_tokens_per_s)
  awk -v s="$1" -v t="$2" -v r="${rate:-1000000}" 'BEGIN { n = int(0.8 * s * r / t); print (n < 2 ? 2 : n) }'
}

# The default-model candidate (scripts/gpu_model.json; the tiny one in a dry run) on the corpus.
stage_train() {
  local seconds steps tokens=$((train_batch * train_seq)) precision=fp32 result
  seconds=$(( ($(seconds_left) - eval_reserve_s) * 85 / 100 ))
  [ "$seconds" -gt 10 ] || { echo "no time left to train ($seconds s)"; return 1; }
  steps=$(steps_for "$seconds" "$tokens")
  local every_minute
  every_minute=$(awk -v n="$steps" -v s="$seconds" 'BEGIN { c = int(n * 60 / s); print (c < 1 ? 1 : c) }')
  if [ "$dry_run" = 1 ]; then steps=6 every_minute=2; fi
  # The training files first: --heldout takes every file after it.
  # The candidate continues from the long run's latest piece (training/README.md) when there is
  # one: the CPU pieces are a head start, not a different model.
  local start=(--config "$config") latest
  latest=$(ls training/clm_6x192.piece*.f16.safetensors 2>/dev/null | sort -V | tail -1)
  if [ "$dry_run" = 0 ] && [ -n "$latest" ]; then start=(--init-from "$latest"); figure init_from "$latest"; fi
  local args=("$payload"/corpus/train/*.fa.gz --objective clm "${start[@]}" --device "$device" --steps "$steps" --batch-size "$train_batch"
              --seq-len "$train_seq" --lr 2e-3 --warmup "$((steps / 20 + 1))" --schedule cosine
              --checkpoint-every "$every_minute" --eval-every "$((steps / 10 + 1))" --eval-windows "$eval_windows"
              -o "$work/model.safetensors")
  if [ "$dry_run" = 0 ] && pretrain_has --precision; then precision=bf16; args+=(--precision bf16); fi
  if [ "$dry_run" = 0 ] && pretrain_has --weights; then args+=(--weights models/configs/corpus_weights.tsv); fi
  if pretrain_has --heldout; then args+=(--heldout "$payload"/corpus/heldout/*.fa.gz); fi
  figure precision "$precision"
  figure planned_steps "$steps"
  figure planned_seconds "$seconds" s
  local rc=0
  pretrain_run "$seconds" train "${args[@]}" || rc=$?
  result=$(finished_or_checkpoint "$work/model.safetensors") || return 1
  if [ "$rc" = 124 ]; then rc=0; fi  # stopped by the timeout: its checkpoint is the result
  cp "$result" "$out/model.safetensors"
  cp "$work/model.safetensors.log.tsv" "$out/train.log.tsv" 2>/dev/null || true
  training_figures
  return $rc
}

# From the training log and summary: steps, losses, tokens/s and its model-FLOP utilisation.
training_figures() {
  local log=$work/model.safetensors.log.tsv summary rate
  if [ -e "$log" ]; then
    figure logged_steps "$(awk -F'\t' 'NR > 1 { s = $1 } END { print s }' "$log")"
    rate=$(awk -F'\t' 'NR > 1 && $6 > 0 { s += $6; n++ } END { if (n) printf "%.0f", s / n }' "$log")
    figure tokens_per_s "$rate" tokens/s
    local flops ceiling=gemm_fp32_tflops
    flops=$(figure_of train_flops_per_token)
    [ "$(figure_of precision)" = bf16 ] && ceiling=gemm_bf16_tflops
    figure "fraction_of_${ceiling%_tflops}" \
      "$(ratio "$(awk -v f="$flops" -v r="$rate" 'BEGIN { if (f != "" && r != "") print f * r / 1e12 }')" "$(figure_of "$ceiling")")"
  fi
  summary=$(grep 'validation loss' "$work/train.err" | tail -1)
  if [ -n "$summary" ]; then
    figure steps "$(sed -n 's/.*: \([0-9]*\) steps,.*/\1/p' <<< "$summary")"
    figure validation_nats_per_base "$(sed -n 's/.*validation loss \([0-9.na]*\) nats.*/\1/p' <<< "$summary")" nats
    figure validation_bits_per_base "$(sed -n 's/.*nats (\([0-9.na]*\) bits).*/\1/p' <<< "$summary")" bits
  fi
}

# Its FOCUS adapter (as the shipped default model's, docs/pretrain.md), base frozen.
stage_focus() {
  [ -e "$out/model.safetensors" ] || { echo "no trained model"; return 1; }
  local seconds steps windows=3 window=1000 k=100 memory=64 context=200 batch=32
  if [ "$dry_run" = 1 ]; then windows=2 window=40 k=10 memory=4 context=10 batch=2; fi
  seconds=$(( $(seconds_left) - eval_reserve_s ))
  [ "$seconds" -gt 10 ] || { echo "no time left for the adapter ($seconds s)"; return 1; }
  # The adapter's step runs the frozen base over windows x window bases per sequence and
  # backpropagates through its layers: taken as 4 base-model tokens per base.
  steps=$(steps_for "$seconds" "$((batch * windows * window * 4))")
  if [ "$dry_run" = 1 ]; then steps=2; fi
  local rc=0
  pretrain_run "$seconds" focus --objective clm --focus --init-from "$out/model.safetensors" --device "$device" \
    --focus-k "$k" --window "$window" --memory "$memory" --context "$context" --focus-windows "$windows" \
    --kl-weight 300 --steps "$steps" --batch-size "$batch" --lr 5e-4 --checkpoint-every "$((steps / 3 + 1))" \
    --eval-every "$((steps / 4 + 1))" --eval-windows "$eval_windows" -o "$work/focus.safetensors" \
    "$payload"/corpus/train/*.fa.gz || rc=$?
  local result
  result=$(finished_or_checkpoint "$work/focus.safetensors") || return 1
  if [ "$rc" = 124 ]; then rc=0; fi  # stopped by the timeout: its checkpoint is the result
  cp "$result" "$out/model-focus.safetensors"
  figure planned_steps "$steps"
  figure summary "$(grep 'pretrain --focus: wrote' "$work/focus.err" | tail -1 | sed 's/.*: wrote [^:]*: //')"
  return $rc
}

# Held-out bits per base: `germ eval --baseline` where it exists, else the validation loss that
# training printed; and `germ score` with the new FOCUS model over the held-out genome of the
# score stage, beside the shipped default model's figure there.
stage_eval() {
  local heldout=("$payload"/corpus/heldout/*.fa.gz) rc=0 input region
  [ -e "$out/model.safetensors" ] || { echo "no trained model"; return 1; }
  if "$germ" eval --help 2>/dev/null | grep -q -- --baseline; then
    # Bits/base of the trained LM on every held-out file, beside an order-3 Markov chain counted
    # on the packed training files (cheap to count; the full yardstick is docs/eval.md's).
    figure source "germ eval --baseline markov:3"
    timeout "$(( eval_reserve_s * 6 / 10 ))" "$germ" eval -q -m "$out/model.safetensors" --device "$device" -O tsv \
      --baseline markov:3 --baseline-train "$payload"/corpus/train/*.fa.gz -- "${heldout[@]}" \
      > "$work/eval.out" || rc=$?
    cat "$work/eval.out"
    figure eval_output "$(tr '\n' ';' < "$work/eval.out" | tr '\t' ' ')"
    figure validation_bits_per_base "$(awk -F'\t' '$1 == "total" { print $5 }' "$work/eval.out")" bits
    figure markov3_bits_per_base "$(awk -F'\t' '$1 == "total" { print $7 }' "$work/eval.out")" bits
  else
    figure source "germ pretrain validation loss (germ eval --baseline not in this germ)"
    figure validation_bits_per_base "$(figure_of validation_bits_per_base)" bits
  fi
  if [ -e "$out/model-focus.safetensors" ]; then
    heldout_input
    timeout 30 "$germ" score --device "$device" -q -m "$out/model-focus.safetensors" "${region[@]}" "$input" \
      > "$work/heldout.bedgraph"
    figure focus_score_input "$(basename "$input") ${region[*]}"
    figure focus_score_bits_per_base "$(bedgraph_bits "$work/heldout.bedgraph")" bits
    figure default_model_bits_per_base "$(figure_of score_lanes8_default_model_bits_per_base)" bits
  fi
  echo "evaluated on ${#heldout[@]} held-out files"
  return $rc
}
