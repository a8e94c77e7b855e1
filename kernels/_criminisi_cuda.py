"""The Numba-CUDA twins of the Criminisi kernels (see :mod:`imgkit.kernels.criminisi` for the
contract; its public wrappers call these with ``device="cuda"``).

Search: a one-thread kernel lists the target's known pixels; then one thread per candidate
corner computes its SSD in int64, a block-level min reduction of ``(ssd, index)`` in shared
memory follows, then a one-block final reduction over the block results. Fill: one thread per
patch pixel. Priorities: one thread per pixel of the box, then one per row for the row maxima.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numba
import numpy as np
from numba import cuda

from . import config
from ._criminisi_shared import INT64_MAX, _fill_pixel_py, _pixel_priority_py
from ._xp import get_xp, to_numpy

_pixel_priority_dev = cuda.jit(device=True)(_pixel_priority_py)
_fill_pixel_dev = cuda.jit(device=True)(_fill_pixel_py)

_TPB = config.THREADS_PER_BLOCK
_TPB2 = 1 << max(0, (_TPB - 1).bit_length())  # next power of two ≥ _TPB
_TILE = config.TILE


@cuda.jit(device=True, inline=True)
def _less(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 < i2)


@cuda.jit(device=True)
def _block_min(sh_s, sh_i, tid):
    step = _TPB2 // 2
    while step > 0:
        if tid < step and tid + step < _TPB:
            if _less(sh_s[tid + step], sh_i[tid + step], sh_s[tid], sh_i[tid]):
                sh_s[tid] = sh_s[tid + step]
                sh_i[tid] = sh_i[tid + step]
        cuda.syncthreads()
        step //= 2


@cuda.jit
def _target_cuda(features, known, ty, tx, p, offs, vals, kbuf):
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        C = features.shape[0]
        H = features.shape[1]
        W = features.shape[2]
        K = 0
        for dy in range(p):
            y = ty + dy
            if y < 0 or y >= H:
                continue
            for dx in range(p):
                x = tx + dx
                if x < 0 or x >= W or known[y, x] == 0:
                    continue
                offs[K, 0] = dy
                offs[K, 1] = dx
                for c in range(C):
                    vals[K, c] = features[c, y, x]
                K += 1
        kbuf[0] = K


@cuda.jit
def _search_cuda(features, valid, offs, vals, kbuf, y0, x0, bw, n, bound, out_s, out_i):
    sh_s = cuda.shared.array(_TPB, numba.int64)
    sh_i = cuda.shared.array(_TPB, numba.int64)
    tid = cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x + tid
    s = INT64_MAX
    idx = INT64_MAX
    if g < n:
        y = y0 + g // bw
        x = x0 + g % bw
        if valid[y, x] != 0:
            acc = 0
            K = kbuf[0]
            C = features.shape[0]
            for k in range(K):
                py = y + offs[k, 0]
                px = x + offs[k, 1]
                for c in range(C):
                    d = numba.int64(features[c, py, px]) - numba.int64(vals[k, c])
                    acc += d * d
                if acc > bound:
                    break
            if acc <= bound:
                s = acc
                idx = g
    sh_s[tid] = s
    sh_i[tid] = idx
    cuda.syncthreads()
    _block_min(sh_s, sh_i, tid)
    if tid == 0:
        out_s[cuda.blockIdx.x] = sh_s[0]
        out_i[cuda.blockIdx.x] = sh_i[0]


@cuda.jit
def _reduce_cuda(in_s, in_i, n, out_s, out_i):
    sh_s = cuda.shared.array(_TPB, numba.int64)
    sh_i = cuda.shared.array(_TPB, numba.int64)
    tid = cuda.threadIdx.x
    s = INT64_MAX
    idx = INT64_MAX
    j = tid
    while j < n:
        if _less(in_s[j], in_i[j], s, idx):
            s = in_s[j]
            idx = in_i[j]
        j += _TPB
    sh_s[tid] = s
    sh_i[tid] = idx
    cuda.syncthreads()
    _block_min(sh_s, sh_i, tid)
    if tid == 0:
        out_s[0] = sh_s[0]
        out_i[0] = sh_i[0]


@contextmanager
def _small_grids_ok():
    """Numba-CUDA warns about launches of few blocks; these tiny launches are deliberate."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Grid size \d+ will likely result in GPU")
        yield


