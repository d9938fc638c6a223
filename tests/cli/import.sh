#!/usr/bin/env bash
# germ import of a Hugging Face DNABERT-2 checkpoint (the PyTorch fixture of tests/hf), then the
# imported model in the other commands: stats, GERM-T continuation, LoRA fine-tuning, W8A8,
# and an imported classifier in predict; refusals are one-line errors with no output file.
. "$(dirname "$0")/lib.bash"
python=""
for candidate in python3 /usr/bin/python3; do
  "$candidate" -c 'import torch' 2>/dev/null && { python=$candidate; break; }
done
[ -n "$python" ] || { echo "SKIP: python3 with torch (Debian python3-torch) is not installed"; exit 77; }
HF="$WORK/hf"
"$python" "$GERM_SOURCE_DIR/tests/hf/make_dnabert2_checkpoint.py" "$HF" >/dev/null || fail "fixture script"
FA="$GERM_SOURCE_DIR/test_data/small.fa"
TASK="$WORK/task"
make_gc_task "$TASK" 7 32

expect_exit 0 "import the MLM checkpoint" -- "$GERM" import "$HF/mlm" -o "$WORK/dnabert2.safetensors"
grep -q "encoder-mlm, 2 layers x 72, .* 250 tokens (240 merges)" "$WORK/err" && pass "import summary" || fail "summary: $(cat "$WORK/err")"
expect_exit 0 "stats -m on the imported model" -- "$GERM" stats -m "$WORK/dnabert2.safetensors"
grep -q "hf-bpe" "$WORK/out" && pass "stats names the hf-bpe tokenizer" || fail "stats: $(head -c 600 "$WORK/out")"

# GERM-T: the official (here: fixture) softmax checkpoint continued with Softmax_1.
expect_exit 0 "GERM-T from the imported model" -- "$GERM" pretrain -q -@ 2 --objective mlm \
  --init-from "$WORK/dnabert2.safetensors" --attention softmax1 --steps 2 --batch-size 4 --seq-len 64 \
  -o "$WORK/germ_t.safetensors" "$FA"
"$GERM" stats -m "$WORK/germ_t.safetensors" >"$WORK/out" 2>&1
grep -q "softmax1" "$WORK/out" && grep -q "hf-bpe" "$WORK/out" && pass "GERM-T keeps the tokenizer, uses softmax1" \
  || fail "GERM-T stats: $(head -c 600 "$WORK/out")"

expect_exit 0 "LoRA fine-tune of GERM-T" -- "$GERM" finetune -q -@ 2 --method lora --base "$WORK/germ_t.safetensors" \
  --data "$TASK" --epochs 1 --batch-size 16 -o "$WORK/lora.safetensors"
expect_exit 0 "W8A8 SmoothQuant of the fine-tuned model" -- "$GERM" quantize -q -@ 2 -m "$WORK/lora.safetensors" \
  --method smoothquant --bits w8a8 --calib "$TASK" --calib-size 16 -o "$WORK/w8a8.safetensors"
expect_exit 0 "eval the W8A8 model" -- "$GERM" eval -m "$WORK/w8a8.safetensors" --data "$TASK" -O json

expect_exit 0 "import the classifier checkpoint" -- "$GERM" import -q "$HF/classifier" -o "$WORK/cls.safetensors"
expect_exit 0 "predict with the imported classifier" -- "$GERM" predict -m "$WORK/cls.safetensors" "$TASK/test.csv"
head -1 "$WORK/out" | grep -q "p_promoter	p_enhancer	p_background" && pass "class names from id2label" \
  || fail "predict header: $(head -1 "$WORK/out")"

expect_exit 0 "score --class with the imported classifier" -- "$GERM" score -m "$WORK/cls.safetensors" --class enhancer \
  --window 100 --stride 50 "$FA"
awk 'NF == 4 && $4 >= 0 && $4 <= 1' "$WORK/out" | grep -q . && pass "probability track" || fail "track: $(head -3 "$WORK/out")"

# Refusals: one line naming the file, and no output.
mkdir -p "$WORK/pickle" && cp "$HF/mlm/config.json" "$HF/mlm/tokenizer.json" "$WORK/pickle/"
printf 'PK\003\004' >"$WORK/pickle/pytorch_model.bin"
expect_exit 1 "pytorch_model.bin only" -- "$GERM" import "$WORK/pickle" -o "$WORK/refused.safetensors"
expect_one_line_error "^germ import: .*pickle/pytorch_model.bin: pickle checkpoints are not read.*convert it to model.safetensors"
cp "$HF/classifier/model.safetensors" "$WORK/pickle/model.safetensors"
sed 's/"intermediate_size": 96/"intermediate_size": 80/' "$HF/mlm/config.json" >"$WORK/pickle/config.json"
expect_exit 1 "shapes that contradict config.json" -- "$GERM" import "$WORK/pickle" --non-strict -o "$WORK/refused.safetensors"
expect_one_line_error "^germ import: .*model.safetensors: model is corrupted: tensor '.*' has shape \[.*\], config.json implies"
expect_exit 1 "missing directory" -- "$GERM" import "$WORK/absent" -o "$WORK/refused.safetensors"
expect_one_line_error "^germ import: .*absent: is not a directory"
[ ! -e "$WORK/refused.safetensors" ] && pass "no output after refusals" || fail "a refused import left an output file"
finish
