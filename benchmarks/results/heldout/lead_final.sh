#!/usr/bin/env bash
# Final held-out rows of the methods changed this session -- `patchmatch`, `patchmatch_network`
# (patchmatch init="network"), `context_encoder` (inpainting, 80 cases at 256 px), `hertzmann`
# (analogy suite, 7 pairs x 8 filters x 128/256 px) and `stylize(method="analogy")` (style suite,
# 16 cases at 128 px) -- every method on 1 thread, in 2 parallel processes split by photos, then
# merged into benchmarks/results/heldout (which already holds the other rows: RUNS.md) and
# "Which method when" of benchmarks/README.md regenerated.
#
# Run from the repository root, after merging the patchmatch / context_encoder / analogy branches,
# on a quiet machine (2 free cores):   nice -n 10 bash benchmarks/results/heldout/lead_final.sh
# Expected: ~15-20 min wall on 2 quiet cores (estimate in RUNS.md, "Final rows").
# Check first (seconds): LIST=1 bash benchmarks/results/heldout/lead_final.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
R=benchmarks/results
COMMON=(--split heldout --threads 1 --repeats 3 --budget 2 --no-progress)
# the round-robin order of the held-out photos (one per category first), halved
A=(fig grace_hopper facade gravel stream icons kite nuthatch)
B=(wine_room wood ridge summer_night moss dandelion yellow_flower raindrops)
M=(patchmatch patchmatch_network context_encoder)
# slow rows (SLOW=0 leaves them out): dip and fsr_best on a fixed diagonal of 5 cases, one per mask
# kind, five categories (one timed call each, no warm-up call: minutes per call)
SLOW=${SLOW:-1}
DIAG=(fig-box-256 grace_hopper-strokes-256 facade-thick-256 gravel-blobs-256 stream-scribbles-256)
SLOWOPTS=(--sizes 256 --repeats 1 --budget 0 --no-warmup --no-firstcall --cases "${DIAG[@]}")

if [[ -n "${LIST:-}" ]]; then
  $PY -m benchmarks inpaint "${COMMON[@]}" --sizes 256 --images "${A[@]}" "${B[@]}" --methods "${M[@]}" --list
  $PY -m benchmarks style "${COMMON[@]}" --sizes 128 --methods analogy --list
  $PY -m benchmarks analogy "${COMMON[@]}" --methods hertzmann --list
  $PY -m benchmarks inpaint "${COMMON[@]}" "${SLOWOPTS[@]}" --methods dip fsr_best --list
  exit 0
fi

rm -rf $R/heldout_lead_a $R/heldout_lead_b $R/heldout_lead_style $R/heldout_lead_analogy \
       $R/heldout_lead_dip $R/heldout_lead_fsr
LOGS=${LOGS:-/tmp/imgkit_heldout_logs}
mkdir -p "$LOGS"
# process 1: inpainting on the first 8 photos (first calls in fresh processes), then the style
# `analogy` rows
( $PY -m benchmarks inpaint "${COMMON[@]}" --sizes 256 --images "${A[@]}" --methods "${M[@]}" \
      --out $R/heldout_lead_a \
  && $PY -m benchmarks style "${COMMON[@]}" --sizes 128 --methods analogy --out $R/heldout_lead_style \
  && if (( SLOW )); then $PY -m benchmarks inpaint "${COMMON[@]}" "${SLOWOPTS[@]}" --methods dip \
                             --out $R/heldout_lead_dip; fi
) > "$LOGS/lead_1.log" 2>&1 &
P1=$!
# process 2: inpainting on the other 8 photos (first calls measured by process 1), then the
# hertzmann analogies, then the analogy baselines' cases the earlier run did not reach (--resume
# of its folder: the 256 px cases; one timed call each, they are references)
( $PY -m benchmarks inpaint "${COMMON[@]}" --sizes 256 --images "${B[@]}" --methods "${M[@]}" \
      --no-firstcall --out $R/heldout_lead_b \
  && $PY -m benchmarks analogy "${COMMON[@]}" --methods hertzmann --out $R/heldout_lead_analogy \
  && $PY -m benchmarks analogy --split heldout --threads 1 --repeats 1 --budget 0 --no-progress \
         --no-firstcall --resume --methods identity naive_patch naive_patch_rgb lut \
         --out $R/heldout_analogy_base \
  && if (( SLOW )); then $PY -m benchmarks inpaint "${COMMON[@]}" "${SLOWOPTS[@]}" --methods fsr_best \
                             --out $R/heldout_lead_fsr; fi
) > "$LOGS/lead_2.log" 2>&1 &
P2=$!
rc=0
wait $P1 || rc=$?
wait $P2 || rc=$?
if (( rc )); then  # rerun the failed command with --resume (rows already written are kept)
  echo "a process failed (exit $rc): see $LOGS/lead_*.log" >&2
  exit $rc
fi

SLOWDIRS=()
(( SLOW )) && SLOWDIRS=($R/heldout_lead_dip $R/heldout_lead_fsr)
# fsr_best rows already in heldout (same case and method, an earlier run) are kept: --ignore-options
$PY -m benchmarks merge --ignore-options --out $R/heldout $R/heldout_lead_a $R/heldout_lead_b \
    $R/heldout_lead_style $R/heldout_lead_analogy $R/heldout_analogy_base "${SLOWDIRS[@]}" \
    --readme benchmarks/README.md
echo "now: look at $R/heldout/grids/*.png, fill the README slots (RUNS.md, 'Final rows'), commit"
