"""Kernels of exemplar-based inpainting (Criminisi, Pérez & Toyama, IEEE TIP 2004).

Three kernels, each a ``numba.njit`` CPU kernel and a ``numba.cuda.jit`` twin with the same
contract and the same result bit for bit, behind one public wrapper that takes ``device=``
(``"cpu"``: NumPy arrays; ``"cuda"``: CuPy arrays, or NumPy arrays under
``NUMBA_ENABLE_CUDASIM=1``) with the same signature and the same return on both devices, as for
the PatchMatch, voting and analogy families:

* :func:`masked_ssd_search` -- the hot loop: the source patch (wholly inside the image and
  wholly in the source region) minimising the sum of squared differences (SSD) to a target
  patch over the target's *known* pixels;
* :func:`fill_patch` -- copy the chosen exemplar into the target's unknown pixels and update
  the bookkeeping maps;
* :func:`update_priorities` -- recompute the fill-front priorities P = C·D in a box around the
  patch just filled (incremental update) and the per-row maxima used to select the next target.

Array conventions (all C-contiguous)
------------------------------------
``features`` (C, H, W) int16, channel planes, with ``|value| < 2**14``: the caller quantises
its colour features once so every SSD is an exact integer, independent of summation order.
``known`` (H, W) uint8, 1 = known (source region or already filled). ``valid`` (H-p+1, W-p+1)
uint8 over patch top-left corners, 1 where that patch may serve as a source. ``J`` (H, W) int32
intensity used for isophotes. ``conf`` (H, W) int32 confidence in fixed point (``CONF_ONE`` =
1.0). ``cterm`` (H, W) int32 confidence term of front pixels. ``pri`` (H, W) int64 priority (-1
off the front); ``rowmax`` (H,) int64 its row maxima. ``image`` (H, W, Ci) float32.
``order`` (H, W) int32 and ``source`` (H, W, 2) int32 record the step and the source pixel of
each filled pixel. Patch positions are given by their top-left corner ``(ty, tx)``, which may
lie outside the image for targets near the border (the patch is clipped).

Search result: the lexicographic minimum of ``(ssd, y, x)`` over valid corners in the box,
i.e. ties go to the smallest row-major corner; ``(INT64_MAX, -1, -1)`` if the box holds none.

CPU search. The target's known pixels are visited in a spread-out order (bit-reversed
row-major position within the patch; neighbouring pixels are correlated, so spread-out ones
reject a poor candidate sooner), channel-major (all of the first channel -- L* for Lab -- first).
Candidates are scored in blocks of ``BLOCK`` consecutive corners of a row with int32 lane
accumulators that the compiler vectorises (AVX2/AVX-512); a block stops as soon as every
lane's partial SSD exceeds the best SSD so far (partial sums never decrease, so this is
exact). Lanes saturate at ``LIMIT = 2**30``, which is exact as long as the bound is below
``LIMIT``; while it is not (large patches, poor matches), blocks use int64 lanes. The bound
is seeded by *guesses*: coherent continuations of already-filled target pixels (their source
shifted back by their offset in the patch) and the eight neighbouring patches of the target.
Row ``y`` goes to task ``y mod T`` (T = the number of Numba threads), so every task sees every
part of the image;
each task visits its rows from the target's row outwards, where good exemplars often are.
The tasks are ``nogil`` Numba functions run on a small thread pool rather than a ``prange``
loop: the search is ~1000 short parallel regions per fill, and Numba's OpenMP layer
busy-waits between regions; on a loaded 2-core machine that made two threads 3-7x *slower*
than one (measured), while pool threads sleep on a condition variable.

CUDA search (in :mod:`imgkit.kernels._criminisi_cuda`, with the other CUDA twins). A one-thread
kernel lists the target's known pixels; then one thread per candidate corner computes its SSD
in int64, a block-level min reduction of ``(ssd, index)`` in shared memory follows, then a
one-block final reduction over the block results.

The per-pixel priority and the per-pixel fill are written once as plain functions
(:mod:`imgkit.kernels._criminisi_shared`) and compiled for both targets, so the twins cannot
drift apart.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np
from numba import uint64 as _u64

from ._criminisi_cuda import fill_patch_cuda, masked_ssd_search_cuda, update_priorities_cuda
from ._criminisi_shared import (
    CONF_ONE,
    INT64_MAX,
    _fill_pixel_py,
    _pixel_priority_py,
    check_search,
    clip_box,
)
from ._xp import check_device, get_xp

__all__ = [
    "BLOCK",
    "CONF_ONE",
    "INT64_MAX",
    "LIMIT",
    "fill_patch",
    "masked_ssd_search",
    "update_priorities",
    "valid_counts",
]

#: Saturation of the int32 lane accumulators of the CPU search.
LIMIT = 1 << 30
_LIMIT32 = np.int32(LIMIT)
_BIG64 = 1 << 62  # int64 lane start of an invalid corner (above any SSD)
#: Candidates per vector block of the CPU search.
BLOCK = 64

# CPU builds of the per-pixel code shared with the CUDA twins
_pixel_priority = numba.njit(cache=True, inline="always")(_pixel_priority_py)
_fill_pixel = numba.njit(cache=True, inline="always")(_fill_pixel_py)

# --------------------------------------------------------------------------------------------
# CPU search
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _spread_rank(p):
    """Rank of each patch position (row-major index) in bit-reversed order."""
    n = p * p
    bits = 1
    while (1 << bits) < n:
        bits += 1
    rev = np.empty(n, np.int64)
    for i in range(n):
        v = 0
        for b in range(bits):
            v |= ((i >> b) & 1) << (bits - 1 - b)
        rev[i] = v
    return np.argsort(np.argsort(rev, kind="mergesort"), kind="mergesort")


@numba.njit(cache=True, nogil=True)
def _target_dims(features, known, ty, tx, p):
    """Known target pixels as channel-major 'dimensions': flat offsets and values."""
    C, H, W = features.shape
    rank = _spread_rank(p)
    n = p * p
    pos = np.empty(n, np.int64)
    key = np.empty(n, np.int64)
    K = 0
    for y in range(max(ty, 0), min(ty + p, H)):  # the patch's rows and columns inside the image
        for x in range(max(tx, 0), min(tx + p, W)):
            if known[y, x] != 0:
                q = (y - ty) * p + (x - tx)
                pos[K] = q
                key[K] = rank[q]
                K += 1
    perm = np.argsort(key[:K], kind="mergesort")
    offs = np.empty((K, 2), np.int64)
    vals = np.empty((K, C), np.int32)
    for i in range(K):
        q = pos[perm[i]]
        dy = q // p
        dx = q % p
        offs[i, 0] = dy
        offs[i, 1] = dx
        for c in range(C):
            vals[i, c] = features[c, ty + dy, tx + dx]
    dimoff = np.empty(C * K, np.int64)
    dimval = np.empty(C * K, np.int32)
    for c in range(C):
        for i in range(K):
            dimoff[c * K + i] = c * H * W + offs[i, 0] * W + offs[i, 1]
            dimval[c * K + i] = vals[i, c]
    return offs, vals, dimoff, dimval


@numba.njit(cache=True, nogil=True)
def _ssd_scalar(f, dimoff, dimval, base, limit):
    """Exact int64 SSD of the corner at flat index ``base``; stops once above ``limit``."""
    s = 0
    for i in range(dimoff.shape[0]):
        d = np.int64(f[base + dimoff[i]]) - np.int64(dimval[i])
        s += d * d
        if s > limit:
            return s
    return s


@numba.njit(cache=True, inline="always")
def _lane_block(f, acc, b, t, nb, bound):
    """acc[j] += (f[b + j] - t)**2, saturated at LIMIT (vectorised).

    Returns the number of lanes still at or below ``bound``.
    """
    ub = _u64(b)
    live = 0
    for j in range(_u64(nb)):
        d = np.int32(np.int32(f[ub + j]) - t)
        a = min(np.int32(acc[j] + np.int32(d * d)), _LIMIT32)
        acc[j] = a
        live += a <= bound
    return live


@numba.njit(cache=True, inline="always")
def _lane_block64(f, acc, b, t, nb, bound):
    """acc[j] += (f[b + j] - t)**2 in int64 lanes; returns the lanes at or below ``bound``."""
    ub = _u64(b)
    live = 0
    for j in range(_u64(nb)):
        d = np.int64(f[ub + j]) - np.int64(t)
        a = acc[j] + d * d
        acc[j] = a
        live += a <= bound
    return live


def valid_counts(valid: Any) -> Any:
    """Prefix counts of valid corners along each row, shape (hv, wv + 1), int32.

    Computed once per fill and passed to :func:`masked_ssd_search` (``counts=``), it lets the
    CPU search skip a block of corners with no valid corner, or initialise a fully valid one,
    in O(1). Same array module as ``valid`` (the CUDA search does not need it).
    """
    xp = get_xp(valid)
    out = xp.zeros((valid.shape[0], valid.shape[1] + 1), np.int32)
    out[:, 1:] = xp.cumsum(valid != 0, axis=1, dtype=np.int32)
    return out


@numba.njit(cache=True, nogil=True)
def _scan_rows(f, valid, counts, W, dimoff, dimval, y0, y1, x0, x1, task, ntask, ty, bs, by, bx):
    """Best (ssd, y, x) over rows y0 + task, y0 + task + ntask, ... of the box.

    A block of BLOCK corners is summed lane-parallel, dimension by dimension, until no lane is
    at or below the bound: in saturating int32 lanes while the bound is below LIMIT (twice the
    lanes per vector), in int64 lanes otherwise. (Measured: finishing the last few live lanes
    one by one does not pay, a 64-lane step costs about as much as two scalar ones.)
    """
    D = dimoff.shape[0]
    acc = np.empty(BLOCK, np.int32)
    acc64 = np.empty(BLOCK, np.int64)
    nrows = (y1 - y0 - task + ntask - 1) // ntask
    # this task's rows from the one nearest the target outwards, alternating sides: good
    # exemplars are often near the target, so the bound tightens early (measured 2-10 %)
    lo = min(max((ty - y0 - task + ntask // 2) // ntask, 0), max(nrows - 1, 0)) - 1
    hi = lo + 1
    for k in range(nrows):
        if hi < nrows and (lo < 0 or k % 2 == 0):
            y = y0 + task + hi * ntask
            hi += 1
        else:
            y = y0 + task + lo * ntask
            lo -= 1
        for xb in range(x0, x1, BLOCK):
            nb = min(BLOCK, x1 - xb)
            live = counts[y, xb + nb] - counts[y, xb]
            if live == 0:
                continue
            base = y * W + xb
            i = 0
            if bs < LIMIT:
                if live == nb:
                    for j in range(nb):
                        acc[j] = 0
                else:
                    for j in range(nb):
                        acc[j] = 0 if valid[y, xb + j] != 0 else _LIMIT32
                while i < D and live > 0:
                    live = _lane_block(f, acc, base + dimoff[i], dimval[i], nb, np.int32(bs))
                    i += 1
                for j in range(nb):
                    acc64[j] = acc[j]
            else:
                for j in range(nb):
                    acc64[j] = 0 if valid[y, xb + j] != 0 else _BIG64
                while i < D and live > 0:
                    live = _lane_block64(f, acc64, base + dimoff[i], dimval[i], nb, bs)
                    i += 1
            if live == 0:
                continue
            for j in range(nb):
                s = acc64[j]
                x = xb + j
                if s < bs or (s == bs and (by < 0 or y < by or (y == by and x < bx))):
                    bs = s
                    by = y
                    bx = x
    return bs, by, bx


@numba.njit(cache=True, nogil=True)
def _prepare_cpu(features, valid, known, source, use_source, ty, tx, y0, y1, x0, x1):
    """Target dimensions and the starting bound ``(bs, by, bx)`` from the guesses."""
    C, H, W = features.shape
    p = H - valid.shape[0] + 1
    f = features.reshape(C * H * W)
    offs, _, dimoff, dimval = _target_dims(features, known, ty, tx, p)
    K = offs.shape[0]
    # guesses seed the bound: coherent continuations of filled pixels, neighbouring patches
    bs = INT64_MAX
    by = -1
    bx = -1
    ng = 8 + (K if use_source else 0)
    for g in range(ng):
        if g < 8:
            a = g if g < 4 else g + 1  # the 3x3 neighbourhood without its centre
            gy = ty + (a // 3 - 1) * p
            gx = tx + (a % 3 - 1) * p
        else:
            yy = ty + offs[g - 8, 0]
            xx = tx + offs[g - 8, 1]
            if source[yy, xx, 0] < 0:
                continue
            gy = source[yy, xx, 0] - offs[g - 8, 0]
            gx = source[yy, xx, 1] - offs[g - 8, 1]
            if gy == by and gx == bx:
                continue
        if gy < y0 or gy >= y1 or gx < x0 or gx >= x1 or valid[gy, gx] == 0:
            continue
        s = _ssd_scalar(f, dimoff, dimval, gy * W + gx, bs)
        if by < 0 or s < bs or (s == bs and (gy < by or (gy == by and gx < bx))):
            bs = s
            by = gy
            bx = gx
    if by < 0:  # no usable guess: score the first valid corner of the box
        for yy in range(y0, y1):
            for xx in range(x0, x1):
                if by < 0 and valid[yy, xx] != 0:
                    bs = _ssd_scalar(f, dimoff, dimval, yy * W + xx, INT64_MAX)
                    by = yy
                    bx = xx
            if by >= 0:
                break
    return f, dimoff, dimval, bs, by, bx


_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()


def _pool(n: int):
    """A lazily created thread pool of n workers for the search tasks (one per n, kept)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(n)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[n] = ThreadPoolExecutor(max_workers=n,
                                                  thread_name_prefix="imgkit-criminisi")
        return pool


