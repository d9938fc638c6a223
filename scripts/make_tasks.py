#!/usr/bin/env python3
"""Builds GUE-format classification tasks (train/dev/test.csv) from the real data in ../shared/data.

Tasks (see docs/tasks.md):
  genome_source_<L>  which genome a fragment comes from: E. coli, yeast, human, phage, mitochondrion
  yeast_coding       yeast chrI windows inside a CDS (1) or outside every annotated feature (0)
  yeast_cds_strand   yeast chrI windows inside a CDS, read on the forward strand: gene on + (1) or - (0)

Splits are positional: the first 80% of each contig is train, the next 10% dev, the last 10% test,
and a window belongs to a split only when it lies wholly inside that split's span, so no two
splits share a base. Standard library only; the same inputs, seed and Python give identical files.

    python3 scripts/make_tasks.py [--data DIR] [--out DIR] [--lengths 200,500] [--tasks a,b] [--seed 42]

Exit status: 0 done, 1 bad input or option (one line naming the file), 2 data folder absent.
"""
import argparse
import json
import os
import random
import re
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLITS = ("train", "dev", "test")
TASK_FAMILIES = ("genome_source", "yeast_coding", "yeast_cds_strand")
ACGT_RUN = re.compile(r"[ACGT]+")
COMPLEMENT = str.maketrans("ACGT", "TGCA")

ECOLI = "genomes/ecoli_K12_MG1655_500kb.fa"
YEAST = "genomes/yeast_S288C_chrI.fa"
YEAST_GFF = "annotation/yeast_S288C_chrI.gff"
HUMAN = ("genomes/human_GRCh37_chr22_20-21Mb.fa", "genomes/human_GRCh37_chr20_1-2Mb.fa")
LAMBDA = "genomes/lambda_phage.fa"
PHIX_FAMILY = ("genomes/phiX174.fa", "genomes/phiX174_like_rokyta2006.fa",
               "genomes/phiX174_like_wichman2005.fa")
MITOCHONDRIA = ("genomes/human_chrM.fa", "genomes/orangutan_chrM.fa")
# The GFF's ##sequence-region pragma calls chromosome I "I"; the FASTA (and this GFF's feature
# rows) call it "chr01". Both names map to the FASTA contig; any other seqid is an error.
YEAST_GFF_SEQIDS = {"I": "chr01", "chr01": "chr01"}
# Annotation types that are not features of the sequence itself.
GFF_NON_FEATURES = {"chromosome", "region", "supercontig"}


class InputError(Exception):
    """A problem with an input file; the message names it."""


