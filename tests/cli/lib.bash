# Shared helpers for CLI tests (sourced; not a test itself).
set -u
: "${GERM:?GERM must point at the germ binary}"
# The wait policy germ would set itself (src/util/runtime.cpp): given here, each model-running
# command skips its re-execution (~0.6 s of start-up, a third of some tests' time). frame.sh
# checks the path without it.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/germ-cli-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION -- command...  (stdout -> $WORK/out, stderr -> $WORK/err)
expect_exit() {
  local want=$1 what=$2; shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what (exit $got)"; else fail "$what: exit $got, wanted $want; stderr: $(head -c 400 "$WORK/err")"; fi
}

# expect_one_line_error PATTERN: stderr is exactly one line and matches PATTERN.
expect_one_line_error() {
  local lines; lines=$(grep -c '' "$WORK/err")
  [ "$lines" -eq 1 ] || { fail "stderr has $lines lines, wanted 1: $(head -c 400 "$WORK/err")"; return; }
  grep -qE "$1" "$WORK/err" && pass "error names: $1" || fail "stderr '$(cat "$WORK/err")' does not match '$1'"
}

# make_gc_task DIR SEED TEST_ROWS [labels]: a GUE-format task (train 128, dev 48, TEST_ROWS
# test rows of 80 bases) with a learnable signal: class 1 draws G/C with probability 0.65,
# class 0 with 0.35 (separable, not trivially). "labels" also writes labels.tsv naming them.
make_gc_task() {
  mkdir -p "$1"
  python3 - "$@" <<'PY'
import random, sys
out, seed, test_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
def seq(label):
    gc = 0.65 if label else 0.35
    return "".join(rng.choice("GC") if rng.random() < gc else rng.choice("AT") for _ in range(80))
for split, n in (("train", 128), ("dev", 48), ("test", test_rows)):
    with open(f"{out}/{split}.csv", "w") as f:
        f.write("sequence,label\n")
        for i in range(n):
            f.write(f"{seq(i % 2)},{i % 2}\n")
if sys.argv[4:] == ["labels"]:
    with open(f"{out}/labels.tsv", "w") as f:
        f.write("0\tat_rich\n1\tgc_rich\n")
PY
}

# compare_tracks SINGLE GATHERED TOLERANCE: two bedGraphs give values to the same bases, and
# differ by at most TOLERANCE (the scatter/gather workflows against one whole-input run).
compare_tracks() {
  local report
  report=$(python3 - "$@" <<'PY'
import sys
def per_base(path):
    values = {}
    for line in open(path):
        contig, begin, end, value = line.split("\t")
        for base in range(int(begin), int(end)):
            values[(contig, base)] = float(value)
    return values
single, gathered = per_base(sys.argv[1]), per_base(sys.argv[2])
if single.keys() != gathered.keys() or not single:
    print(f"different bases: {len(single.keys() - gathered.keys())} only in one run, "
          f"{len(gathered.keys() - single.keys())} only gathered, {len(single)} in all")
    sys.exit(1)
worst = max(abs(single[k] - gathered[k]) for k in single)
print(f"{len(single)} bases, max |gathered - single| = {worst:.3g}")
sys.exit(0 if worst <= float(sys.argv[3]) else 1)
PY
  ) && pass "gathered = one run within $3: $report" || fail "gathered vs one run: $report"
}

shared_data_or_skip() {
  [ -d "$GERM_SHARED_DATA_DIR" ] || { echo "SKIP: ../shared/data is absent ($GERM_SHARED_DATA_DIR)"; exit 77; }
}

# same_numbers A B [TOLERANCE]: the two text files have the same lines and fields, numbers equal
# within TOLERANCE x max(1, |value|) (default 1e-4): outputs of the same model computed in other
# batch shapes or with another BLAS kernel differ in the last float digits, nothing more.
same_numbers() {
  python3 - "$1" "$2" "${3:-1e-4}" <<'PY'
import re, sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
tolerance = float(sys.argv[3])
def close(x, y):
    if x == y: return True
    try: u, v = float(x), float(y)
    except ValueError: return False
    return abs(u - v) <= tolerance * max(1.0, abs(u)) or (u != u and v != v)
ok = len(a) == len(b) and all(
    len(fa) == len(fb) and all(close(x, y) for x, y in zip(fa, fb))
    for fa, fb in ((re.split(r"([\t,;=|:])", la), re.split(r"([\t,;=|:])", lb)) for la, lb in zip(a, b)))
sys.exit(0 if ok else 1)
PY
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