def _search_cpu(features, valid, counts, known, source, use_source, ty, tx, y0, y1, x0, x1, ntask):
    f, dimoff, dimval, bs, by, bx = _prepare_cpu(features, valid, known, source, use_source, ty,
                                                 tx, y0, y1, x0, x1)
    if by < 0:
        return INT64_MAX, -1, -1
    W = features.shape[2]
    nt = max(1, min(ntask, y1 - y0))
    args = (f, valid, counts, W, dimoff, dimval, y0, y1, x0, x1)
    if nt == 1:
        outs = [_scan_rows(*args, 0, 1, ty, bs, by, bx)]
    else:
        pool = _pool(nt)
        futs = [pool.submit(_scan_rows, *args, t, nt, ty, bs, by, bx) for t in range(nt)]
        outs = [fu.result() for fu in futs]
    for s, yy, xx in outs:
        if yy >= 0 and (s < bs or (s == bs and (yy < by or (yy == by and xx < bx)))):
            bs, by, bx = s, yy, xx
    return bs, by, bx


def _masked_ssd_search_cpu(features, valid, known, ty, tx, y0, y1, x0, x1, source, ntask, counts):
    use = source is not None
    src = source if use else np.zeros((1, 1, 2), np.int32)
    nt = numba.get_num_threads() if ntask is None else int(ntask)
    if counts is None:
        counts = valid_counts(valid)
    s, y, x = _search_cpu(features, valid, counts, known, src, use, int(ty), int(tx), y0, y1, x0,
                          x1, nt)
    if y < 0:
        return INT64_MAX, -1, -1
    return int(s), int(y), int(x)


