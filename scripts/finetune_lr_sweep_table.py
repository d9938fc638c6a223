#!/usr/bin/env python3
"""Markdown table of a finetune_lr_sweep.sh output folder: per task, encoder and method, the mean
test MCC over seeds of the default rate, of --lr auto (with the rates it chose) and of each swept
rate; the best swept rate; and whether default / auto reach 90% of the best (the acceptance rule
of docs/finetune.md). Usage: finetune_lr_sweep_table.py OUT_DIR "1e-4 3e-4 ..." """
import collections
import json
import pathlib
import re
import statistics
import sys

out = pathlib.Path(sys.argv[1])
lrs = sys.argv[2].split()
mcc = collections.defaultdict(list)     # (encoder, task, method, lr) -> [mcc per seed]
chosen = collections.defaultdict(list)  # (encoder, task, method) -> [auto rate per seed]
for result in sorted(out.glob("*.test.json")):
    encoder, task, method, seed, lr = re.fullmatch(r"(.+)\.([^.]+)\.(\w+)\.s(\d+)\.(.+)\.test", result.stem).groups()
    mcc[encoder, task, method, lr].append(json.loads(result.read_text())["mcc"])
    if lr == "auto":
        match = re.search(r"lr ([0-9.e+-]+) \(range test", (out / f"{result.name[:-10]}.log").read_text())
        chosen[encoder, task, method].append(match.group(1) if match else "?")


def mean(values):
    return f"{statistics.mean(values):.3f}" if values else "—"


print("| task | encoder | method | default | auto (rates) | " + " | ".join(f"lr {lr}" for lr in lrs) +
      " | best | default ≥ 90% | auto ≥ 90% |")
print("|---|---|---|---|---|" + "---|" * len(lrs) + "---|---|---|")
for encoder, task, method in sorted({key[:3] for key in mcc}, key=lambda k: (k[1], k[0], k[2])):
    swept = {lr: mcc.get((encoder, task, method, lr), []) for lr in lrs}
    best = max((statistics.mean(v) for v in swept.values() if v), default=float("nan"))
    default, auto = mcc.get((encoder, task, method, "default"), []), mcc.get((encoder, task, method, "auto"), [])

    def reaches(values):
        return "—" if not values else ("yes" if statistics.mean(values) >= 0.9 * best else "no")

    print(f"| {task} | {encoder} | {method} | {mean(default)} | {mean(auto)} ({', '.join(chosen[encoder, task, method])}) | "
          + " | ".join(mean(v) for v in swept.values()) + f" | {best:.3f} | {reaches(default)} | {reaches(auto)} |")
