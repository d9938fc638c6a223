#!/usr/bin/env bash
# README command 1: install dependencies, build, and run germ's main job on shipped data.
# Until `germ score` and its shipped default model land, the main job is a short pretraining
# run of a tiny causal DNA LM on the generated FASTA in test_data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
bash scripts/build.sh
out=${GERM_QUICKSTART_DIR:-build/quickstart}
mkdir -p "$out"
build/germ --version
build/germ pretrain --objective clm --size tiny --steps 60 --batch-size 8 --seq-len 128 \
  --eval-every 20 -o "$out/tiny_clm.safetensors" test_data/small.fa
echo "quickstart: model written to $out/tiny_clm.safetensors (training log: $out/tiny_clm.safetensors.log.tsv)"
