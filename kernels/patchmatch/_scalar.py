"""The shared scalar bodies of the PatchMatch kernels: plain Python functions, compiled for each
target by giving a copy of each its target's namespace table (:func:`imgkit.kernels._jit.rebind`):
the CPU table in :mod:`._cpu` (``numba.njit``), the GPU table in :mod:`._cuda` (CUDA device
functions) and the host table in :mod:`._api` (NumPy, vectorised over arrays).

The global names these bodies call are the table's slots: ``_mix32``, ``_clip``, ``_patch_ssd``
(the unweighted SSD of whole patch rows: 8-lane vector intrinsics on the CPU, :func:`_patch_ssd_py`
on the GPU), ``_row_ssd``, ``_plain_ssd`` and ``_weighted_ssd``.

Distances (raw sums; :func:`_norm_py` gives the normalisation ``N(p)``):

* :func:`_plain_ssd_py`: no pixel weights, no kernel;
* :func:`_weighted_ssd_py`: pixel weights and/or a kernel, scalar code;
* :func:`_patch_distance_py`: either one, by the flags (the GPU's distance; the CPU scans are
  compiled once per case instead, see :mod:`._cpu`).
"""

# ruff: noqa: F821  (the bodies call their target's helpers: names the namespace tables define)

import numpy as np


def _mix32_py(x):
    # Avalanche mix of a 32-bit value held in an int64 (multipliers < 2**31: no overflow).
    x = x & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x5BD1E995) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def _base_py(seed_lo, seed_hi, it, pix):
    # Per (seed, iteration, pixel) stream state.
    h = _mix32(seed_lo ^ 0x3C6EF372)
    h = _mix32(h ^ seed_hi)
    h = _mix32((h + it * 0x2545F491) & 0xFFFFFFFF)
    return _mix32((h + pix) & 0xFFFFFFFF)


def _draw_py(base, k):
    # k-th 32-bit draw of a stream.
    return _mix32((base + (k + 1) * 0x1B873593) & 0xFFFFFFFF)


def _clip_py(ty, tx, H, W, half):
    # Offsets (y0, y1, x0, x1) of the target patch at (ty, tx) that lie inside the H×W target.
    y0 = -half if ty >= half else -ty
    y1 = half if ty + half < H else H - 1 - ty
    x0 = -half if tx >= half else -tx
    x1 = half if tx + half < W else W - 1 - tx
    return y0, y1, x0, x1


def _plain_ssd_py(T, S, C, ty, tx, sy, sx, half, limit):
    # _weighted_ssd without pixel weights or kernel: the plain SSD (8-lane vectors on the CPU).
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    return _patch_ssd(T, ty + y0, np.uint64((tx + x0) * C), S, sy + y0, np.uint64((sx + x0) * C), n,
                      y1 - y0 + 1, limit)


def _weighted_ssd_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # Raw weighted SSD between the target patch at (ty, tx), clipped to the target, and the
    # whole source patch at (sy, sx); stops once a patch row ends above `limit`. T and S are
    # (H, W*C) views, so a patch row is one contiguous run of (x1 - x0 + 1) * C values; kern is
    # (P, P*C). Unsigned indices (no negative-index wraparound code). Called through _distance,
    # only with pixel weights or a kernel (use_w or use_k); _plain_ssd serves the rest.
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    bt = np.uint64((tx + x0) * C)
    bs = np.uint64((sx + x0) * C)
    bk = np.uint64((x0 + half) * C)
    cc = np.uint64(C)
    acc = np.float32(0.0)
    for dy in range(y0, y1 + 1):
        tr = T[ty + dy]
        sr = S[sy + dy]
        a0 = np.float32(0.0)
        a1 = np.float32(0.0)
        if use_w:
            kr = kern[0]  # (1, C) placeholder without a kernel: never indexed past row 0
            if use_k:
                kr = kern[dy + half]
            wr = wpix[ty + dy]
            for i in range(np.uint64(0), np.uint64(x1 - x0 + 1)):
                wp = wr[np.uint64(tx + x0) + i]
                if wp != 0:
                    o = i * cc
                    px = np.float32(0.0)  # this pixel's (kernel-weighted) squared distance
                    for c in range(np.uint64(0), cc):
                        d = tr[bt + o + c] - sr[bs + o + c]
                        if use_k:
                            px += kr[bk + o + c] * d * d
                        else:
                            px += d * d
                    if i % np.uint64(2) == np.uint64(0):
                        a0 += wp * px
                    else:
                        a1 += wp * px
        else:
            kr = kern[dy + half]
            for j in range(np.uint64(0), n):
                d = tr[bt + j] - sr[bs + j]
                a0 += kr[bk + j] * d * d
        acc += a0 + a1
        if acc > limit:
            return acc
    return acc


def _row_ssd_py(tr, bt, sr, bs, n):
    # sum_{j < n} (tr[bt + j] - sr[bs + j])**2 over 1-D float32 rows (uint64 indices). Four
    # accumulators (no single add-latency chain). The CPU kernels use the vector intrinsics of
    # _patch_ssd instead.
    one = np.uint64(1)
    n4 = n - n % np.uint64(4)
    a0 = np.float32(0.0)
    a1 = np.float32(0.0)
    a2 = np.float32(0.0)
    a3 = np.float32(0.0)
    for j in range(np.uint64(0), n4, np.uint64(4)):
        p = bt + j
        q = bs + j
        d0 = tr[p] - sr[q]
        d1 = tr[p + one] - sr[q + one]
        d2 = tr[p + np.uint64(2)] - sr[q + np.uint64(2)]
        d3 = tr[p + np.uint64(3)] - sr[q + np.uint64(3)]
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
    for j in range(n4, n):
        d = tr[bt + j] - sr[bs + j]
        a0 += d * d
    return (a0 + a1) + (a2 + a3)


def _patch_ssd_py(T, ty0, bt, S, sy0, bs, n, rows, limit):
    # Unweighted SSD of `rows` rows of n values, T from (ty0, bt), S from (sy0, bs), summed row
    # by row; stops once the sum ends a row above `limit`.
    acc = np.float32(0.0)
    for r in range(rows):
        acc += _row_ssd(T[ty0 + r], bt, S[sy0 + r], bs, n)
        if acc > limit:
            return acc
    return acc


def _norm_py(ty, tx, H, W, half, wpix, kbar, use_w, use_k):
    # N(p): the weight over the in-image part of the target patch.
    acc = np.float32(0.0)
    for dy in range(-half, half + 1):
        yt = ty + dy
        if yt < 0 or yt >= H:
            continue
        for dx in range(-half, half + 1):
            xt = tx + dx
            if xt < 0 or xt >= W:
                continue
            v = np.float32(1.0)
            if use_w:
                v = wpix[yt, xt]
            if use_k:
                v = v * kbar[dy + half, dx + half]
            acc += v
    return acc


def _pick_py(lo, hi, h):
    # An integer in [lo, hi] from a 32-bit draw h (multiply-shift, no division).
    return lo + ((h * (hi - lo + 1)) >> 32)


def _usable_py(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
    if cy < lo_y or cy > hi_y or cx < lo_x or cx > hi_x:
        return False
    return valid[cy, cx]


def _patch_distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # The patch distance of the module docstring: _weighted_ssd with pixel weights or a kernel, else the
    # plain SSD. (The CPU scans are compiled twice instead, each with one of the two inlined or
    # called directly: see _scan_band_py.)
    if use_w or use_k:
        return _weighted_ssd(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit)
    return _plain_ssd(T, S, C, ty, tx, sy, sx, half, limit)
