#!/usr/bin/env bash
# germ bigwig: a bedGraph (plain or bgzip, with track lines) becomes a bigWig; malformed and
# unsorted records are one-line errors that leave no file.
. "$(dirname "$0")/lib.bash"
printf '>c1\n%s\n>c2\n%s\n' "$(printf 'ACGT%.0s' $(seq 50))" "$(printf 'GGCA%.0s' $(seq 25))" > "$WORK/ref.fa"
printf 'track type=bedGraph\nc1\t0\t10\t-1.5\nc1\t10\t20\t-1.5\nc2\t5\t6\t0.25\n' > "$WORK/ok.bedgraph"
bgzip -c "$WORK/ok.bedgraph" > "$WORK/ok.bedgraph.gz"
for input in ok.bedgraph ok.bedgraph.gz; do
  expect_exit 0 "bigwig from $input" -- "$GERM" bigwig --ref "$WORK/ref.fa" -o "$WORK/$input.bw" "$WORK/$input"
  [ "$(head -c 4 "$WORK/$input.bw" | od -An -tx4 | tr -d ' ')" = 888ffc26 ] && pass "$input.bw is a bigWig" || fail "$input.bw"
done
cmp -s "$WORK/ok.bedgraph.bw" "$WORK/ok.bedgraph.gz.bw" && pass "plain and bgzip input give the same file" \
  || fail "plain and bgzip bigWigs differ"

printf 'c1\t0\t10\n' > "$WORK/short.bedgraph"
expect_exit 1 "3 columns" -- "$GERM" bigwig --ref "$WORK/ref.fa" -o "$WORK/bad.bw" "$WORK/short.bedgraph"
expect_one_line_error 'short.bedgraph:1: a bedGraph record has 4 tab-separated columns'
printf 'c1\t0\t10\tx\n' > "$WORK/value.bedgraph"
expect_exit 1 "value not a number" -- "$GERM" bigwig --ref "$WORK/ref.fa" -o "$WORK/bad.bw" "$WORK/value.bedgraph"
expect_one_line_error "value.bedgraph:1: value 'x' is not a number"
printf 'c2\t0\t1\t1\nc1\t0\t1\t1\n' > "$WORK/order.bedgraph"
expect_exit 1 "contigs out of .fai order" -- "$GERM" bigwig --ref "$WORK/ref.fa" -o "$WORK/bad.bw" "$WORK/order.bedgraph"
[ ! -e "$WORK/bad.bw" ] && pass "no output left behind" || fail "a failed run left bad.bw"
finish
