#!/usr/bin/env bash
# Optional: continue the fast inpainting rows of 2026-12-02 (telea, ns, biharmonic, fsr_fast,
# shiftmap, criminisi, mean_fill, pypatchmatch radii 15/3/7, resynthesizer) on the held-out cases
# they did not reach, in 2 processes (one per half of the photos), for at most MINUTES minutes
# (default 20; stopped runs keep their rows), then rebuild benchmarks/results/heldout
# (assemble.sh) -- and, if lead_final.sh ran before, merge its folders again.
# About one minute of one core per case (RUNS.md). Run from the repository root on free cores:
#   MINUTES=20 nice -n 10 bash benchmarks/results/heldout/resume_fast.sh
set -uo pipefail
PY=${PY:-.venv/bin/python}
R=benchmarks/results
MIN=${MINUTES:-20}
M=(telea ns biharmonic fsr_fast shiftmap criminisi mean_fill pypatchmatch pypatchmatch_r3
   pypatchmatch_r7 resynthesizer)
COMMON=(--split heldout --sizes 256 --threads 1 --repeats 1 --budget 0 --no-firstcall --no-progress
        --resume --methods "${M[@]}")
# cases of process A: its 8 photos minus the 11 cases the earlier run (heldout_early) covered fully
CASES_A=(grace_hopper-scribbles-256 facade-box-256 facade-strokes-256 facade-thick-256
  facade-blobs-256 facade-scribbles-256 gravel-thick-256 gravel-blobs-256 gravel-scribbles-256
  stream-box-256 stream-strokes-256 stream-thick-256 stream-blobs-256 stream-scribbles-256
  icons-box-256 icons-strokes-256 icons-thick-256 icons-blobs-256 icons-scribbles-256
  kite-box-256 kite-strokes-256 kite-thick-256 kite-blobs-256 kite-scribbles-256
  nuthatch-box-256 nuthatch-strokes-256 nuthatch-thick-256 nuthatch-blobs-256
  nuthatch-scribbles-256)
timeout -s TERM $((MIN * 60)) $PY -m benchmarks inpaint "${COMMON[@]}" \
    --images grace_hopper facade gravel stream icons kite nuthatch --cases "${CASES_A[@]}" \
    --out $R/heldout_inpaint_fast > /tmp/imgkit_resume_a.log 2>&1 &
timeout -s TERM $((MIN * 60)) $PY -m benchmarks inpaint "${COMMON[@]}" \
    --images wine_room wood ridge summer_night moss dandelion yellow_flower raindrops \
    --out $R/heldout_inpaint_fast_b > /tmp/imgkit_resume_b.log 2>&1 &
wait
sleep 5  # reports of stopped runs
bash $R/heldout/assemble.sh
LEAD=()
for d in heldout_lead_a heldout_lead_b heldout_lead_style heldout_lead_analogy heldout_lead_dip \
         heldout_lead_fsr; do
  [[ -d $R/$d ]] && LEAD+=($R/$d)
done
if (( ${#LEAD[@]} )); then
  $PY -m benchmarks merge --ignore-options --out $R/heldout "${LEAD[@]}" --readme benchmarks/README.md
fi
