# Shared helpers for CLI tests (sourced; not a test itself).
set -u
: "${GERM:?GERM must point at the germ binary}"
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

shared_data_or_skip() {
  [ -d "$GERM_SHARED_DATA_DIR" ] || { echo "SKIP: ../shared/data is absent ($GERM_SHARED_DATA_DIR)"; exit 77; }
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
