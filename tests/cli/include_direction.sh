#!/usr/bin/env bash
# Data flows one way (docs/architecture.md, "Allowed includes"): every #include under src/ and
# cli/ must be an edge of the allowed folder matrix, and the checker must catch one that is not.
. "$(dirname "$0")/lib.bash"
: "${GERM_SOURCE_DIR:?}"
check="$(dirname "$0")/include_direction.py"
python3 "$check" "$GERM_SOURCE_DIR" > "$WORK/report" 2>&1 \
  && pass "$(tail -1 "$WORK/report")" || fail "include direction: $(cat "$WORK/report")"

# A copy with one edge pointing the wrong way (util -> score) must fail, naming file and edge.
mkdir -p "$WORK/tree/src/util" "$WORK/tree/src/score" "$WORK/tree/cli" "$WORK/tree/docs"
cp "$GERM_SOURCE_DIR/docs/architecture.md" "$WORK/tree/docs/"
printf '#include "score/x.hpp"\n#include "util/y.hpp"\n' > "$WORK/tree/src/util/bad.cpp"
printf '#include "util/y.hpp"\n' > "$WORK/tree/src/score/good.cpp"
python3 "$check" "$WORK/tree" > "$WORK/bad" 2>&1
[ $? -eq 1 ] && grep -q 'src/util/bad.cpp:1: util -> score' "$WORK/bad" && [ "$(grep -c ' -> ' "$WORK/bad")" -eq 1 ] \
  && pass "checker rejects util -> score and nothing else" || fail "checker: $(cat "$WORK/bad")"
finish
