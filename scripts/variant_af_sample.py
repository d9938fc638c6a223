#!/usr/bin/env python3
"""Draws a reproducible sample of rare (AF < 0.001) and common (AF > 0.05) biallelic sites from
a VCF for the GERM_LLR sanity check (docs/score_variants.md). Writes a sorted, uncompressed VCF.

    variant_af_sample.py IN.vcf.gz PER_CLASS SEED > sample.vcf
"""
import gzip
import random
import sys


def allele_frequency(info):
    for field in info.split(";"):
        if field.startswith("AF="):
            values = field[3:].split(",")
            return float(values[0]) if len(values) == 1 else None
    return None


def main():
    path, per_class, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    header, rare, common = [], [], []
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as vcf:
        for line in vcf:
            if line.startswith("#"):
                header.append(line)
                continue
            fields = line.split("\t", 8)
            af = allele_frequency(fields[7])
            if af is None:
                continue
            if af < 0.001:
                rare.append(line)
            elif af > 0.05:
                common.append(line)
    rng = random.Random(seed)
    chosen = rng.sample(rare, min(per_class, len(rare))) + rng.sample(common, min(per_class, len(common)))
    chosen.sort(key=lambda line: int(line.split("\t", 2)[1]))
    sys.stdout.writelines(header + chosen)


if __name__ == "__main__":
    main()