# --------------------------------------------------------------------------------------------
# CPU fill and priority update
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _fill_cpu(image, features, J, conf, cterm, known, order, source, ty, tx, sy, sx, p, step):
    H, W = known.shape
    r = p // 2
    cval = cterm[ty + r, tx + r]
    n = 0
    for dy in range(p):
        y = ty + dy
        if y < 0 or y >= H:
            continue
        for dx in range(p):
            x = tx + dx
            if x < 0 or x >= W or known[y, x] != 0:
                continue
            _fill_pixel(image, features, J, conf, known, order, source, y, x, sy + dy, sx + dx,
                        cval, step)
            n += 1
    return n


@numba.njit(cache=True)
def _priority_cpu(J, known, conf, pri, cterm, rowmax, y0, y1, x0, x1, r, alpha2, rule):
    W = known.shape[1]
    for y in range(y0, y1):
        for x in range(x0, x1):
            pv, cv = _pixel_priority(J, known, conf, y, x, r, alpha2, rule)
            pri[y, x] = pv
            cterm[y, x] = cv
        m = pri[y, 0]
        for x in range(1, W):
            if pri[y, x] > m:
                m = pri[y, x]
        rowmax[y] = m


# --------------------------------------------------------------------------------------------
# Public wrappers: one per kernel, same signature and same return on both devices
# --------------------------------------------------------------------------------------------


