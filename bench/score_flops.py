#!/usr/bin/env python3
"""Useful model FLOPs per base scored by `germ score` (FOCUS), from a model file's own geometry
and config: linear layers over the context, window and focus tokens, causal attention over the
memory and the window, the focus tokens' attention, and the output head. Used by
bench/score_bench.sh and scripts/gpu_run.sh (model-FLOP utilisation).
Usage: score_flops.py MODEL.safetensors"""
import json
import struct
import sys

with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    meta = json.loads(f.read(n))["__metadata__"]
c, g = json.loads(meta["germ.config"]), json.loads(meta["germ.focus"])
d, L, I, V = c["hidden"], c["layers"], c["intermediate"], c["vocab"]
k, W, M, C = g["k"], g["window"], g["memory"], g["context"]
T, n = C + W, W // k
ffn_in = 2 * I if c.get("ffn", "geglu") == "geglu" else I
per_token = 2 * L * (3 * d * d + d * d + d * ffn_in + I * d)       # linear layers
raw_attention = sum(4 * d * L * (M - 1 + i + 1) for i in range(T))  # causal keys + memory, QK and PV
focus_attention = n * 4 * d * L * (k + 1)
total = (T + n) * per_token + raw_attention + focus_attention + W * 2 * d * V
print(total / W)
