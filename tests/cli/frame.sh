#!/usr/bin/env bash
# The command frame: help, version, unknown commands, exit codes, stdout errors.
. "$(dirname "$0")/lib.bash"

expect_exit 1 "no arguments prints usage and fails" -- "$GERM"
grep -q "Usage:   germ <command>" "$WORK/err" && pass "usage on stderr" || fail "usage not on stderr"

expect_exit 0 "--help" -- "$GERM" --help
for command in pretrain finetune eval predict quantize score stats; do
  grep -qE "^ +$command " "$WORK/out" || fail "--help does not list $command"
done

expect_exit 0 "--version" -- "$GERM" --version
grep -qxE 'germ [0-9]+\.[0-9]+\.[0-9]+' "$WORK/out" && pass "version line parseable" || fail "version line: $(cat "$WORK/out")"
[ "$(grep -c '' "$WORK/out")" -eq 1 ] || fail "--version prints more than one line"

expect_exit 0 "--version --verbose" -- "$GERM" --version --verbose
for lib in LibTorch htslib SentencePiece oneTBB BLAS machine: CPU oneDNN; do
  grep -q "^$lib " "$WORK/out" || fail "--version --verbose lacks $lib"
done
# Without OMP_WAIT_POLICY germ sets PASSIVE and re-executes itself before the libraries load
# (lib.bash sets it for the other tests, which saves that re-execution per command); a user's
# own value is kept.
expect_exit 0 "wait policy chosen by germ" -- env -u OMP_WAIT_POLICY -u GERM_OMP_WAIT_POLICY_SET "$GERM" --version --verbose
grep -q "^OpenMP wait policy PASSIVE (set by germ)$" "$WORK/out" && pass "germ sets OMP_WAIT_POLICY=PASSIVE" \
  || fail "wait policy: $(grep -i wait "$WORK/out")"
expect_exit 0 "user's wait policy" -- env OMP_WAIT_POLICY=ACTIVE "$GERM" --version --verbose
grep -q "^OpenMP wait policy ACTIVE (OMP_WAIT_POLICY set by the user)$" "$WORK/out" && pass "a user's OMP_WAIT_POLICY is kept" \
  || fail "user's wait policy: $(grep -i wait "$WORK/out")"

expect_exit 1 "unknown command" -- "$GERM" frobnicate
expect_one_line_error "germ: unknown command 'frobnicate'"

for command in pretrain finetune eval predict quantize score stats; do
  expect_exit 0 "$command --help" -- "$GERM" "$command" --help
  grep -q -- "--threads" "$WORK/out" || fail "$command --help lacks --threads"
done

# `germ help CMD` prints exactly what `germ CMD --help` prints (bcftools' convention).
"$GERM" score --help > "$WORK/direct"
expect_exit 0 "help score" -- "$GERM" help score
cmp -s "$WORK/out" "$WORK/direct" && pass "germ help score = germ score --help" || fail "germ help score differs"
expect_exit 1 "help for an unknown command" -- "$GERM" help frobnicate
expect_one_line_error "germ help: unknown command 'frobnicate'"

expect_exit 1 "unknown option" -- "$GERM" stats --no-such-option
expect_one_line_error "^germ stats: .*no-such-option"

if [ -w /dev/full ]; then
  expect_exit 1 "stdout on a full disk is reported" -- sh -c "\"$GERM\" --version >/dev/full"
fi
finish