def masked_ssd_search(
    features: Any,
    valid: Any,
    known: Any,
    ty: int,
    tx: int,
    box: tuple[int, int, int, int] | None = None,
    source: Any = None,
    ntask: int | None = None,
    counts: Any = None,
    *,
    bound: int | None = None,
    device: str = "cpu",
) -> tuple[int, int, int]:
    """Best source patch for the target patch at ``(ty, tx)``.

    Parameters
    ----------
    features : ndarray, shape (C, H, W), int16
        Quantised features, ``|value| < 2**14``.
    valid : ndarray, shape (H - p + 1, W - p + 1), uint8
        Nonzero at the top-left corners of admissible source patches (p is implied).
    known : ndarray, shape (H, W), uint8
        Nonzero at known pixels; the target is compared over its known in-image pixels.
    ty, tx : int
        Top-left corner of the target patch (may be negative or exceed ``H - p``).
    box : (y0, y1, x0, x1), optional
        Search only corners in ``[y0, y1) × [x0, x1)`` (clipped to ``valid``). Default: all.
    source : ndarray, shape (H, W, 2), int32, optional
        Source map of filled pixels (-1 elsewhere). Speed only: the CPU search seeds its
        pruning bound with the coherent continuations it gives.
    ntask : int, optional
        CPU parallel tasks, each a ``nogil`` Numba call on a thread pool (default:
        ``numba.get_num_threads()``; 1 runs in the calling thread).
    counts : ndarray, optional
        :func:`valid_counts` of ``valid``. Speed only (CPU): computed here when not given;
        pass it when searching many targets against the same ``valid``.
    bound : int, optional
        An SSD that some valid corner in the box attains. Speed only (CUDA): threads stop
        summing once above it.
    device : {"cpu", "cuda"}
        ``"cpu"``: NumPy arrays, the pruned SIMD Numba kernel on a thread pool. ``"cuda"``:
        the Numba-CUDA twin (one thread per candidate corner, block min reductions) on CuPy
        arrays (NumPy arrays under ``NUMBA_ENABLE_CUDASIM=1``).

    Returns
    -------
    ssd, y, x : int
        Lexicographic minimum of ``(ssd, y, x)``; ``(INT64_MAX, -1, -1)`` if the box holds no
        valid corner. The same on both devices, whatever the speed hints.
    """
    check_device(device, features, valid, known)
    check_search(features, valid, known)
    y0, y1, x0, x1 = clip_box(valid.shape, box)
    if y1 <= y0 or x1 <= x0:
        return INT64_MAX, -1, -1
    if device == "cpu":
        return _masked_ssd_search_cpu(features, valid, known, ty, tx, y0, y1, x0, x1, source, ntask,
                                      counts)
    return masked_ssd_search_cuda(features, valid, known, ty, tx, y0, y1, x0, x1, bound)


