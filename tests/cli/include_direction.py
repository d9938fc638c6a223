#!/usr/bin/env python3
"""The flow enforced: every `#include "..."` under src/ and cli/ must follow the allowed-includes
table of docs/architecture.md (section "Allowed includes"). Usage: include_direction.py ROOT
Prints one line per forbidden edge (file:line folder -> folder) and exits 1 if there is any."""
import os
import re
import sys

root = sys.argv[1]


def allowed_matrix(doc_path):
    """{folder: set of folders it may include}, from the table rows `| `src/x/` | `a`, `b` |`."""
    text = open(doc_path, encoding="utf-8").read()
    section = text.split("## Allowed includes", 1)
    if len(section) < 2:
        sys.exit(f"{doc_path}: no '## Allowed includes' section")
    matrix = {}
    for line in section[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        folder = cells[0].strip("`").rstrip("/").split("/")[-1]
        matrix[folder] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return matrix


def folder_of(path):
    """'src/score/x.cpp' -> 'score'; 'cli/x.cpp' -> 'cli'."""
    parts = os.path.relpath(path, root).split(os.sep)
    return parts[1] if parts[0] == "src" else parts[0]


def included_folder(including_file, name):
    if name.startswith("germ/"):
        return "generated"  # configure_file output (version.hpp), part of util's ground floor
    if name.startswith(".") or "/" not in name:  # relative to the including file
        resolved = os.path.normpath(os.path.join(os.path.dirname(including_file), name))
        return folder_of(resolved)
    return name.split("/")[0]


matrix = allowed_matrix(os.path.join(root, "docs", "architecture.md"))
violations, edges = [], 0
for top in ("src", "cli"):
    for directory, _, files in os.walk(os.path.join(root, top)):
        for file in sorted(files):
            if not file.endswith((".cpp", ".hpp", ".h", ".cu", ".cuh")):
                continue
            path = os.path.join(directory, file)
            source = folder_of(path)
            if source not in matrix:
                violations.append(f"{os.path.relpath(path, root)}: folder '{source}' has no row in docs/architecture.md")
                continue
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                match = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not match:
                    continue
                target = included_folder(path, match.group(1))
                edges += 1
                if target != source and target not in matrix[source]:
                    violations.append(f"{os.path.relpath(path, root)}:{number}: {source} -> {target} ({match.group(1)})")
for v in violations:
    print(v)
print(f"{edges} includes checked, {len(violations)} against the allowed folder matrix")
sys.exit(1 if violations else 0)
