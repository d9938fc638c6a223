#!/usr/bin/env bash
# germ score from the command line with the shipped default model: formats, regions, errors.
. "$(dirname "$0")/lib.bash"
DATA="$GERM_SOURCE_DIR/test_data"
FA="$DATA/small.fa"
# One line per base, so merged runs of equal values compare equal to their pieces.
per_base() { awk -F'\t' -v OFS='\t' '!/^track/ { for (p = $2; p < $3; p++) print $1, p, $4 }' "$@"; }

expect_exit 0 "score --help" -- "$GERM" score --help
grep -q "nats" "$WORK/out" && grep -q "Examples:" "$WORK/out" && pass "help states units, has examples" || fail "help incomplete"

# The main job, out of the box: no --model.
expect_exit 0 "score small.fa with the default model" -- "$GERM" score -q "$FA"
cp "$WORK/out" "$WORK/all.bg"
awk -F'\t' 'NF != 4 || $3 <= $2 || $4 > 0 { bad = 1 } END { exit bad }' "$WORK/all.bg" \
  && pass "4 columns, non-empty intervals, log-likelihoods <= 0" || fail "malformed bedGraph records"
awk -F'\t' '$1 == c && $2 < e { bad = 1 } { c = $1; e = $3 } END { exit bad }' "$WORK/all.bg" \
  && pass "records sorted, not overlapping" || fail "records overlap or are out of order"
# Every non-N base but the first of each contig has a value (merged runs of equal values count by length).
want=$(awk '/^>/ { n++; next } { gsub(/[Nn]/, ""); b += length($0) } END { print b - n }' "$FA")
got=$(awk -F'\t' '{ b += $3 - $2 } END { print b }' "$WORK/all.bg")
[ "$want" = "$got" ] && pass "covers the $want scorable bases and skips N" || fail "covers $got bases, wanted $want"
[ "$(cut -f1 "$WORK/all.bg" | uniq | tr '\n' ' ')" = "chr1 chr2 HLA-A*01:01 " ] && pass "contigs in input order" || fail "contig order"

# A region equals the same slice of the whole run.
expect_exit 0 "region" -- "$GERM" score -q -r chr1:1001-2000 "$FA"
per_base "$WORK/all.bg" | awk -F'\t' '$1 == "chr1" && $2 >= 1000 && $2 < 2000' > "$WORK/slice.pb"
per_base "$WORK/out" > "$WORK/region.pb"
same_numbers "$WORK/region.pb" "$WORK/slice.pb" \
  && pass "region = slice of the whole-contig run" || fail "region differs from the slice"

# stdin gives the same result as the file.
"$GERM" score -q - < "$FA" > "$WORK/stdin.bg" 2>"$WORK/err" && cmp -s "$WORK/stdin.bg" "$WORK/all.bg" \
  && pass "stdin = file" || fail "stdin output differs"

# bgzip + tabix, read back by the htslib tools.
expect_exit 0 "bgzip + tabix" -- "$GERM" score -q -O z -W -o "$WORK/ll.bg.gz" "$FA"
if command -v tabix >/dev/null; then
  tabix "$WORK/ll.bg.gz" chr2:101-200 > "$WORK/q.bg"
  awk -F'\t' '$1 == "chr2" && $3 > 100 && $2 < 200' "$WORK/all.bg" | cmp -s - "$WORK/q.bg" \
    && pass "tabix query returns the records of the region" || fail "tabix query differs"
  bgzip -dc "$WORK/ll.bg.gz" | cmp -s - "$WORK/all.bg" && pass "bgzip content = bedGraph" || fail "bgzip content differs"
fi

# bigWig (chrom sizes from the input); the magic number says what the file is.
expect_exit 0 "bigWig" -- "$GERM" score -q -O bigwig -o "$WORK/ll.bw" "$FA"
[ "$(od -An -tx1 -N4 "$WORK/ll.bw" | tr -d ' ')" = "26fc8f88" ] && pass "bigWig magic" || fail "not a bigWig file"

# Tracks, units and bins.
expect_exit 0 "entropy in bits, 100-base bins" -- "$GERM" score -q --track entropy --bits --bin 100 "$FA"
awk -F'\t' '$4 < 0 || $4 > 2.00001 || ($3 - $2) > 100 { bad = 1 } END { exit bad }' "$WORK/out" \
  && pass "entropy within [0, 2] bits, bins at most 100 bases" || fail "entropy or bins out of range"
expect_exit 0 "track line" -- "$GERM" score -q --track-line -r chr1:1-50 "$FA"
head -1 "$WORK/out" | grep -q '^track type=bedGraph' && pass "track line first" || fail "no track line"

# Errors: one line naming the file or option, non-zero exit, no output left behind.
expect_exit 1 "missing input" -- "$GERM" score -o "$WORK/x.bg" "$WORK/nope.fa"
expect_one_line_error "^germ score: .*nope.fa"
[ ! -e "$WORK/x.bg" ] && pass "no output after an error" || fail "partial output left behind"
expect_exit 1 "corrupt model" -- "$GERM" score -m "$DATA/garbage.bin" "$FA"
expect_one_line_error "model is corrupted"
expect_exit 1 "bigWig to stdout" -- "$GERM" score -O bigwig "$FA"
expect_one_line_error "bigWig"
expect_exit 1 "unknown contig" -- "$GERM" score -r chrZ:1-10 "$FA"
expect_one_line_error "chrZ"
expect_exit 1 "window not a multiple of k" -- "$GERM" score --focus-k 30 --window 100 "$FA"
expect_one_line_error "^germ score: --window"
expect_exit 1 "binary input" -- "$GERM" score -o "$WORK/y.bg" "$DATA/garbage.bin"
expect_one_line_error "garbage.bin"
[ ! -e "$WORK/y.bg" ] && pass "no output after bad input" || fail "partial output left behind"
for bad in empty.fa truncated.fa.gz truncated_plain.fa.gz bad_char.fa; do
  expect_exit 1 "bad input $bad" -- "$GERM" score -o "$WORK/z.bg" "$DATA/$bad"
  expect_one_line_error "^germ score: .*$bad: "
  [ ! -e "$WORK/z.bg" ] && pass "no output for $bad" || fail "output left behind for $bad"
done
finish
