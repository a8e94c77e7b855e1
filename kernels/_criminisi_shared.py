"""Per-pixel code of the Criminisi kernels, written once and compiled for both targets: by
``numba.njit`` in :mod:`imgkit.kernels.criminisi` and by ``numba.cuda.jit`` in
:mod:`imgkit.kernels._criminisi_cuda`, so the twins cannot drift apart. Also the constants and
the argument checks both devices share.
"""

from __future__ import annotations

import math

import numpy as np

INT64_MAX = int(np.iinfo(np.int64).max)
#: Fixed-point one of the confidence (C = 1).
CONF_ONE = 1 << 30
_D_SCALE = float(1 << 30)


def _pixel_priority_py(J, known, conf, y, x, r, alpha2, rule):
    """Priority and confidence term of pixel (y, x); (-1, 0) when not on the front.

    Array reads go through ``int()`` so that the arithmetic is int64 when compiled and exact
    Python integers under the CUDA simulator.

    Integer arithmetic throughout except D = |∇I⊥·n| / (|n| 2α), computed with three
    correctly rounded float64 operations and truncated to fixed point (2**-30).
    """
    H = known.shape[0]
    W = known.shape[1]
    if known[y, x] != 0:
        return -1, 0
    front = False
    for a in range(-1, 2):
        for b in range(-1, 2):
            yy = y + a
            xx = x + b
            if yy >= 0 and yy < H and xx >= 0 and xx < W and known[yy, xx] != 0:
                front = True
    if not front:
        return -1, 0
    total = 0
    bm = -1
    bgx = 0
    bgy = 0
    for dy in range(-r, r + 1):
        yy = y + dy
        for dx in range(-r, r + 1):
            xx = x + dx
            m2 = 0
            gx = 0
            gy = 0
            if yy >= 0 and yy < H and xx >= 0 and xx < W:
                total += int(conf[yy, xx])
                if known[yy, xx] != 0:
                    if xx >= 1 and xx + 1 < W and known[yy, xx - 1] != 0 and known[yy, xx + 1] != 0:
                        gx = int(J[yy, xx + 1]) - int(J[yy, xx - 1])
                    if yy >= 1 and yy + 1 < H and known[yy - 1, xx] != 0 and known[yy + 1, xx] != 0:
                        gy = int(J[yy + 1, xx]) - int(J[yy - 1, xx])
                    m2 = gx * gx + gy * gy
            if m2 > bm:
                bm = m2
                bgx = gx
                bgy = gy
    p = 2 * r + 1
    cterm = total // (p * p)
    # Sobel gradient of the known indicator, edge-replicated beyond the border
    ym = max(y - 1, 0)
    yp = min(y + 1, H - 1)
    xm = max(x - 1, 0)
    xq = min(x + 1, W - 1)
    k00 = int(known[ym, xm])
    k01 = int(known[ym, x])
    k02 = int(known[ym, xq])
    k10 = int(known[y, xm])
    k12 = int(known[y, xq])
    k20 = int(known[yp, xm])
    k21 = int(known[yp, x])
    k22 = int(known[yp, xq])
    sx = (k02 + 2 * k12 + k22) - (k00 + 2 * k10 + k20)
    sy = (k20 + 2 * k21 + k22) - (k00 + 2 * k01 + k02)
    n2 = sx * sx + sy * sy
    d = 0
    if n2 > 0:
        num = abs(bgx * sy - bgy * sx)
        q = float(num) / (math.sqrt(float(n2)) * alpha2)
        d = int(q * _D_SCALE)
    if rule == 0:
        pri = cterm * d
    else:
        pri = 6 * cterm + 14 * CONF_ONE + 80 * d
    return pri, cterm


def _fill_pixel_py(image, features, J, conf, known, order, source, y, x, qy, qx, cval, step):
    """Copy source pixel (qy, qx) into unknown pixel (y, x) of every map."""
    for c in range(image.shape[2]):
        image[y, x, c] = image[qy, qx, c]
    for c in range(features.shape[0]):
        features[c, y, x] = features[c, qy, qx]
    J[y, x] = J[qy, qx]
    conf[y, x] = cval
    known[y, x] = 1
    order[y, x] = step
    source[y, x, 0] = qy
    source[y, x, 1] = qx


def clip_box(valid_shape, box):
    hv, wv = valid_shape
    if box is None:
        return 0, hv, 0, wv
    y0, y1, x0, x1 = (int(b) for b in box)
    return max(y0, 0), min(y1, hv), max(x0, 0), min(x1, wv)


def check_search(features, valid, known):
    if features.ndim != 3 or features.dtype != np.int16:
        raise ValueError(f"features must be a (C, H, W) int16 array; got {features.dtype} "
                         f"{tuple(features.shape)}")
    H, W = features.shape[1:]
    if tuple(known.shape) != (H, W) or known.dtype != np.uint8:
        raise ValueError(f"known must be an ({H}, {W}) uint8 array; got {known.dtype} "
                         f"{tuple(known.shape)}")
    hv, wv = valid.shape
    if H - hv != W - wv or hv < 1 or wv < 1 or valid.dtype != np.uint8:
        raise ValueError(f"valid must be an (H - p + 1, W - p + 1) uint8 array; got {valid.dtype} "
                         f"{tuple(valid.shape)} for features {tuple(features.shape)}")
    return H - hv + 1
