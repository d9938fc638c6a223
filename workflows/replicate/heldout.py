#!/usr/bin/env python3
"""Writes the held-out tail of every contig (germ pretrain's --holdout-fraction rule: the last
`fraction` of each contig, cut = length - floor(length * fraction)) as FASTA on stdout.
Usage: heldout.py FRACTION FASTA..."""
import gzip
import sys


def contigs(path):
    opener = gzip.open if path.endswith(".gz") else open
    name, parts = None, []
    with opener(path, "rt") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(parts)
                name, parts = line[1:].split()[0] if line[1:].split() else "", []
            elif line:
                parts.append(line)
    if name is not None:
        yield name, "".join(parts)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    fraction = float(sys.argv[1])
    if not 0 < fraction < 1:
        sys.exit(f"heldout.py: fraction {fraction} is not in (0, 1)")
    for path in sys.argv[2:]:
        for name, seq in contigs(path):
            cut = len(seq) - int(len(seq) * fraction)
            tail = seq[cut:]
            if not tail:
                continue
            sys.stdout.write(f">{name}_heldout_{cut}\n")
            for i in range(0, len(tail), 60):
                sys.stdout.write(tail[i:i + 60] + "\n")


if __name__ == "__main__":
    main()
