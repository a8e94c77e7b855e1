#!/usr/bin/env bash
# Rebuild benchmarks/results/heldout from the run folders beside it (RUNS.md says which command
# made each), then its report and "Which method when" of benchmarks/README.md. The first folder
# that has a (case, method) wins, so the order is: the lead's final rows (imgkit's methods at the
# code of this commit, the style rows), then the fast peer/baseline rows, then the earlier rows of
# methods whose output has not changed since (heldout_early; options ignored).
# Run from the repository root:   bash benchmarks/results/heldout/assemble.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
R=benchmarks/results
H=$R/heldout
rm -rf $H/inpaint.csv $H/style.csv $H/analogy.csv $H/firstcall.csv $H/meta.json $H/summary.md \
       $H/plots $H/grids $H/images
SRC=()
for d in heldout_lead_a heldout_lead_b heldout_lead_gatys heldout_lead_ff heldout_lead_style \
         heldout_lead_analogy heldout_lead_analogy_256 heldout_lead_dip heldout_lead_fsr \
         heldout_inpaint_fast heldout_inpaint_fast_b heldout_inpaint_slow heldout_analogy_base; do
  [[ -d $R/$d ]] && SRC+=($R/$d)
done
$PY -m benchmarks merge --out $H "${SRC[@]}"
$PY -m benchmarks merge --ignore-options --out $H $R/heldout_early --readme benchmarks/README.md
