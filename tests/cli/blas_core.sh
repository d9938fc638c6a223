#!/usr/bin/env bash
# The OpenBLAS core germ runs with (util/blas_core.hpp, docs/troubleshooting.md): forced when the
# library fell back to a generic core, verified by a GEMM check with a fallback, a user's choice
# respected, and reported by `germ --version --verbose`. The "detected" core and a failed check
# are simulated (GERM_TEST_BLAS_*), so every path runs on any machine.
. "$(dirname "$0")/lib.bash"
: "${GERM_SOURCE_DIR:?}"
unset OPENBLAS_CORETYPE GERM_OPENBLAS_FORCED GERM_OPENBLAS_DETECTED GERM_OPENBLAS_REJECTED
report() { "$GERM" --version --verbose 2>"$WORK/err"; }
core_line() { report | sed -n 's/^BLAS core //p'; }

line=$(core_line)
[ -n "$line" ] || { echo "SKIP: the BLAS is not OpenBLAS"; exit 77; }
report | grep -q '^machine: CPU .* | BLAS .*core .* | threads: ' && pass "machine line names CPU, BLAS core, threads" \
  || fail "machine line: $(report | head -3)"
cores=$(report | sed -n 's/^BLAS cores this CPU can run: //p')
best=${cores##* }
echo "runnable cores: $cores; this run: $line"

# The plain run: OpenBLAS's own choice unless it ranks below the best core (then germ's choice).
case "$line" in
  *"(detected by OpenBLAS)"|*"(set by germ; OpenBLAS detected "*) pass "plain run: $line" ;;
  *) fail "plain run reports '$line'" ;;
esac

if [ "$best" = PRESCOTT ]; then
  echo "note: this CPU has no AVX; no faster core to force"
else
  # OpenBLAS 'detected' the generic core: germ forces the best one and says so.
  line=$(GERM_TEST_BLAS_DETECTED=Prescott core_line)
  shopt -s nocasematch
  [[ "$line" == "$best (set by germ; OpenBLAS detected Prescott)" ]] && pass "generic core replaced: $line" \
    || fail "forced core: '$line', wanted $best set by germ"
  shopt -u nocasematch
  [ ! -s "$WORK/err" ] && pass "a sound forced core is silent" || fail "stderr: $(cat "$WORK/err")"

  # The forced core fails the GEMM check: one warning, the detected core, and germ still works.
  GERM_TEST_BLAS_DETECTED=Prescott GERM_TEST_BLAS_GEMM_FAILS=1 \
    "$GERM" score -q -o "$WORK/fallback.bedgraph" "$GERM_SOURCE_DIR/test_data/small.fa" 2>"$WORK/err"
  [ $? -eq 0 ] && [ -s "$WORK/fallback.bedgraph" ] && pass "score runs after a rejected core" || fail "score after rejection failed"
  [ "$(grep -c 'failed germ.s GEMM check' "$WORK/err")" -eq 1 ] && [ "$(grep -c '' "$WORK/err")" -eq 1 ] \
    && pass "one warning line names the rejected core" || fail "warning: $(cat "$WORK/err")"
  line=$(GERM_TEST_BLAS_DETECTED=Prescott GERM_TEST_BLAS_GEMM_FAILS=1 core_line)
  [[ "$line" == *"(detected; germ's choice $best failed its GEMM check)" ]] && pass "report after rejection: $line" \
    || fail "report after rejection: '$line'"

  # Scores under the forced core equal the plain run's within float tolerance.
  "$GERM" score -q -o "$WORK/plain.bedgraph" "$GERM_SOURCE_DIR/test_data/small.fa"
  GERM_TEST_BLAS_DETECTED=Prescott "$GERM" score -q -o "$WORK/forced.bedgraph" "$GERM_SOURCE_DIR/test_data/small.fa"
  compare_tracks "$WORK/plain.bedgraph" "$WORK/forced.bedgraph" 1e-4
fi

# A user's OPENBLAS_CORETYPE is never overridden, even where germ would choose another.
line=$(OPENBLAS_CORETYPE=PRESCOTT GERM_TEST_BLAS_DETECTED=Prescott core_line)
[ "$line" = "Prescott (OPENBLAS_CORETYPE=PRESCOTT set by the user)" ] && pass "user's core kept: $line" \
  || fail "user's core: '$line'"
finish
