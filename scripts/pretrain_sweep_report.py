#!/usr/bin/env python3
"""Steps for a FLOP budget, and the table + SVG plot of a compute-matched pretraining sweep.

  pretrain_sweep_report.py --steps CONFIG.json SEQ_LEN TOKENS_PER_STEP FLOPS   -> "steps flops_per_token"
  pretrain_sweep_report.py OUT_DIR   -> markdown table on stdout, OUT_DIR/sweep.svg
  pretrain_sweep_report.py OUT_DIR OUT_DIR... -> one table of every run; FIRST_DIR/sweep.svg joins each
      shape's end-of-run points across the budgets (one sweep directory per budget)

Training FLOPs per token = 3 x (2 x matrix weights + layers x 4 x seq_len x hidden): forward and
backward (x3) of every matrix product plus Q.K^T and P.V over the whole window (germ computes the
full L x L scores), as bench/bench_train.cpp's train_flops_per_token.
"""
import csv
import glob
import json
import math
import os
import re
import sys


def flops_per_token(config, seq_len):
    d, inter, layers, vocab = config["hidden"], config["intermediate"], config["layers"], config["vocab"]
    ffn_in = 2 * inter if config.get("ffn", "geglu") == "geglu" else inter
    matrix = layers * (4 * d * d + d * ffn_in + inter * d) + d * vocab
    return 3 * (2 * matrix + layers * 4 * seq_len * d)


def steps_for_budget(config_path, seq_len, tokens_per_step, flops):
    with open(config_path) as f:
        per_token = flops_per_token(json.load(f), int(seq_len))
    steps = max(1, round(float(flops) / (per_token * int(tokens_per_step))))
    print(steps, per_token)


def read_run(out, name):
    with open(os.path.join(out, name + ".flops_per_token")) as f:
        per_token, tokens_per_step = (float(x) for x in f.read().split())
    rows = list(csv.DictReader(open(os.path.join(out, name + ".safetensors.log.tsv")), delimiter="\t"))
    rows = [r for r in rows if r.get("validation_loss") not in (None, "", "nan")]
    files = [k[: -len("_bits_per_base")] for k in rows[0] if k.endswith("_bits_per_base")]
    params = ""
    err = open(os.path.join(out, name + ".err")).read()
    m = re.search(r"(\d+) parameters", err)
    if m:
        params = int(m.group(1))
    points = [(int(r["step"]) * tokens_per_step * per_token, float(r["validation_loss"]) / math.log(2),
               {f: float(r[f + "_bits_per_base"]) for f in files}) for r in rows]
    return {"name": name, "params": params, "per_token": per_token, "tokens_per_step": tokens_per_step,
            "steps": int(rows[-1]["step"]), "files": files, "points": points}


def svg_plot(runs, path):
    width, height, left, bottom, top, right = 640, 400, 70, 50, 20, 190
    xs = [p[0] for r in runs for p in r["points"]]
    ys = [p[1] for r in runs for p in r["points"]]
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = min(ys) - 0.01, max(ys) + 0.01
    sx = lambda x: left + (math.log10(x) - x0) / max(x1 - x0, 1e-9) * (width - left - right)
    sy = lambda y: height - bottom - (y - y0) / max(y1 - y0, 1e-9) * (height - bottom - top)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">training FLOPs (log scale)</text>',
           f'<text x="16" y="{(top + height - bottom) / 2}" transform="rotate(-90 16 {(top + height - bottom) / 2})" '
           f'text-anchor="middle">held-out bits/base (all files)</text>']
    for e in range(math.floor(x0), math.ceil(x1) + 1):
        if x0 - 1e-9 <= e <= x1 + 1e-9:
            out.append(f'<text x="{sx(10 ** e):.1f}" y="{height - bottom + 16}" text-anchor="middle">1e{e}</text>')
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
    for i, r in enumerate(runs):
        c = colours[i % len(colours)]
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in r["points"])
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 8}" y="{top + 16 + 18 * i}" fill="{c}">{r["name"]}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def report(outs):
    runs = []
    for out in outs:
        names = sorted(os.path.basename(p)[: -len(".flops_per_token")] for p in glob.glob(os.path.join(out, "*.flops_per_token")))
        runs += [read_run(out, n) for n in names]
    if not runs:
        sys.exit(f"pretrain_sweep_report: no finished runs in {' '.join(outs)}")
    runs.sort(key=lambda r: (r["name"], r["points"][-1][0]))
    files = runs[0]["files"]
    print("| shape | parameters | FLOP/token | steps x tokens | training FLOPs | "
          + " | ".join(files) + " | all files |")
    print("|---|---:|---:|---:|---:|" + "---:|" * (len(files) + 1))
    for r in runs:
        x, y, per_file = r["points"][-1]
        print(f"| {r['name']} | {r['params']:,} | {r['per_token'] / 1e6:.1f} M | {r['steps']} x {int(r['tokens_per_step'])} "
              f"| {x:.2e} | " + " | ".join(f"{per_file[f]:.4f}" for f in files) + f" | **{y:.4f}** |")
    if len(outs) > 1:
        # Compute-matched: each run is finished (decayed) only at its end, so a shape's curve
        # joins its end points across budgets.
        shapes = {}
        for r in runs:
            shapes.setdefault(r["name"], {"name": r["name"], "points": []})["points"].append(r["points"][-1])
        plotted = list(shapes.values())
    else:
        plotted = runs
    svg_plot(plotted, os.path.join(outs[0], "sweep.svg"))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--steps":
        steps_for_budget(*sys.argv[2:])
    elif len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        report(sys.argv[1:])
    else:
        sys.exit(__doc__)
