#!/usr/bin/env bash
# README command 1: install dependencies, build, and run germ's main job — per-base
# log-likelihoods from the shipped default model (models/germ-focus-default.safetensors) —
# on the FASTA the project generates in test_data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
bash scripts/build.sh
out=${GERM_QUICKSTART_DIR:-build/quickstart}
mkdir -p "$out"
build/germ --version
build/germ score -v test_data/small.fa > "$out/small.ll.bedgraph"
echo "quickstart: per-base log-likelihoods (nats) in $out/small.ll.bedgraph; first records:"
head -n 3 "$out/small.ll.bedgraph"
