"""The CPU builds of the PatchMatch engine (``numba.njit``): one namespace table per build, listed
explicitly, and the banded scan, the row distances and the parallel drivers.

Distances on the CPU, by case (each scan and driver is compiled once per case, so each loop
stays small and the fast ones are inlined):

* ``_cpu_vector_distance``: no weights; the plain SSD as inlined 8-lane vector code (a Numba call
  passes every array as a struct of fields: that overhead was half the time of an unweighted NNF);
* ``_cpu_vector_pixelw_distance``: pixel weights without a kernel (completion's search), inlined
  vector code over the weights repeated per channel (the sums round differently from the scalar
  code);
* ``_cpu_scalar_distance``: a kernel, with or without pixel weights: the shared scalar body
  :func:`._scalar._weighted_ssd_py`, called (inlining it, or keeping both paths in one loop, slows
  the weighted scans of completion down by 7-10 %).
"""

# ruff: noqa: F821  (the bodies call their target's helpers: names the namespace tables define)

from typing import Any

import numba
import numpy as np

from .._jit import rebind, run_parts
from . import _scalar as sc
from ._vector import _patch_ssd, _prefetch, _wpatch_ssd


def _njit(body, table, name=None, **options):
    # A copy of `body` resolving its globals in `table` (its own name: its own cache entry).
    return numba.njit(cache=True, **options)(rebind(body, table, name))


def _cpu_vector_distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    return _plain_ssd(T, S, C, ty, tx, sy, sx, half, limit)


def _cpu_vector_pixelw_distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # The raw pixel-weighted SSD (pixel weights, no kernel) as 8-lane vectors: wpix here is the
    # (H, W*C) array of the weights repeated over the channels (see _cpu_kernels).
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    return _wpatch_ssd(T, wpix, ty + y0, np.uint64((tx + x0) * C), S, sy + y0, np.uint64((sx + x0) * C), n,
                       y1 - y0 + 1, limit)


def _scan_band_py(T, S, C, nnf, dist, snap, solve, valid, wpix, kern, use_w, use_k, half, r0, r1, fwd, it,
               seed_lo, seed_hi, lo_y, hi_y, lo_x, hi_x):
    H = T.shape[0]
    W = T.shape[1] // C
    Hs = S.shape[0]
    Ws = S.shape[1] // C
    step = 1 if fwd else -1
    r_max = max(Hs, Ws)
    cand = np.empty((64, 2), np.int64)  # random-search candidates of one pixel (≤ 64 radii)
    for row in range(r1 - r0):
        y = r0 + row if fwd else r1 - 1 - row
        for j in range(W):
            x = j if fwd else W - 1 - j
            if not solve[y, x]:
                continue
            by = np.int64(nnf[y, x, 0])
            bx = np.int64(nnf[y, x, 1])
            bd = dist[y, x]
            # propagation along the row (same band: current values)
            xn = x - step
            if 0 <= xn < W:
                cy = np.int64(nnf[y, xn, 0])
                cx = np.int64(nnf[y, xn, 1]) + step
                if (cy != by or cx != bx) and _usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            # propagation along the column (across the band edge: the iteration's snapshot)
            yn = y - step
            if 0 <= yn < H:
                if r0 <= yn < r1:
                    cy = np.int64(nnf[yn, x, 0]) + step
                    cx = np.int64(nnf[yn, x, 1])
                else:
                    cy = np.int64(snap[yn, x, 0]) + step
                    cx = np.int64(snap[yn, x, 1])
                if (cy != by or cx != bx) and _usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            # random search around the post-propagation source v0
            # (the candidates do not depend on each other's outcome: all are drawn first and the
            # first row of each source patch is prefetched, so the cache misses of these random
            # reads overlap instead of stalling one after the other; same candidates, same order)
            vy = by
            vx = bx
            base = _base(seed_lo, seed_hi, it, y * W + x)
            r = r_max
            k = 0
            nc = 0
            while r >= 1:
                ya = max(vy - r, lo_y)
                yb = min(vy + r, hi_y)
                xa = max(vx - r, lo_x)
                xb = min(vx + r, hi_x)
                cy = _pick(ya, yb, _draw(base, k))
                cx = _pick(xa, xb, _draw(base, k + 1))
                k += 2
                r = r // 2
                cand[nc, 0] = cy
                cand[nc, 1] = cx
                nc += 1
                _prefetch(S, cy - half, (cx - half) * C)
                _prefetch(S, cy - half, (cx + half) * C + C - 1)
            for i in range(nc):
                cy = cand[i, 0]
                cx = cand[i, 1]
                if (cy != by or cx != bx) and valid[cy, cx]:
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            nnf[y, x, 0] = by
            nnf[y, x, 1] = bx
            dist[y, x] = bd