def masked_ssd_search_cuda(features, valid, known, ty, tx, y0, y1, x0, x1, bound):
    """Best ``(ssd, y, x)`` over the non-empty, clipped box ``[y0, y1) × [x0, x1)``.

    Launches: one thread to list the target's known pixels, ``ceil(n / THREADS_PER_BLOCK)``
    blocks with one thread per candidate corner of the box (row-major) and a block-level min
    reduction, then one block for the final reduction."""
    p = features.shape[1] - valid.shape[0] + 1
    xp = get_xp(features)
    C = features.shape[0]
    offs = xp.empty((p * p, 2), np.int32)
    vals = xp.empty((p * p, C), np.int32)
    kbuf = xp.zeros(1, np.int32)
    bw = x1 - x0
    n = (y1 - y0) * bw
    nblocks = (n + _TPB - 1) // _TPB
    blk_s = xp.empty(nblocks, np.int64)
    blk_i = xp.empty(nblocks, np.int64)
    res = xp.empty(2, np.int64)
    b = INT64_MAX if bound is None else int(bound)
    with _small_grids_ok():
        _target_cuda[1, 1](features, known, int(ty), int(tx), p, offs, vals, kbuf)
        _search_cuda[nblocks, _TPB](features, valid, offs, vals, kbuf, y0, x0, bw, n, b,
                                    blk_s, blk_i)
        _reduce_cuda[1, _TPB](blk_s, blk_i, nblocks, res[0:1], res[1:2])
    s, i = (int(v) for v in to_numpy(res))
    if i == INT64_MAX:
        return INT64_MAX, -1, -1
    return s, y0 + i // bw, x0 + i % bw


@cuda.jit
def _fill_cuda(image, features, J, conf, cterm, known, order, source, ty, tx, sy, sx, p, step):
    dx, dy = cuda.grid(2)
    H = known.shape[0]
    W = known.shape[1]
    if dy >= p or dx >= p:
        return
    y = ty + dy
    x = tx + dx
    if y < 0 or y >= H or x < 0 or x >= W or known[y, x] != 0:
        return
    r = p // 2
    cval = cterm[ty + r, tx + r]  # centre is a hole pixel: its cterm is never overwritten here
    _fill_pixel_dev(image, features, J, conf, known, order, source, y, x, sy + dy, sx + dx, cval, step)


def fill_patch_cuda(image, features, J, conf, cterm, known, order, source, ty, tx, sy, sx, p,
                    step):
    """One thread per patch pixel."""
    nb = (p + _TILE - 1) // _TILE
    with _small_grids_ok():
        _fill_cuda[(nb, nb), (_TILE, _TILE)](image, features, J, conf, cterm, known, order,
                                             source, ty, tx, sy, sx, p, step)


@cuda.jit
def _priority_cuda(J, known, conf, pri, cterm, y0, y1, x0, x1, r, alpha2, rule):
    j, i = cuda.grid(2)  # x varies fastest across threads: coalesced rows
    y = y0 + i
    x = x0 + j
    if y < y1 and x < x1:
        pv, cv = _pixel_priority_dev(J, known, conf, y, x, r, alpha2, rule)
        pri[y, x] = pv
        cterm[y, x] = cv


@cuda.jit
def _rowmax_cuda(pri, rowmax, y0, y1):
    y = y0 + cuda.grid(1)
    if y < y1:
        m = pri[y, 0]
        for x in range(1, pri.shape[1]):
            if pri[y, x] > m:
                m = pri[y, x]
        rowmax[y] = m


def update_priorities_cuda(J, known, conf, pri, cterm, rowmax, y0, y1, x0, x1, r, alpha2, rule):
    """One thread per pixel of the box, then one thread per row for the row maxima."""
    grid = ((x1 - x0 + _TILE - 1) // _TILE, (y1 - y0 + _TILE - 1) // _TILE)
    with _small_grids_ok():
        _priority_cuda[grid, (_TILE, _TILE)](J, known, conf, pri, cterm, y0, y1, x0, x1, r,
                                             alpha2, rule)
        _rowmax_cuda[(y1 - y0 + _TPB - 1) // _TPB, _TPB](pri, rowmax, y0, y1)
