#!/usr/bin/env bash
# workflows/replicate end to end on the shared data with the quick grid and tiny counts: every
# cell of every table is filled, the quick profile's job list is the documented grid, a rerun has
# nothing to do, and an absent data folder is exit 2 with one line.
. "$(dirname "$0")/lib.bash"
: "${GERM_SOURCE_DIR:?}"
RUN="$GERM_SOURCE_DIR/workflows/replicate/run.sh"
command -v snakemake >/dev/null || { echo "SKIP: snakemake is not installed (scripts/install_dependencies.sh installs it)"; exit 77; }

GERM_DATA="$WORK/nowhere" expect_exit 2 "absent data folder" -- "$RUN" --quick --outdir "$WORK/x"
expect_one_line_error "nowhere/genomes: no such folder"
shared_data_or_skip
export GERM GERM_DATA="$GERM_SHARED_DATA_DIR"

# The quick profile's grid (dry run): 36 fine-tunes, 108 PTQ cells, 3 pretrained + 36 fine-tuned stats.
expect_exit 0 "quick profile dry run" -- "$RUN" --quick --outdir "$WORK/quick" -n
python3 - "$WORK/out" <<'PY' && pass "quick grid: 4 pretrain, 36 finetune, 108 quantize jobs" || fail "quick job counts: $(grep -E 'pretrain|finetune|quantize' "$WORK/out")"
import re, sys
counts = dict(re.findall(r"^(\w+)\s+(\d+)", open(sys.argv[1]).read(), re.M))
want = {"pretrain_from_scratch": "2", "pretrain_continue": "2", "finetune": "36", "eval_finetuned": "36",
        "stats_finetuned": "36", "quantize": "108", "stats_encoder": "3", "report": "1"}
assert all(counts.get(k) == v for k, v in want.items()), counts
PY

# Rates: a number (the quick profile's published rates) is passed as given; `default` (the full
# profile) passes no --lr, so germ's width rule applies. The dry runs print their commands.
commands=$(grep -E "germ (pretrain|finetune) " "$WORK/out")
grep -q -- "--method full --lr 0.001 " <<< "$commands" && grep -q -- "--method lora --lr 0.003 " <<< "$commands" \
  && grep -q -- "pretrain .* --lr 0.001 " <<< "$commands" && pass "quick profile: its rates passed as given" \
  || fail "quick profile rates: $(head -c 300 <<< "$commands")"
expect_exit 0 "full profile dry run" -- "$RUN" --full --outdir "$WORK/full" -n
commands=$(grep -E "germ (pretrain|finetune) " "$WORK/out")
[ -n "$commands" ] && ! grep -q -- "--lr" <<< "$commands" && pass "full profile: rates left to germ's defaults" \
  || fail "full profile rates: $(grep -m2 -- '--lr' <<< "$commands")"

OUTDIR="$WORK/smoke"
CORES=2 "$RUN" --quick --configfile "$GERM_SOURCE_DIR/tests/cli/replicate_smoke.yaml" --outdir "$OUTDIR" --quiet \
  > "$WORK/run.log" 2>&1 && pass "smoke run finished" || fail "smoke run: $(grep -iE -m3 -A3 'error' "$WORK/run.log")"

python3 - "$OUTDIR/results.json" "$OUTDIR/results.md" <<'PY' && pass "every cell of the tables is filled" || fail "results incomplete"
import json, math, sys
r = json.load(open(sys.argv[1]))
md = open(sys.argv[2]).read()
models = ("vanilla", "germ", "germ_t")
methods = ("full", "lora", "qlora", "loftq")
qmethods = ("minmax", "smoothquant", "outlier-suppression", "omniquant")
bits = ("w8a8", "w6a6", "w4a4")
finite = lambda x: isinstance(x, (int, float)) and math.isfinite(x)
for m in models:
    e = r["encoders"][m]
    assert finite(e["average_kurtosis"]) and e["average_kurtosis"] >= 1, (m, e)  # kurtosis >= 1 always
    assert finite(e["max_inf_norm"]) and e["max_inf_norm"] > 0, (m, e)
    assert finite(e["validation_loss"]), (m, e)
    for f in methods:
        c = r["table1"][f"{m}.{f}"]
        assert finite(c["mcc"]) and -100 <= c["mcc"] <= 100 and finite(c["kurtosis"]) and finite(c["inf_norm"]), (m, f, c)
    full = r["table1"][f"{m}.full"]["mcc"]
    for q in qmethods:
        for b in bits:
            c = r["table3"][f"{m}.full.{q}.{b}"]
            assert finite(c["mcc"]), (m, q, b, c)
            # A drop is "—" only where the unquantized MCC is about zero.
            assert finite(c["drop"]) or abs(full) < 5, (m, q, b, c, full)
assert set(r["goals"]) == {"kurtosis_reduction", "inf_norm_reduction", "w8a8_minmax_drop", "w4a4_best_drop", "lora_drop"}
for section in ("## Goals", "## Table 1", "## Table 3", "## Outliers of the pretrained encoders"):
    assert section in md, section
rows = [l for l in md.splitlines() if l.startswith("| ")]
assert sum(l.count(" W4A4 | OmniQuant ") for l in rows) == 3, "Table 3 rows"
assert sum(1 for l in rows if " | LoftQ | " in l) == 3, "Table 1 rows"
PY
grep -q "profile \*\*smoke\*\*" "$OUTDIR/results.md" && pass "report names its profile" || fail "profile line: $(head -3 "$OUTDIR/results.md")"

expect_exit 0 "rerun" -- "$RUN" --quick --configfile "$GERM_SOURCE_DIR/tests/cli/replicate_smoke.yaml" --outdir "$OUTDIR" -n
grep -q "Nothing to be done" "$WORK/out" "$WORK/err" && pass "a finished run has nothing to redo" || fail "rerun would redo: $(tail -5 "$WORK/out")"
finish
