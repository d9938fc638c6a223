#!/usr/bin/env bash
# The docs cannot rot: every germ command in README.md and docs/*.md names real commands and
# options (tests/cli/docs_commands.py), each command page's --help copy is current
# (scripts/update_help_in_docs.py), and the blocks marked `<!-- docs-test: run -->` run on a
# small generated genome.
. "$(dirname "$0")/lib.bash"
: "${GERM_SOURCE_DIR:?}"
mkdir -p "$WORK/bin" "$WORK/blocks" "$WORK/sandbox" && ln -s "$GERM" "$WORK/bin/germ" && export PATH="$WORK/bin:$PATH"

python3 "$GERM_SOURCE_DIR/scripts/update_help_in_docs.py" "$GERM" --check > "$WORK/help_check" 2>&1 \
  && pass "docs' --help copies are current" || fail "$(cat "$WORK/help_check")"

python3 "$GERM_SOURCE_DIR/tests/cli/docs_commands.py" "$GERM" "$GERM_SOURCE_DIR" "$WORK/blocks" > "$WORK/check" 2>&1 \
  && pass "$(tail -1 "$WORK/check")" || fail "docs commands: $(cat "$WORK/check")"
# Commands without a page of their own are reported, not failed, so that a branch adding one
# does not break this test before its page lands; its options are still checked above.
for command in $(germ --help | sed -n 's/^     \([a-z][a-z0-9_-]*\)  .*/\1/p'); do
  grep -lq "BEGIN germ $command --help" "$GERM_SOURCE_DIR"/docs/*.md \
    || echo "note: germ $command has no docs page with its options (docs/$command.md)"
done

# The checker itself must catch an unknown option, command and path, or this test proves nothing.
mkdir -p "$WORK/bad/docs"
printf '```sh\ngerm score --no-such-option x.fa\ngerm frobnicate\nbash scripts/missing.sh\n```\n' > "$WORK/bad/README.md"
python3 "$GERM_SOURCE_DIR/tests/cli/docs_commands.py" "$GERM" "$WORK/bad" "$WORK/bad" > "$WORK/bad_check" 2>&1
[ $? -eq 1 ] && [ "$(grep -c 'no option --no-such-option\|not a germ command\|does not exist' "$WORK/bad_check")" -eq 3 ] \
  && pass "checker rejects a bad option, command and path" || fail "checker: $(cat "$WORK/bad_check")"

# The runnable blocks: genome.fa is two generated contigs, test_data/ the repository's.
python3 - "$WORK/sandbox/genome.fa" <<'PY'
import random, sys
rng = random.Random(3)
with open(sys.argv[1], "w") as f:
    for name in ("chrA", "chrB"):
        s = "".join(rng.choice("ACGT") for _ in range(8000))
        f.write(f">{name}\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n")
PY
ln -s "$GERM_SOURCE_DIR/test_data" "$WORK/sandbox/test_data"
blocks=$(ls "$WORK/blocks" | wc -l)
[ "$blocks" -ge 3 ] && pass "$blocks runnable blocks" || fail "only $blocks runnable blocks found"
for script in "$WORK"/blocks/*.sh; do
  [ -e "$script" ] || continue
  origin=$(head -1 "$script" | sed 's/^# //')
  start=$SECONDS
  (cd "$WORK/sandbox" && bash -euo pipefail "$script" > "$WORK/block.out" 2>&1) \
    && pass "$origin runs ($((SECONDS - start)) s)" || fail "$origin: $(tail -c 600 "$WORK/block.out")"
done

# The bedGraph sample in docs/formats.md and docs/score.md is what the shipped model prints, to a
# stated tolerance: the last printed digit depends on the BLAS kernel (another CPU, another
# OpenBLAS core), so values must agree within 1e-4 relative, not digit by digit.
germ score -q "$GERM_SOURCE_DIR/test_data/small.fa" 2>/dev/null | head -4 > "$WORK/sample"
# page_shows PAGE N: each of the first N sample lines has a line in PAGE with the same interval
# and a value within the tolerance.
page_shows() {
  python3 - "$WORK/sample" "$GERM_SOURCE_DIR/$1" "$2" <<'PY'
import sys
sample = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[: int(sys.argv[3])]]
page = {}
for line in open(sys.argv[2]).read().splitlines():
    f = line.split("\t")
    if len(f) == 4:
        try: page[tuple(f[:3])] = float(f[3])
        except ValueError: pass
ok = len(sample) == int(sys.argv[3]) and all(
    tuple(f[:3]) in page and abs(page[tuple(f[:3])] - float(f[3])) <= 1e-4 * max(1.0, abs(float(f[3])))
    for f in sample)
sys.exit(0 if ok else 1)
PY
}
[ -s "$WORK/sample" ] && page_shows docs/formats.md 4 && page_shows docs/score.md 3 \
  && pass "bedGraph samples in the docs are current (within 1e-4)" || fail "docs' bedGraph sample is stale; now: $(cat "$WORK/sample")"
finish