def fill_patch(image: Any, features: Any, J: Any, conf: Any, cterm: Any, known: Any, order: Any,
               source: Any, ty: int, tx: int, sy: int, sx: int, p: int, step: int, *,
               device: str = "cpu") -> int:
    """Copy the exemplar at corner ``(sy, sx)`` into the unknown pixels of the target at
    ``(ty, tx)``.

    Every map is updated in place: image and feature values, intensity ``J``; confidence
    ``conf`` = the target centre's confidence term ``cterm[ty + r, tx + r]``; ``known`` = 1;
    ``order`` = ``step``; ``source`` = the source pixel. ``device="cpu"`` runs the Numba
    kernel on NumPy arrays, ``"cuda"`` the twin (one thread per patch pixel) on CuPy arrays.

    Returns
    -------
    int
        The number of pixels filled (the target's unknown in-image pixels).
    """
    check_device(device, image, known)
    ty, tx, sy, sx, p, step = (int(v) for v in (ty, tx, sy, sx, p, step))
    if device == "cpu":
        return int(_fill_cpu(image, features, J, conf, cterm, known, order, source, ty, tx, sy,
                             sx, p, step))
    H, W = known.shape
    y0, y1, x0, x1 = max(ty, 0), min(ty + p, H), max(tx, 0), min(tx + p, W)
    n = (y1 - y0) * (x1 - x0) - int(known[y0:y1, x0:x1].sum())
    fill_patch_cuda(image, features, J, conf, cterm, known, order, source, ty, tx, sy, sx, p, step)
    return n


def update_priorities(J: Any, known: Any, conf: Any, pri: Any, cterm: Any, rowmax: Any,
                      box: tuple[int, int, int, int], p: int, alpha: float, rule: int, *,
                      device: str = "cpu") -> None:
    """Recompute priorities and confidence terms in ``box = (y0, y1, x0, x1)``.

    ``pri`` gets P = C·D (``rule`` 0) or Cheng et al.'s ``0.2 RC + 0.8 D`` with
    ``RC = 0.3 C + 0.7`` (``rule`` 1), both in fixed point (see ``_pixel_priority_py``), and -1
    off the front; ``rowmax`` is refreshed for the rows of the box. ``alpha`` is the intensity
    range of ``J`` (D = |∇I⊥·n| / α with central differences over two pixels).
    ``device="cpu"`` runs the Numba kernel on NumPy arrays, ``"cuda"`` the twin (one thread
    per pixel of the box, then one per row for the row maxima) on CuPy arrays.
    """
    check_device(device, J, known)
    H, W = known.shape
    y0, y1 = max(int(box[0]), 0), min(int(box[1]), H)
    x0, x1 = max(int(box[2]), 0), min(int(box[3]), W)
    args = (J, known, conf, pri, cterm, rowmax, y0, y1, x0, x1, int(p) // 2, float(2 * alpha), int(rule))
    if device == "cpu":
        _priority_cpu(*args)
    elif y1 > y0 and x1 > x0:
            update_priorities_cuda(*args)