def _row_distances_py(T, S, C, nnf, dist, solve, only_solved, valid, wpix, kern, use_w, use_k, half, lo_y,
                      hi_y, lo_x, hi_x, check_valid, y):
    # Raw distance of every entry of row y (inf for entries that are not usable centres; NaN for
    # the pixels not solved when only_solved).
    W = T.shape[1] // C
    for x in range(W):
        if only_solved and not solve[y, x]:
            dist[y, x] = np.nan
            continue
        sy = np.int64(nnf[y, x, 0])
        sx = np.int64(nnf[y, x, 1])
        if sy < lo_y or sy > hi_y or sx < lo_x or sx > hi_x or (check_valid and not valid[sy, sx]):
            dist[y, x] = np.inf
        else:
            dist[y, x] = _distance(T, S, C, y, x, sy, sx, half, wpix, kern, use_w, use_k, np.inf)


def _row_normalise_py(dist, wpix, kbar, use_w, use_k, half, y):
    # D = raw / N(p) along row y (0 where N(p) = 0 and the entry is usable; NaN stays NaN).
    H = dist.shape[0]
    W = dist.shape[1]
    for x in range(W):
        if dist[y, x] != dist[y, x]:
            continue
        n = _norm(y, x, H, W, half, wpix, kbar, use_w, use_k)
        if n > 0:
            dist[y, x] = dist[y, x] / n
        elif dist[y, x] < np.inf:
            dist[y, x] = 0.0


# The CPU table of the shared scalar code. The table is complete before anything compiles (Numba
# resolves globals when it compiles), so entries may refer to each other in any order.
# ``__name__``: Numba's cache rebuilds a cached function's environment from that module.
_CPU: dict[str, Any] = {"__name__": __name__, "np": np, "_patch_ssd": _patch_ssd,
                        "_wpatch_ssd": _wpatch_ssd, "_prefetch": _prefetch}
_CPU.update(
    _mix32=_njit(sc._mix32_py, _CPU),
    _base=_njit(sc._base_py, _CPU),
    _draw=_njit(sc._draw_py, _CPU),
    _clip=_njit(sc._clip_py, _CPU, inline="always"),
    _plain_ssd=_njit(sc._plain_ssd_py, _CPU, inline="always"),
    _pick=_njit(sc._pick_py, _CPU),
    _norm=_njit(sc._norm_py, _CPU),
    _usable=_njit(sc._usable_py, _CPU),
    _row_normalise=_njit(_row_normalise_py, _CPU),
)
_cpu_vector_distance = _njit(_cpu_vector_distance_py, _CPU, inline="always")
_cpu_vector_pixelw_distance = _njit(_cpu_vector_pixelw_distance_py, _CPU, inline="always")
_cpu_scalar_distance = _njit(sc._weighted_ssd_py, _CPU, "_cpu_scalar_distance")


# The scans and the row distances, once per distance (see the module docstring).
_PLAIN = {**_CPU, "_distance": _cpu_vector_distance}
_PIXELW = {**_CPU, "_distance": _cpu_vector_pixelw_distance}
_WEIGHTED = {**_CPU, "_distance": _cpu_scalar_distance}
_scan_band_plain = _njit(_scan_band_py, _PLAIN, "_scan_band_plain")
_scan_band_pixelw = _njit(_scan_band_py, _PIXELW, "_scan_band_pixelw")
_scan_band_weighted = _njit(_scan_band_py, _WEIGHTED, "_scan_band_weighted")
_row_distances_plain = _njit(_row_distances_py, _PLAIN, "_row_distances_plain")
_row_distances_pixelw = _njit(_row_distances_py, _PIXELW, "_row_distances_pixelw")
_row_distances_weighted = _njit(_row_distances_py, _WEIGHTED, "_row_distances_weighted")


def _distances_part_py(T, S, C, nnf, dist, solve, only_solved, valid, wpix, wdist, kern, kbar, use_w, use_k,
                       half, lo_y, hi_y, lo_x, hi_x, check_valid, k, n):
    # Rows k, k + n, ... (part k of n; _jit.run_parts). wpix: the (H, W) pixel weights of N(p);
    # wdist: the weights as the distance reads them.
    for y in range(k, T.shape[0], n):
        _row_distances(T, S, C, nnf, dist, solve, only_solved, valid, wdist, kern, use_w, use_k, half, lo_y,
                       hi_y, lo_x, hi_x, check_valid, y)
        _row_normalise(dist, wpix, kbar, use_w, use_k, half, y)


