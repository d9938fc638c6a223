#!/usr/bin/env python3
"""GERM_LLR of rare (AF < 0.001) against common (AF > 0.05) variants in a scored VCF: the two
means and a two-sided Mann-Whitney U test (normal approximation with tie correction), all
variants and SNVs alone, as a Markdown table (docs/score_variants.md). Standard library only.

    variant_af_check.py scored.vcf[.gz] [FIELD]

FIELD: the INFO field to compare (default GERM_LLR; GERM_SITE_LLR for --llr site).
"""
import gzip
import math
import sys


def info_fields(info):
    return dict(field.split("=", 1) if "=" in field else (field, "") for field in info.split(";"))


def read_scored(path, field):
    rows = []  # (class, is_snv, llr)
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as vcf:
        for line in vcf:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            ref, alts, info = fields[3], fields[4].split(","), info_fields(fields[7])
            if len(alts) != 1 or "AF" not in info or field not in info:
                continue
            af, llr = float(info["AF"]), info[field]
            if llr == ".":
                continue
            kind = "rare" if af < 0.001 else "common" if af > 0.05 else None
            if kind:
                rows.append((kind, len(ref) == 1 and len(alts[0]) == 1, float(llr)))
    return rows


def mann_whitney(a, b):
    """U of sample a and the two-sided p-value (normal approximation, tie-corrected)."""
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    n = len(pooled)
    rank_sum_a, ties, i = 0.0, 0.0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum_a += mean_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    n1, n2 = len(a), len(b)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (u - n1 * n2 / 2) / sigma
    return u, z, math.erfc(abs(z) / math.sqrt(2))


def main():
    field = sys.argv[2] if len(sys.argv) > 2 else "GERM_LLR"
    rows = read_scored(sys.argv[1], field)
    print(f"| variants | n rare | n common | mean {field} rare | mean {field} common | Mann-Whitney U | z | two-sided p |")
    print("|---|---|---|---|---|---|---|---|")
    for label, keep in (("all biallelic", lambda snv: True), ("SNVs", lambda snv: snv)):
        rare = [llr for kind, snv, llr in rows if kind == "rare" and keep(snv)]
        common = [llr for kind, snv, llr in rows if kind == "common" and keep(snv)]
        if not rare or not common:
            continue
        u, z, p = mann_whitney(rare, common)
        print(f"| {label} | {len(rare)} | {len(common)} | {sum(rare) / len(rare):.4f} | "
              f"{sum(common) / len(common):.4f} | {u:.0f} | {z:.2f} | {p:.3g} |")


if __name__ == "__main__":
    main()
