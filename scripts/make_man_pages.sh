#!/usr/bin/env bash
# Writes germ.1 and germ-<command>.1 into OUTDIR with help2man, from the same --help text the
# commands print (CMake target `man`; installed under share/man/man1). The command list is read
# from `germ --help`, so a new command gets its page without changes here.
# Usage: scripts/make_man_pages.sh path/to/germ OUTDIR
set -euo pipefail
germ=$(readlink -f "$1")
out=$2
command -v help2man >/dev/null || { echo "make_man_pages.sh: help2man is not installed" >&2; exit 1; }
mkdir -p "$out"
version=$("$germ" --version | sed 's/^germ //')
wrappers=$(mktemp -d)
trap 'rm -rf "$wrappers"' EXIT
# help2man names a page after the program it runs: one wrapper per command, germ-<command>.
printf '#!/bin/sh\nexec "%s" "$@"\n' "$germ" > "$wrappers/germ"
chmod +x "$wrappers/germ"
help2man -N --version-string="$version" -n "genomic foundation models on the command line" \
  -o "$out/germ.1" "$wrappers/germ"
"$germ" --help | sed -n 's/^     \([a-z][a-z0-9_-]*\)  *\(.*\)$/\1\t\2/p' |
  while IFS=$'\t' read -r command summary; do
    printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$germ" "$command" > "$wrappers/germ-$command"
    chmod +x "$wrappers/germ-$command"
    help2man -N --version-string="$version" -n "$summary" -o "$out/germ-$command.1" "$wrappers/germ-$command"
  done
