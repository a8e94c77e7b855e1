"""The CUDA twin of the PatchMatch engine (``numba.cuda.jit``, one thread per target pixel; x =
column, y = row): the GPU namespace table of the shared scalar bodies (CUDA device functions) and
the four kernels (raw distances, normalisation, a jump-flood propagation step, random search).

The GPU's distance, ``_distance``, is :func:`._scalar._patch_distance_py`: the plain scalar SSD
without weights, the scalar weighted SSD with pixel weights or a kernel.
"""

# ruff: noqa: F821  (the bodies call their target's helpers: names the namespace tables define)

from typing import Any

import numpy as np
from numba import cuda

from .._jit import rebind
from . import _scalar as sc


def _device(body: Any) -> Any:
    return cuda.jit(device=True)(rebind(body, _GPU))


def _try_py(T, S, C, y, x, cy, cx, by, bx, bd, half, wpix, kern, use_w, use_k, lo_y, hi_y, lo_x, hi_x, valid):
    # The best (by, bx, bd) of target pixel (y, x) after trying candidate (cy, cx): taken only if
    # it is another usable centre and strictly closer (ties keep the current entry).
    if (cy != by or cx != bx) and _usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
        d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
        if d < bd:
            return cy, cx, d
    return by, bx, bd


# The GPU table of the shared scalar code (complete before anything compiles: entries may refer
# to each other in any order).
_GPU: dict[str, Any] = {"__name__": __name__, "np": np, "cuda": cuda}
_GPU.update(
    _mix32=_device(sc._mix32_py),
    _base=_device(sc._base_py),
    _draw=_device(sc._draw_py),
    _clip=_device(sc._clip_py),
    _row_ssd=_device(sc._row_ssd_py),
    _patch_ssd=_device(sc._patch_ssd_py),
    _plain_ssd=_device(sc._plain_ssd_py),
    _weighted_ssd=_device(sc._weighted_ssd_py),
    _distance=_device(sc._patch_distance_py),
    _norm=_device(sc._norm_py),
    _usable=_device(sc._usable_py),
    _pick=_device(sc._pick_py),
    _try=_device(_try_py),
)


def _raw_distances_py(T, S, C, nnf, dist, valid, wpix, kern, use_w, use_k, half, lo_y, hi_y, lo_x, hi_x,
                       check_valid):
    x, y = cuda.grid(2)
    if y >= T.shape[0] or x >= T.shape[1] // C:
        return
    sy = np.int64(nnf[y, x, 0])
    sx = np.int64(nnf[y, x, 1])
    if sy < lo_y or sy > hi_y or sx < lo_x or sx > hi_x or (check_valid and not valid[sy, sx]):
        dist[y, x] = np.inf
    else:
        dist[y, x] = _distance(T, S, C, y, x, sy, sx, half, wpix, kern, use_w, use_k, np.inf)


def _normalise_py(dist, wpix, kbar, use_w, use_k, half):
    x, y = cuda.grid(2)
    H = dist.shape[0]
    W = dist.shape[1]
    if y >= H or x >= W:
        return
    n = _norm(y, x, H, W, half, wpix, kbar, use_w, use_k)
    if n > 0:
        dist[y, x] = dist[y, x] / n
    elif dist[y, x] < np.inf:
        dist[y, x] = 0.0


def _jump_py(T, S, C, nnf_in, dist_in, nnf_out, dist_out, solve, valid, wpix, kern, use_w, use_k, half,
              step, lo_y, hi_y, lo_x, hi_x):
    x, y = cuda.grid(2)
    H = T.shape[0]
    W = T.shape[1] // C
    if y >= H or x >= W:
        return
    by = np.int64(nnf_in[y, x, 0])
    bx = np.int64(nnf_in[y, x, 1])
    bd = dist_in[y, x]
    if solve[y, x]:
        for n in range(4):
            qy = y
            qx = x
            if n == 0:
                qx = x - step
            elif n == 1:
                qy = y - step
            elif n == 2:
                qx = x + step
            else:
                qy = y + step
            if qy < 0 or qy >= H or qx < 0 or qx >= W:
                continue
            cy = np.int64(nnf_in[qy, qx, 0]) + (y - qy)
            cx = np.int64(nnf_in[qy, qx, 1]) + (x - qx)
            by, bx, bd = _try(T, S, C, y, x, cy, cx, by, bx, bd, half, wpix, kern, use_w, use_k, lo_y, hi_y,
                              lo_x, hi_x, valid)
    nnf_out[y, x, 0] = by
    nnf_out[y, x, 1] = bx
    dist_out[y, x] = bd


def _search_py(T, S, C, nnf, dist, solve, valid, wpix, kern, use_w, use_k, half, it, seed_lo, seed_hi,
                lo_y, hi_y, lo_x, hi_x):
    x, y = cuda.grid(2)
    H = T.shape[0]
    W = T.shape[1] // C
    if y >= H or x >= W or not solve[y, x]:
        return
    by = np.int64(nnf[y, x, 0])
    bx = np.int64(nnf[y, x, 1])
    bd = dist[y, x]
    vy = by
    vx = bx
    base = _base(seed_lo, seed_hi, it, y * W + x)
    r = max(S.shape[0], S.shape[1] // C)
    k = 0
    while r >= 1:
        ya = max(vy - r, lo_y)
        yb = min(vy + r, hi_y)
        xa = max(vx - r, lo_x)
        xb = min(vx + r, hi_x)
        cy = _pick(ya, yb, _draw(base, k))
        cx = _pick(xa, xb, _draw(base, k + 1))
        k += 2
        r = r // 2
        by, bx, bd = _try(T, S, C, y, x, cy, cx, by, bx, bd, half, wpix, kern, use_w, use_k, lo_y, hi_y, lo_x,
                          hi_x, valid)
    nnf[y, x, 0] = by
    nnf[y, x, 1] = bx
    dist[y, x] = bd


_raw_distances_gpu = cuda.jit(rebind(_raw_distances_py, _GPU, "_raw_distances_gpu"))
_normalise_gpu = cuda.jit(rebind(_normalise_py, _GPU, "_normalise_gpu"))
_jump_gpu = cuda.jit(rebind(_jump_py, _GPU, "_jump_gpu"))
_search_gpu = cuda.jit(rebind(_search_py, _GPU, "_search_gpu"))