def _bands_part_py(T, S, C, nnf, dist, snap, solve, only_solved, valid, wpix, wdist, kern, kbar, use_w, use_k,
                   half, iterations, seed_lo, seed_hi, band_rows, it, k, n):
    # Pass `it` of the search over bands k, k + n, ... (part k of n; _jit.run_parts): a band computes
    # the initial distances of its rows before its first scan and normalises them after its last
    # one (both only touch the band's own rows); `snap` holds the rows each band reads across its
    # leading edge, taken before the pass (_patchmatch_driver).
    H = T.shape[0]
    Hs = S.shape[0]
    Ws = S.shape[1] // C
    lo_y = half
    hi_y = Hs - 1 - half
    lo_x = half
    hi_x = Ws - 1 - half
    n_pass = max(iterations, 1)
    fwd = it % 2 == 0
    shift = 0 if fwd else band_rows // 2
    nb = (H + shift + band_rows - 1) // band_rows
    for b in range(k, nb, n):
        r0 = max(b * band_rows - shift, 0)
        r1 = min((b + 1) * band_rows - shift, H)
        if r1 > r0:
            if it == 0:
                for y in range(r0, r1):
                    _row_distances(T, S, C, nnf, dist, solve, only_solved, valid, wdist, kern, use_w, use_k,
                                   half, lo_y, hi_y, lo_x, hi_x, True, y)
            if iterations > 0:
                _scan_band(T, S, C, nnf, dist, snap, solve, valid, wdist, kern, use_w, use_k, half, r0, r1,
                           fwd, it, seed_lo, seed_hi, lo_y, hi_y, lo_x, hi_x)
            if it == n_pass - 1:
                for y in range(r0, r1):
                    _row_normalise(dist, wpix, kbar, use_w, use_k, half, y)


def _distances_driver(part: Any) -> Any:
    def distances(work: int, *args: Any) -> None:
        run_parts(part, work, *args)

    distances.part = part
    return distances


def _patchmatch_driver(part: Any) -> Any:
    def patchmatch(work: int, T: Any, S: Any, C: int, nnf: Any, dist: Any, solve: Any, only_solved: bool,
                   valid: Any, wpix: Any, wdist: Any, kern: Any, kbar: float, use_w: bool, use_k: bool,
                   half: int, iterations: int, seed_lo: int, seed_hi: int, band_rows: int) -> None:
        # One threaded region per pass; between passes, the snapshot of the rows each band reads
        # across its leading edge (the only rows another band writes during the pass).
        H = T.shape[0]
        snap = np.empty_like(nnf)
        for it in range(max(iterations, 1)):
            fwd = it % 2 == 0
            shift = 0 if fwd else band_rows // 2
            nb = (H + shift + band_rows - 1) // band_rows
            for b in range(nb):
                row = max(b * band_rows - shift, 0) - 1 if fwd else min((b + 1) * band_rows - shift, H)
                if 0 <= row < H:
                    snap[row] = nnf[row]
            run_parts(part, work, T, S, C, nnf, dist, snap, solve, only_solved, valid, wpix, wdist, kern,
                      kbar, use_w, use_k, half, iterations, seed_lo, seed_hi, band_rows, it)

    patchmatch.part = part
    return patchmatch


# Each CPU driver is built once per distance, with that distance's scan and row distances (bound
# directly, so a call compiles only the family it uses: completion the pixel-weighted one,
# analogies the weighted one, imgkit.nnf without weights the plain one), as a serial nogil build
# of one part that _jit.run_parts runs on the threads allowed (one thread for small problems).
_PLAIN_DRIVERS = {**_CPU, "_scan_band": _scan_band_plain, "_row_distances": _row_distances_plain}
_PIXELW_DRIVERS = {**_CPU, "_scan_band": _scan_band_pixelw, "_row_distances": _row_distances_pixelw}
_WEIGHTED_DRIVERS = {**_CPU, "_scan_band": _scan_band_weighted, "_row_distances": _row_distances_weighted}
_distances_plain = _distances_driver(_njit(_distances_part_py, _PLAIN_DRIVERS, "_distances_plain",
                                           nogil=True))
_distances_pixelw = _distances_driver(_njit(_distances_part_py, _PIXELW_DRIVERS, "_distances_pixelw",
                                            nogil=True))
_distances_weighted = _distances_driver(_njit(_distances_part_py, _WEIGHTED_DRIVERS, "_distances_weighted",
                                              nogil=True))
_patchmatch_plain = _patchmatch_driver(_njit(_bands_part_py, _PLAIN_DRIVERS, "_patchmatch_plain", nogil=True))
_patchmatch_pixelw = _patchmatch_driver(_njit(_bands_part_py, _PIXELW_DRIVERS, "_patchmatch_pixelw",
                                              nogil=True))
_patchmatch_weighted = _patchmatch_driver(_njit(_bands_part_py, _WEIGHTED_DRIVERS, "_patchmatch_weighted",
                                                nogil=True))


def _cpu_kernels(use_w: bool, use_k: bool, wpix: Any, C: int):
    """The CPU driver pair (distances, patchmatch) for these weights, and the weights array their
    distance reads: unweighted; pixel weights only (vector code over the weights repeated per
    channel); or the general scalar code (a kernel, with or without pixel weights)."""
    if use_k:
        return _distances_weighted, _patchmatch_weighted, wpix
    if use_w:
        return _distances_pixelw, _patchmatch_pixelw, np.ascontiguousarray(np.repeat(wpix, C, axis=1))
    return _distances_plain, _patchmatch_plain, wpix

