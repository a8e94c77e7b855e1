#!/usr/bin/env bash
# Rebuild benchmarks/results/heldout from the runs of 2026-12-02 (RUNS.md): the folders of the runs
# made today with today's code first, then the earlier rows of methods whose output is unchanged
# (heldout_early: a (case, method) already present is skipped, whatever its options), then the
# report and "Which method when" of benchmarks/README.md. lead_final.sh merges its rows on top.
# Run from the repository root:   nice -n 10 bash benchmarks/results/heldout/assemble.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
R=benchmarks/results
H=$R/heldout
rm -rf $H/inpaint.csv $H/style.csv $H/analogy.csv $H/firstcall.csv $H/meta.json $H/summary.md \
       $H/plots $H/grids $H/images
SRC=()
for d in heldout_inpaint_fast heldout_inpaint_fast_b heldout_inpaint_slow heldout_style_run \
         heldout_style_ff heldout_analogy_base; do
  [[ -d $R/$d ]] && SRC+=($R/$d)
done
$PY -m benchmarks merge --out $H "${SRC[@]}"
$PY -m benchmarks merge --ignore-options --out $H $R/heldout_early --readme benchmarks/README.md
