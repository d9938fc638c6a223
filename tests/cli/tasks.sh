#!/usr/bin/env bash
# scripts/make_tasks.py on the shared data: GUE format, labels, lengths, leak-free positional splits,
# determinism, and a clean skip when the data are absent.
. "$(dirname "$0")/lib.bash"
SCRIPT="$GERM_SOURCE_DIR/scripts/make_tasks.py"
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

expect_exit 2 "absent data folder: exit 2 so callers can skip" -- python3 "$SCRIPT" --data "$WORK/nope" --out "$WORK/x"
expect_one_line_error "data folder not found: .*nope"
expect_exit 1 "unknown task family" -- python3 "$SCRIPT" --tasks frobnicate --out "$WORK/x"
expect_one_line_error "frobnicate"
shared_data_or_skip

# A FASTA that is not FASTA is named in a one-line error.
mkdir -p "$WORK/bad/genomes" && cp -rs "$GERM_SHARED_DATA_DIR"/genomes/. "$WORK/bad/genomes/"
rm "$WORK/bad/genomes/lambda_phage.fa" && echo "ACGT" > "$WORK/bad/genomes/lambda_phage.fa"
expect_exit 1 "headerless FASTA" -- python3 "$SCRIPT" --data "$WORK/bad" --lengths 200 --tasks genome_source --out "$WORK/x"
expect_one_line_error "lambda_phage.fa:1: .*header"

run() { python3 "$SCRIPT" --data "$GERM_SHARED_DATA_DIR" --lengths 200 --out "$1" 2>"$WORK/summary"; }
run "$WORK/a" && pass "make_tasks.py ran" || fail "make_tasks.py failed: $(head -c 400 "$WORK/summary")"
grep -q "^yeast_cds_strand .*test" "$WORK/summary" && pass "summary table on stderr" || fail "no summary table"
run "$WORK/b" && diff -r "$WORK/a" "$WORK/b" >/dev/null && pass "two runs give identical files" || fail "output not deterministic"

# Reverse complement of each line (awk, not rev: rev is not in every base image).
revcomp() { tr ACGT TGCA | awk '{ r = ""; for (i = length($0); i > 0; i--) r = r substr($0, i, 1); print r }'; }
for task in genome_source_200 yeast_coding yeast_cds_strand; do
  dir="$WORK/a/$task" failures_before=$failures
  length=$(sed -n 's/^ *"window_length": \([0-9]*\),$/\1/p' "$dir/task.json")
  classes=$(($(grep -c '' "$dir/labels.tsv") - 1))
  [ -n "$length" ] && [ "$classes" -ge 2 ] || { fail "$task: no window_length or labels"; continue; }
  for split in train dev test; do
    csv="$dir/$split.csv"
    [ "$(head -1 "$csv")" = "sequence,label" ] || fail "$task/$split: header"
    awk -F, -v L="$length" -v K="$classes" 'NR > 1 && (NF != 2 || length($1) != L || $1 !~ /^[ACGT]+$/ || $2 !~ /^[0-9]+$/ || $2 >= K) { bad = 1 } END { exit bad }' "$csv" \
      || fail "$task/$split: a row is not $length ACGT bases with a label in 0..$((classes - 1))"
    # Balanced: every class has the same count.
    [ "$(tail -n +2 "$csv" | cut -d, -f2 | sort | uniq -c | awk '{ print $1 }' | sort -u | grep -c '')" -eq 1 ] \
      || fail "$task/$split: classes not balanced"
    [ "$(grep -c '' "$dir/$split.positions.tsv")" -eq "$(grep -c '' "$csv")" ] || fail "$task/$split: positions rows != CSV rows"
    tail -n +2 "$csv" | cut -d, -f1 | sort -u > "$WORK/$split.seq"
  done
  # No held-out sequence appears in train (or in dev), on either strand.
  for pair in "train test" "train dev" "dev test"; do
    set -- $pair
    { cat "$WORK/$1.seq"; revcomp < "$WORK/$1.seq"; } | sort -u > "$WORK/both.seq"
    [ -z "$(comm -12 "$WORK/both.seq" "$WORK/$2.seq" | head -1)" ] || fail "$task: a $2 sequence is also in $1"
  done
  # No base is in two splits: swept in start order per contig, a window must start at or after
  # the end of every earlier window of another split.
  for split in train dev test; do tail -n +2 "$dir/$split.positions.tsv" | awk -F'\t' -v s=$split -v OFS='\t' '{ print $1 "|" $2, $3, $4, s }'; done |
    sort -t$'\t' -k1,1 -k2,2n |
    awk -F'\t' '$1 != contig { contig = $1; delete end_of }
      { for (s in end_of) if (s != $4 && end_of[s] > $2) { print $1, s, $4, $2; bad = 1 }
        if ($3 > end_of[$4]) end_of[$4] = $3 }
      END { exit bad }' > "$WORK/overlap" || fail "$task: a base is in two splits: $(head -1 "$WORK/overlap")"
  [ "$failures" -eq "$failures_before" ] && pass "$task: format, lengths, labels, balance, no leaked sequences, disjoint splits"
done
finish