# --- reading --------------------------------------------------------------------------------
def read_fasta(path):
    """[(name, sequence)] with bases upper-cased: soft-masking is not a cue for these tasks."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    records = []
    with open(path, encoding="ascii", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if line.startswith(">"):
                records.append(((line[1:].split() or [""])[0], []))
            elif line:
                if not records:
                    raise InputError(f"{path}:{number}: sequence before the first '>' header (not FASTA?)")
                records[-1][1].append(line.upper())
    records = [(name, "".join(parts)) for name, parts in records]
    if not records or not any(seq for _, seq in records):
        raise InputError(f"{path}: no FASTA records with sequence")
    if len({name for name, _ in records}) != len(records):
        raise InputError(f"{path}: duplicate record names")
    return records


def read_gff_features(path, contig_length):
    """[(start, end, strand, type, dubious)] 0-based half-open, for the yeast chrI FASTA contig.
    `dubious` marks the gene and CDS rows of ORFs that SGD calls "Dubious" (unlikely to encode a
    protein): they are no evidence of coding sequence or of a gene's strand."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    features, dubious = [], set()
    with open(path, encoding="ascii", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 9:
                raise InputError(f"{path}:{number}: {len(fields)} tab-separated columns, GFF3 has 9")
            seqid, kind, start, end, strand = fields[0], fields[2], fields[3], fields[4], fields[6]
            if seqid not in YEAST_GFF_SEQIDS:
                raise InputError(f"{path}:{number}: seqid '{seqid}' is not yeast chromosome I")
            if not (start.isdigit() and end.isdigit()) or not 1 <= int(start) <= int(end) <= contig_length:
                raise InputError(f"{path}:{number}: bad coordinates {start}-{end} for a {contig_length} bp contig")
            attributes = dict(a.split("=", 1) for a in fields[8].split(";") if "=" in a)
            name = attributes.get("ID", "").split(":", 1)[-1]  # gene:YAL069W, CDS:YAL069W
            if kind == "gene" and attributes.get("description", "").startswith("Dubious"):
                dubious.add(name)
            if kind not in GFF_NON_FEATURES:
                features.append((int(start) - 1, int(end), strand, kind, name))
    if not any(kind == "CDS" for *_, kind, _ in features):
        raise InputError(f"{path}: no CDS features")
    return [(s, e, st, kind, kind in ("gene", "CDS") and name in dubious) for s, e, st, kind, name in features]


# --- intervals (sorted lists of disjoint half-open (start, end)) -----------------------------
def merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(intervals, removed):
    """Parts of merged `intervals` not covered by merged `removed`."""
    result = []
    for start, end in intervals:
        for cut_start, cut_end in removed:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                result.append((start, cut_start))
            start = max(start, cut_end)
        if start < end:
            result.append((start, end))
    return result


def positional_split(intervals):
    """Sorted disjoint intervals cut 80/10/10 by cumulative length in genome order: split ->
    [(start, end)]. For a whole contig, [(0, length)], this is the per-contig rule."""
    total = sum(end - start for start, end in intervals)
    bounds = {"train": (0, total * 8 // 10), "dev": (total * 8 // 10, total * 9 // 10),
              "test": (total * 9 // 10, total)}
    spans, offset = {split: [] for split in SPLITS}, 0
    for start, end in intervals:
        for split, (low, high) in bounds.items():
            first, last = max(low, offset), min(high, offset + end - start)
            if first < last:
                spans[split].append((start + first - offset, start + last - offset))
        offset += end - start
    return spans


def regions_in_spans(source, contig, sequence, allowed, spans):
    """Regions (source, contig, split, start, end): the ACGT runs of `allowed` inside each split's
    spans. Windows are tiled inside a region, so none holds an N or crosses a split boundary."""
    regions = []
    for split, pieces in spans.items():
        for span_start, span_end in pieces:
            for start, end in allowed:
                start, end = max(start, span_start), min(end, span_end)
                if start < end:
                    regions += [(source, contig, split, run.start(), run.end())
                                for run in ACGT_RUN.finditer(sequence, start, end)]
    return regions


def record_split(records, seed):
    """Whole records to splits: shuffled with the seed, then cut 80/10/10 by count (>= 1 dev, test)."""
    order = sorted(records)
    random.Random(f"{seed}/records").shuffle(order)
    held_out = max(1, round(len(order) / 10))
    return dict(zip(order, ["dev"] * held_out + ["test"] * held_out + ["train"] * len(order)))


# --- windows --------------------------------------------------------------------------------
def reverse_complement(sequence):
    return sequence.translate(COMPLEMENT)[::-1]


def canonical(sequence):
    """One key for a sequence and its reverse complement."""
    return min(sequence, reverse_complement(sequence))


def tile(regions, length, step, split=None):
    """Windows (source, contig, split, start, end) tiled from each region's start."""
    return [(source, contig, region_split, start, start + length)
            for source, contig, region_split, region_start, region_end in regions
            if split is None or region_split == split
            for start in range(region_start, region_end - length + 1, step)]


def choose_step(regions, length, sequences, min_test):
    """L (non-overlapping) unless the class would have fewer than `min_test` distinct test windows;
    then the largest smaller step that reaches it, down to L/20. Overlap stays within a split."""
    floor = max(1, length // 20)
    step = length
    while step > floor and len({canonical(sequences[w[:2]][w[3]:w[4]])
                                for w in tile(regions, length, step, "test")}) < min_test:
        step -= 1
    return step


def build_task(spec, class_regions, sequences, args):
    """Tiles, de-duplicates, balances and writes one task (`spec`: its task.json fields so far);
    returns its counts for the summary."""
    labels, length = spec["labels"], spec["window_length"]
    rng = random.Random(f"{args.seed}/{spec['task']}")
    steps, by_split = [], {split: [[] for _ in labels] for split in SPLITS}
    for label, regions in enumerate(class_regions):
        steps.append(choose_step(regions, length, sequences, args.min_test))
        for window in tile(regions, length, steps[-1]):
            by_split[window[2]][label].append(window)
    # An identical sequence (either strand) in two splits would leak: keep it in the held-out
    # split that comes first (test, then dev) and drop it from the rest, and within a split.
    seen, dropped = set(), 0
    for split in ("test", "dev", "train"):
        for windows in by_split[split]:
            kept = []
            for window in windows:
                key = canonical(sequences[window[:2]][window[3]:window[4]])
                if key in seen:
                    dropped += 1
                    continue
                seen.add(key)
                kept.append(window)
            windows[:] = kept
    available = {split: [len(w) for w in by_split[split]] for split in SPLITS}
    rows, per_class = {}, {}
    for split in SPLITS:
        per_class[split] = min(available[split])
        if per_class[split] == 0:
            empty = labels[available[split].index(0)]
            raise InputError(f"task {spec['task']}: class '{empty}' has no {length} bp windows in {split}")
        rows[split] = []
        for label, windows in enumerate(by_split[split]):
            chosen = rng.sample(windows, per_class[split])
            flipped = set(rng.sample(range(len(chosen)), len(chosen) // 2)) if spec["random_strand"] else ()
            rows[split] += [(window, label, "-" if i in flipped else "+") for i, window in enumerate(chosen)]
        rng.shuffle(rows[split])
    info = dict(spec, seed=args.seed, step_by_class=dict(zip(labels, steps)),
                class_counts={split: dict.fromkeys(labels, per_class[split]) for split in SPLITS},
                available_before_balancing={split: dict(zip(labels, available[split])) for split in SPLITS},
                duplicates_dropped=dropped)
    write_task(info, rows, sequences, os.path.join(args.out, spec["task"]))
    return {split: (per_class[split], available[split]) for split in SPLITS}


def write_task(info, rows, sequences, final_directory):
    """Writes into a temporary folder renamed at the end: a task folder is complete or absent."""
    directory = final_directory + ".germ-tmp.partial"
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for split in SPLITS:
        with open(os.path.join(directory, f"{split}.csv"), "w", newline="\n") as csv, \
                open(os.path.join(directory, f"{split}.positions.tsv"), "w", newline="\n") as tsv:
            csv.write("sequence,label\n")
            tsv.write("source\tcontig\tstart\tend\tstrand\tlabel\n")
            for (source, contig, _, start, end), label, strand in rows[split]:
                bases = sequences[(source, contig)][start:end]
                csv.write(f"{bases if strand == '+' else reverse_complement(bases)},{label}\n")
                tsv.write(f"{source}\t{contig}\t{start}\t{end}\t{strand}\t{label}\n")
    labels = info["labels"]
    with open(os.path.join(directory, "labels.tsv"), "w", newline="\n") as handle:
        handle.write("label\tname\n" + "".join(f"{i}\t{name}\n" for i, name in enumerate(labels)))
    with open(os.path.join(directory, "task.json"), "w", newline="\n") as handle:
        handle.write(json.dumps(info, indent=2) + "\n")
    lines = [f"# {info['task']}", "", info["description"], "",
             f"Window length: {info['window_length']} bp. Seed: {info['seed']}.", "",
             "| label | class | step | train | dev | test | available before balancing (train/dev/test) |",
             "|---|---|---|---|---|---|---|"]
    for label, name in enumerate(labels):
        counts = " | ".join(str(info["class_counts"][split][name]) for split in SPLITS)
        before = "/".join(str(info["available_before_balancing"][split][name]) for split in SPLITS)
        lines.append(f"| {label} | {name} | {info['step_by_class'][name]} | {counts} | {before} |")
    lines += ["", f"Split rule: {info['split_rule']}.", "",
              f"Exact duplicates dropped (either strand; the held-out copy kept): {info['duplicates_dropped']}.",
              "", "Sources (relative to the shared data folder):", ""] + [f"- {s}" for s in info["sources"]]
    lines += ["", "Notes:", ""] + [f"- {n}" for n in info["notes"]] + [
        "", "Files: train/dev/test.csv (rows shuffled), <split>.positions.tsv (the same rows in the same "
        "order: source file, contig, 0-based start, end, strand read, label), labels.tsv, task.json.", ""]
    with open(os.path.join(directory, "README.md"), "w", newline="\n") as handle:
        handle.write("\n".join(lines))
    shutil.rmtree(final_directory, ignore_errors=True)
    os.rename(directory, final_directory)


# --- the tasks ------------------------------------------------------------------------------
CONTIG_SPLIT_RULE = ("positional per contig: the first 80% of its length is train, the next 10% dev, "
                     "the last 10% test; a window belongs to a split only if it lies wholly inside "
                     "that split's span")
CLASS_SPLIT_RULE = ("positional per class: each class's territory on the contig (sorted, disjoint "
                    "intervals; the classes share no base) is cut 80/10/10 by cumulative length in "
                    "genome order; a window belongs to a split only if it lies wholly inside one "
                    "of that split's pieces")
RANDOM_STRAND_NOTE = ("windows are reverse-complemented for a seeded half of each class in each "
                      "split, so strand is not a cue (positions.tsv says which)")


def task_spec(name, description, labels, length, sources, notes, random_strand=True,
              split_rule=CONTIG_SPLIT_RULE):
    return {"task": name, "description": description, "format": "GUE CSV: sequence,label",
            "window_length": length, "labels": labels, "split_rule": split_rule,
            "random_strand": random_strand, "sources": sources, "notes": notes}


def load(data, paths, sequences):
    """Reads FASTA files into `sequences` keyed (source, contig); returns the keys in order."""
    keys = []
    for path in paths:
        for contig, sequence in read_fasta(os.path.join(data, path)):
            sequences[(path, contig)] = sequence
            keys.append((path, contig))
    return keys


def whole_contig_regions(keys, sequences, split_of=None):
    """Regions of whole contigs: split by position, or each wholly into `split_of[key]`."""
    regions = []
    for key in keys:
        whole = [(0, len(sequences[key]))]
        spans = {split_of[key]: whole} if split_of else positional_split(whole)
        regions += regions_in_spans(*key, sequences[key], whole, spans)
    return regions


def genome_source_tasks(args, lengths):
    sequences = {}
    positional = {"ecoli": [ECOLI], "yeast": [YEAST], "human": list(HUMAN), "phage": [LAMBDA],
                  "mitochondrion": list(MITOCHONDRIA)}
    class_regions = {name: whole_contig_regions(load(args.data, paths, sequences), sequences)
                     for name, paths in positional.items()}
    phix_keys = load(args.data, PHIX_FAMILY, sequences)
    if args.phage_split == "position":
        class_regions["phage"] += whole_contig_regions(phix_keys, sequences)
        phage_note = (f"phiX174 and the {len(phix_keys) - 1} phiX174-like genomes are collinear (same "
                      "start, ~5.4 kb, 40-98% of phiX174's 20-mers shared), so each record is split "
                      "by position like any contig: homologous regions fall in the same split")
    else:
        class_regions["phage"] += whole_contig_regions(phix_keys, sequences, record_split(phix_keys, args.seed))
        phage_note = ("phiX174 and the phiX174-like collections are split by record (shuffled with the "
                      "seed, cut 80/10/10 by count); these genomes are near-identical, so test records "
                      "have close relatives in train")
    sources = [ECOLI, YEAST, *HUMAN, LAMBDA, *PHIX_FAMILY, *MITOCHONDRIA]
    notes = [phage_note, RANDOM_STRAND_NOTE,
             "a class whose test split would hold fewer than --min-test distinct windows gets a step "
             "below L (overlapping windows, within a split only); see step_by_class",
             "the human regions carry no soft-masking, so no repeat/non-repeat task can be built from them"]
    results = {}
    for length in lengths:
        spec = task_spec(f"genome_source_{length}", f"Source genome of a {length} bp fragment (5 classes).",
                         list(class_regions), length, sources, notes)
        results[spec["task"]] = build_task(spec, list(class_regions.values()), sequences, args)
    return results


def yeast_tasks(args, families):
    if not {"yeast_coding", "yeast_cds_strand"} & set(families):
        return {}
    sequences = {}
    keys = load(args.data, [YEAST], sequences)
    key = (YEAST, "chr01")
    if key not in sequences:
        raise InputError(f"{os.path.join(args.data, YEAST)}: no contig 'chr01' (has {keys[0][1]})")
    sequence = sequences[key]
    features = read_gff_features(os.path.join(args.data, YEAST_GFF), len(sequence))
    spans = positional_split([(0, len(sequence))])
    # Positives lie inside one CDS (not a union of overlapping ones, which would mix frames).
    cds = [(s, e, strand) for s, e, strand, kind, dubious in features if kind == "CDS" and not dubious]
    annotated = merge((s, e) for s, e, *_ in features)
    length, results = args.yeast_length, {}
    sources = [YEAST, YEAST_GFF]
    notes = ["the GFF names chromosome I 'I' in its ##sequence-region pragma while the FASTA contig is "
             "'chr01' (as are this GFF's feature rows); the script maps both seqids to 'chr01' "
             "explicitly and rejects any other",
             "GFF coordinates (1-based inclusive) are converted to 0-based half-open",
             "CDSs of ORFs that SGD calls 'Dubious' are not positives (nor, in the strand task, "
             "evidence of a strand), but no label-0 window overlaps them"]
    if "yeast_coding" in families:
        intergenic = subtract([(0, len(sequence))], annotated)
        coding = [(s, e) for s, e, _ in cds]
        regions = [regions_in_spans(*key, sequence, allowed, spans) for allowed in (intergenic, coding)]
        spec = task_spec("yeast_coding", f"Yeast chrI {length} bp windows wholly inside one CDS (1) or "
                         "wholly outside every annotated feature - gene, mRNA, exon, CDS, tRNA, ncRNA, "
                         "snoRNA, pseudogene, transposable element (0).", ["noncoding", "coding"],
                         length, sources, notes + [RANDOM_STRAND_NOTE])
        results["yeast_coding"] = build_task(spec, regions, sequences, args)
    if "yeast_cds_strand" in families:
        # A window counts only where no real feature (a CDS, tRNA, ncRNA, transposon...: not the
        # gene/mRNA/exon rows that repeat a CDS) on the other strand overlaps: one label per base.
        real = [f for f in features if f[3] not in ("gene", "mRNA", "exon") and not f[4]]
        on_strand = {strand: merge((s, e) for s, e, st, *_ in real if st == strand) for strand in "+-"}
        strand_cds = {strand: [piece for s, e, st in cds if st == strand
                               for piece in subtract([(s, e)], on_strand[other])]
                      for strand, other in (("+", "-"), ("-", "+"))}
        # Per-contig spans would leave no minus-strand gene in dev or test (the right arm of chrI
        # holds only dubious ones), so each class's own territory is cut 80/10/10 in genome order.
        # The classes share no base, so no base is in two splits either.
        regions = [regions_in_spans(*key, sequence, strand_cds[strand],
                                    positional_split(merge(strand_cds[strand])))
                   for strand in "-+"]
        spec = task_spec("yeast_cds_strand", f"Yeast chrI {length} bp windows wholly inside one CDS, "
                         "read on the forward genome strand: gene on the + strand (1) or the - strand (0).",
                         ["minus_strand_gene", "plus_strand_gene"], length, sources,
                         notes + ["windows are always the forward genome strand (no reverse "
                                  "complement): the codon/strand signal is the task",
                                  "the per-contig split rule would leave no minus-strand gene in dev or "
                                  "test: the last 20% of chrI holds only dubious ones"],
                         random_strand=False, split_rule=CLASS_SPLIT_RULE)
        results["yeast_cds_strand"] = build_task(spec, regions, sequences, args)
    return results


def print_summary(results):
    print(f"{'task':<20} {'split':<6} {'per class':>9}  available before balancing", file=sys.stderr)
    for task, splits in results.items():
        for split, (per_class, available) in splits.items():
            print(f"{task:<20} {split:<6} {per_class:>9}  {' '.join(map(str, available))}", file=sys.stderr)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 1: exit 2 is reserved for "no data, skip"
        sys.exit(f"make_tasks.py: {message}")


def main():
    parser = Parser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"),
                        help="the shared data folder (default: <repo>/../shared/data)")
    parser.add_argument("--out", default=os.path.join(REPO, "build", "tasks"),
                        help="output folder, one sub-folder a task (default: <repo>/build/tasks)")
    parser.add_argument("--lengths", default="200,500", help="genome_source window lengths")
    parser.add_argument("--yeast-length", type=int, default=200, help="yeast task window length")
    parser.add_argument("--tasks", default=",".join(TASK_FAMILIES), help="comma-separated task families")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-test", type=int, default=50,
                        help="fewer distinct test windows than this make a class overlap its windows")
    parser.add_argument("--phage-split", choices=("position", "record"), default="position",
                        help="how the phiX174 family is split (default: by position in each record)")
    args = parser.parse_args()
    try:
        lengths = [int(x) for x in args.lengths.split(",")]
    except ValueError:
        parser.error(f"--lengths '{args.lengths}' is not a comma-separated list of integers")
    families = args.tasks.split(",")
    unknown = [f for f in families if f not in TASK_FAMILIES]
    if unknown:
        parser.error(f"--tasks: unknown task '{unknown[0]}' (known: {', '.join(TASK_FAMILIES)})")
    if min(lengths + [args.yeast_length]) < 1 or args.min_test < 0:
        parser.error("window lengths must be positive and --min-test non-negative")
    if not os.path.isdir(args.data):
        print(f"make_tasks.py: data folder not found: {args.data} (nothing to build)", file=sys.stderr)
        return 2
    try:
        results = genome_source_tasks(args, lengths) if "genome_source" in families else {}
        results.update(yeast_tasks(args, families))
    except InputError as error:
        sys.exit(f"make_tasks.py: {error}")
    print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
