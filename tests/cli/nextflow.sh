#!/usr/bin/env bash
# workflows/nextflow: Nextflow cannot be installed here, so every process's script and stub
# block is rendered (tests/cli/nextflow_script.py) and run with bash, chained as main.nf
# chains them; the gathered track must equal one whole-input run. Also `germ --version` as
# the modules' versions.yml reads it.
. "$(dirname "$0")/lib.bash"
: "${GERM_SOURCE_DIR:?}"
NF="$GERM_SOURCE_DIR/workflows/nextflow"
RENDER="python3 $GERM_SOURCE_DIR/tests/cli/nextflow_script.py"
TOLERANCE=1e-4  # docs/workflows.md
mkdir -p "$WORK/bin" && ln -s "$GERM" "$WORK/bin/germ" && export PATH="$WORK/bin:$PATH"

# nf-core modules read the version with one sed; it must be one line, "germ X.Y.Z".
version_line=$(germ --version)
version=$(germ --version | sed 's/^germ //')
[[ "$version_line" == "germ $version" && "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  && pass "germ --version | sed 's/^germ //' = $version" || fail "version output '$version_line'"

python3 - "$WORK" <<'PY'
import random, sys
rng = random.Random(5)
with open(f"{sys.argv[1]}/genome.fa", "w") as f:
    for name, n in (("ctg1", 6000), ("ctg2", 2000)):
        s = "".join(rng.choice("ACGT") for _ in range(n))
        f.write(f">{name}\n" + "\n".join(s[i:i + 60] for i in range(0, n, 60)) + "\n")
PY
samtools faidx "$WORK/genome.fa" || fail "faidx"

# run_block DIR FILE PROCESS script|stub NAME=VALUE...: stage DIR, render the block, run it there.
run_block() {
  local dir=$1 file=$2 process=$3 section=$4; shift 4
  mkdir -p "$dir"
  $RENDER "$NF/$file" "$process" "$section" "task.process=$process" "$@" > "$dir/.command.sh" \
    || { fail "$process $section: cannot render"; return 1; }
  (cd "$dir" && bash -euo pipefail .command.sh > .command.log 2>&1) \
    || { fail "$process $section failed: $(tail -c 400 "$dir/.command.log")"; return 1; }
}

# versions.yml as the module writes it: the process name, then germ's version, indented.
check_versions() {
  printf '"%s":\n    germ: %s\n' "$2" "$version" | cmp -s - "$1/versions.yml" \
    && pass "$2 versions.yml" || fail "$2 versions.yml: $(cat "$1/versions.yml" 2>&1)"
}

run_block "$WORK/chunks" main.nf CHUNK_REGIONS script params.chunk_size=4000 projectDir="$NF" \
  fai="$WORK/genome.fa.fai" && [ "$(wc -l < "$WORK/chunks/chunks.tsv")" -eq 3 ] \
  && pass "CHUNK_REGIONS: 3 chunks" || fail "CHUNK_REGIONS: $(cat "$WORK/chunks/chunks.tsv" 2>&1)"

# A small FOCUS geometry (ext.args), as in tests/cli/snakemake.sh: 200-base windows, 8 memory
# states, a 2 kb segment grid, so that chunks of 4 kb are cheap and still warmed up.
GRID="--window 200 --memory 8 --segment 10"
mkdir -p "$WORK/gather/chunks"
while IFS=$'\t' read -r number region; do
  dir="$WORK/score_$number"
  run_block "$dir" modules/local/germ/score/main.nf GERM_SCORE script model_option= region="$region" \
    task.cpus=1 args="$GRID" prefix="genome_$number" fasta="$WORK/genome.fa" || continue
  ln -s "$dir/genome_$number.bedgraph" "$WORK/gather/chunks/"
  [ "$number" = 000000 ] && check_versions "$dir" GERM_SCORE
done < "$WORK/chunks/chunks.tsv"

run_block "$WORK/gather" main.nf GATHER_BEDGRAPH script prefix=genome task.cpus=1 \
  && tabix -l "$WORK/gather/genome.bedgraph.gz" | tr '\n' ' ' | grep -qx 'ctg1 ctg2 ' \
  && pass "GATHER_BEDGRAPH: bgzip + tabix" || fail "GATHER_BEDGRAPH"
germ score $GRID -q -o "$WORK/single.bedgraph" "$WORK/genome.fa" || fail "single run"
bgzip -dc "$WORK/gather/genome.bedgraph.gz" > "$WORK/gathered.bedgraph"
compare_tracks "$WORK/single.bedgraph" "$WORK/gathered.bedgraph" "$TOLERANCE"

run_block "$WORK/bigwig" modules/local/germ/bigwig/main.nf GERM_BIGWIG script args= prefix=genome \
  fasta="$WORK/genome.fa" bedgraph="$WORK/gather/genome.bedgraph.gz" \
  && [ "$(head -c 4 "$WORK/bigwig/genome.bw" | od -An -tx4 | tr -d ' ')" = 888ffc26 ] \
  && pass "GERM_BIGWIG: bigWig written" || fail "GERM_BIGWIG"
check_versions "$WORK/bigwig" GERM_BIGWIG

# Stubs (nextflow run -stub): placeholder outputs and the same versions.yml.
run_block "$WORK/stub_score" modules/local/germ/score/main.nf GERM_SCORE stub prefix=s \
  && [ -e "$WORK/stub_score/s.bedgraph" ] && pass "GERM_SCORE stub" || fail "GERM_SCORE stub"
check_versions "$WORK/stub_score" GERM_SCORE
run_block "$WORK/stub_bigwig" modules/local/germ/bigwig/main.nf GERM_BIGWIG stub prefix=s \
  && [ -e "$WORK/stub_bigwig/s.bw" ] && pass "GERM_BIGWIG stub" || fail "GERM_BIGWIG stub"

# The renderer must refuse a variable the test gives no value (or this test could pass vacuously).
$RENDER "$NF/modules/local/germ/score/main.nf" GERM_SCORE script > /dev/null 2>&1 \
  && fail "renderer accepted missing values" || pass "renderer refuses missing values"
finish
