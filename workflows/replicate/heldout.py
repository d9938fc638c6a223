#!/usr/bin/env python3
"""Writes the held-out tail of every contig (germ pretrain's --holdout-fraction rule: the last
`fraction` of each contig, cut = length - floor(length * fraction)) as FASTA on stdout.
Usage: heldout.py FRACTION FASTA...   (plain FASTA, read as scripts/make_tasks.py reads it)"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from make_tasks import InputError, read_fasta  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    fraction = float(sys.argv[1])
    if not 0 < fraction < 1:
        sys.exit(f"heldout.py: fraction {fraction} is not in (0, 1)")
    try:
        genomes = [read_fasta(path) for path in sys.argv[2:]]
    except InputError as error:
        sys.exit(f"heldout.py: {error}")
    for records in genomes:
        for name, seq in records:
            cut = len(seq) - int(len(seq) * fraction)
            tail = seq[cut:]
            if not tail:
                continue
            sys.stdout.write(f">{name}_heldout_{cut}\n")
            for i in range(0, len(tail), 60):
                sys.stdout.write(tail[i:i + 60] + "\n")


if __name__ == "__main__":
    main()
