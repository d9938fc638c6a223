#!/usr/bin/env python3
"""Results of scripts/gpu_run.sh (docs/gpu.md, "One-call run").

  gpu_results.py json WORK OUT_JSON   meta.tsv, stages.tsv and figures.tsv of WORK as one JSON
  gpu_results.py layout OUT           checks OUT against the device tool's limits on what comes back

The TSV files are appended to by the stages (a stage may die at any point), so every line is
read on its own and a malformed one is skipped rather than losing the rest."""
import json
import os
import re
import sys

MAX_FILES, MAX_FILE, MAX_TOTAL, MAX_DEPTH = 8, 16 << 20, 64 << 20, 2
NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def rows(path, fields):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.count("\t") == fields - 1]


def number_or_text(value):
    if value == "":
        return None  # a figure its stage could not compute
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value else number


def results(work):
    meta = {key: number_or_text(value) for key, value in rows(f"{work}/meta.tsv", 2)}
    stages = [{"name": name, "status": status, "exit": int(code), "seconds": round(int(ms) / 1000, 1)}
              for name, status, code, ms in rows(f"{work}/stages.tsv", 4) if code.isdigit() and ms.isdigit()]
    figures = {}
    for stage, key, value, unit in rows(f"{work}/figures.tsv", 4):
        figures.setdefault(stage, {})[key] = {"value": number_or_text(value), "unit": unit}
    return {"meta": meta, "stages": stages, "figures": figures}


def layout_problems(out):
    problems, files, total = [], 0, 0
    for folder, dirs, names in os.walk(out):
        relative = os.path.relpath(folder, out)
        depth = 0 if relative == "." else relative.count(os.sep) + 1
        for name in dirs + names:
            if not NAME.match(name):
                problems.append(f"{os.path.join(relative, name)}: name outside [A-Za-z0-9._-]")
        for name in names:
            path = os.path.join(folder, name)
            if depth > MAX_DEPTH:
                problems.append(f"{os.path.relpath(path, out)}: more than {MAX_DEPTH} folders down")
            if os.path.islink(path) or not os.path.isfile(path):
                problems.append(f"{os.path.relpath(path, out)}: not a plain file")
                continue
            size = os.path.getsize(path)
            files, total = files + 1, total + size
            if size > MAX_FILE:
                problems.append(f"{os.path.relpath(path, out)}: {size} bytes, over 16 MiB")
    if files > MAX_FILES:
        problems.append(f"{files} files, over {MAX_FILES}")
    if total > MAX_TOTAL:
        problems.append(f"{total} bytes in all, over 64 MiB")
    return files, total, problems


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "json":
        temporary = sys.argv[3] + ".tmp"
        with open(temporary, "w") as f:
            json.dump(results(sys.argv[2]), f, indent=1)
        os.replace(temporary, sys.argv[3])  # a reader never sees half a file
    elif len(sys.argv) == 3 and sys.argv[1] == "layout":
        files, total, problems = layout_problems(sys.argv[2])
        print(f"{files} files, {total} bytes")
        for problem in problems:
            print(f"layout: {problem}")
        sys.exit(1 if problems else 0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
