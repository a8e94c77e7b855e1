"""Image-analogy best match (Hertzmann et al. 2001): the scan-line pass of one pyramid level, as a
Numba CPU kernel and its Numba-CUDA twin.

The approximate nearest-neighbour search itself is not here: it is the PatchMatch engine of
:mod:`imgkit.kernels.patchmatch`. This module does what the engine cannot: the *sequential*
synthesis of ``B'`` in scan-line order, where the feature of a pixel contains the part of
``B'`` synthesised just before it, and the choice between the approximate match and the
coherence match (Ashikhmin 2001) of the paper's ``BestMatch``.

Contract (array in, array out; NumPy on the CPU, CuPy -- or NumPy under Numba's CUDA simulator
-- on the GPU)
-------------------------------------------------------------------------------------------------
* ``target`` ``T``: float32 ``(H, W, C)`` feature image of ``B`` at one level. Channel ``fc``
  (the "filtered" channel) holds ``B'`` and is **written** by the pass: when pixel ``q`` gets
  source ``p``, ``T[q, fc] = S[p, fc]``.
* ``source`` ``S``: float32 ``(H', W', C)`` feature image of ``A`` (channel ``fc`` = ``A'``).
* ``kernel`` ``k``: float32 ``(P, P, C)`` ≥ 0, odd ``P``: the weight of each neighbourhood
  offset and channel. For analogies: a Gaussian on the ``B`` channels, a Gaussian times the
  causal (already synthesised) mask on the ``B'`` channel, and the coarser level's Gaussian at
  the offsets ``2d`` of channels that hold the coarser level upsampled by pixel replication.
* ``valid``: bool ``(H', W')``: the source centres that may be chosen. Every valid centre must
  be at least ``P // 2`` from the border of ``S`` (pad ``S`` to make every pixel of ``A``
  usable); the wrapper checks it.
* ``approx``: int32 ``(H, W, 2)``: the approximate match ``p_app`` of every target pixel (e.g.
  a PatchMatch field); ignored in exact mode, where ``p_app`` is the exhaustive best over all
  valid centres.
* ``coh_radius`` ``r``: the coherence candidates of ``q`` come from the already synthesised
  pixels ``q + o`` with ``|o_y|, |o_x| ≤ r`` and ``o`` before ``0`` in scan order
  (``o_y < 0``, or ``o_y == 0`` and ``o_x < 0``): candidate ``s(q + o) − o``.
* ``factor``: the coherence factor ``1 + 2^(l − L) κ``.
* Outputs: ``s`` int32 ``(H, W, 2)`` the chosen source centre of every pixel, and ``coh`` bool
  ``(H, W)`` where the coherence candidate was chosen *and* differs from ``p_app`` (where both
  are the same pixel, nothing was won). Rows ``r0 ≤ y < r1`` are processed;
  rows above ``r0`` must already hold their results (the pass can run in chunks of rows).

Distance (float32, summed in a fixed order on both devices)
    ``d(q, p) = Σ_{taps} k(o, c) (T(q + o, c) − S(p + o, c))²`` over the taps ``(o, c)`` with
    ``k(o, c) > 0`` and ``q + o`` inside the target (target neighbourhoods are clipped at the
    border), accumulated as ``acc += k * (d * d)`` in the order of :func:`kernel_taps`: first the
    *static* taps (every channel but ``fc``; by ``o_y``, then ``o_x``, then ``c``), then the
    ``B'`` taps (by ``o_y``, then ``o_x``). No normalisation: every comparison is between
    candidates of the same ``q``. Single evaluations (approximate and coherence candidates) are
    checked against the current best after each tap row and stop once above it; this only cuts
    short distances that cannot win, so every device computes the winner's distance to the bit.

BestMatch (the paper's Fig. 2), for each ``q`` in scan-line order
    1. ``p_app``: ``approx[q]`` (re-scored with the full feature, ``B'`` part included), or in
       exact mode the valid centre with the smallest distance, ties to the first in raster order.
    2. ``p_coh``: the coherence candidate with the smallest distance (ties to the first in the
       order of the offsets: rows top to bottom, columns left to right); candidates outside the
       valid centres are skipped.
    3. Choose ``p_coh`` when it exists and ``d(p_coh) ≤ d(p_app) · factor``, else ``p_app``.

CPU (``numba.njit``)
    One thread walks the pixels in scan-line order. In exact mode, for each target row, the
    static part of the distance from every pixel of the row to every source centre (of the
    bounding box of ``valid``) is computed first, in parallel over source rows (``prange``) and
    vectorised over source columns, tap by tap in the taps' order; then, pixel by pixel, the
    ``B'`` taps are added on top (now known: the pixels before ``q`` are synthesised) and the
    first minimum in raster order is taken. Same sums as a pair-by-pair evaluation, so the
    result does not depend on the thread count and equals the CUDA twin's.

CUDA twin (``numba.cuda.jit``, one block)
    The scan-line order is inherently sequential, so the twin keeps it: a single block of
    ``THREADS_PER_BLOCK`` threads walks the pixels in scan-line order and shares the work *of
    each pixel* -- the exhaustive search (exact mode, every thread takes every ``nt``-th source
    centre, then a shared-memory reduction to the first minimum in raster order) and the
    coherence candidates (one per thread) -- with ``syncthreads`` between the pixel's steps. It
    evaluates the same candidates with the same float32 arithmetic in the same order, so its
    output equals the CPU kernel's (the tests compare them for equality under the simulator).
    This is the "exhaustive parallel search" GPU form: exact, but it uses one streaming
    multiprocessor; its speed comes from the per-pixel parallel search, not from pixel-level
    parallelism (parallel correction passes in the style of Lefebvre & Hoppe 2005 would use the
    whole GPU but give a different, non-causal result).

References
----------
.. [1] A. Hertzmann, C. E. Jacobs, N. Oliver, B. Curless, D. H. Salesin, "Image Analogies",
   SIGGRAPH 2001.
.. [2] M. Ashikhmin, "Synthesizing Natural Textures", I3D 2001.
"""

# ruff: noqa: F821  (the bodies call their target's helpers: names the namespace tables define)

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import cuda, prange

from . import config
from ._jit import rebind
from ._xp import check_device, gpu_xp, to_numpy

__all__ = ["causal_offsets", "kernel_taps", "scanline_pass"]

#: Largest block the CUDA twin launches (size of its shared-memory reduction buffers).
_MAX_THREADS = 1024
#: Largest number of coherence candidates (``coh_radius ≤ 7``: 2·7² + 7 = 105).
_MAX_COH = 112


# ---------------------------------------------------------------------------------------------
# Shared scalar code: compiled for the CPU (njit) and as CUDA device functions
# ---------------------------------------------------------------------------------------------


def _dist_rows_py(T, S, qy, qx, py, px, tdy, tdx, tc, tw, rend, row0, row1, acc, limit):
    # Adds the taps of tap rows [row0, row1) to `acc` (target clipped at its border); stops after
    # a tap row once the sum exceeds `limit`.
    H = T.shape[0]
    W = T.shape[1]
    k = 0
    if row0 > 0:
        k = rend[row0 - 1]
    for r in range(row0, row1):
        e = rend[r]
        while k < e:
            y = qy + tdy[k]
            x = qx + tdx[k]
            if y >= 0 and y < H and x >= 0 and x < W:
                c = tc[k]
                d = T[y, x, c] - S[py + tdy[k], px + tdx[k], c]
                acc += tw[k] * (d * d)
            k += 1
        if acc > limit:
            return acc
    return acc


def _dist_py(T, S, qy, qx, py, px, tdy, tdx, tc, tw, rend, limit):
    # The full weighted SSD over all taps.
    return _dist_rows(T, S, qy, qx, py, px, tdy, tdx, tc, tw, rend, 0, rend.shape[0], np.float32(0.0), limit)


def _coh_candidate_py(s, qy, qx, oy, ox, W, valid):
    # Coherence candidate of q from its synthesised neighbour q + o: s(q + o) - o; (-1, -1) when
    # the neighbour is outside the target or the candidate is not a valid centre.
    ry = qy + oy
    rx = qx + ox
    if ry < 0 or rx < 0 or rx >= W:
        return -1, -1
    cy = np.int64(s[ry, rx, 0]) - oy
    cx = np.int64(s[ry, rx, 1]) - ox
    if cy < 0 or cx < 0 or cy >= valid.shape[0] or cx >= valid.shape[1]:
        return -1, -1
    if not valid[cy, cx]:
        return -1, -1
    return cy, cx


# ---------------------------------------------------------------------------------------------
# CPU kernels
# ---------------------------------------------------------------------------------------------


def _choose_py(T, S, fc, y, x, ay, ax, ad, tdy, tdx, tc, tw, rend, cdy, cdx, valid, s, coh, factor):
    # Coherence match among the synthesised neighbours, the kappa rule, and the write-back.
    W = T.shape[1]
    by = np.int64(-1)
    bx = np.int64(-1)
    bd = np.float32(np.inf)
    for j in range(cdy.shape[0]):
        cy, cx = _coh_candidate(s, y, x, cdy[j], cdx[j], W, valid)
        if cy < 0:
            continue
        dup = False
        for i in range(j):  # the same candidate from another neighbour: same distance, skip
            ey, ex = _coh_candidate(s, y, x, cdy[i], cdx[i], W, valid)
            if ey == cy and ex == cx:
                dup = True
                break
        if dup:
            continue
        d = _dist(T, S, y, x, cy, cx, tdy, tdx, tc, tw, rend, bd)
        if d < bd:
            by = cy
            bx = cx
            bd = d
    if by >= 0 and (ay < 0 or bd <= ad * factor):
        py, px, won = by, bx, (by != ay or bx != ax)
    else:
        py, px, won = ay, ax, False
    s[y, x, 0] = py
    s[y, x, 1] = px
    coh[y, x] = won
    T[y, x, fc] = S[py, px, fc]


def _scan_approx_cpu_py(T, S, fc, tdy, tdx, tc, tw, rend, cdy, cdx, valid, approx, s, coh, r0, r1, factor):
    W = T.shape[1]
    for y in range(r0, r1):
        for x in range(W):
            ay = np.int64(approx[y, x, 0])
            ax = np.int64(approx[y, x, 1])
            ad = np.float32(np.inf)
            if 0 <= ay < valid.shape[0] and 0 <= ax < valid.shape[1] and valid[ay, ax]:
                ad = _dist(T, S, y, x, ay, ax, tdy, tdx, tc, tw, rend, np.inf)
            else:
                ay = -1
                ax = -1
            _choose(T, S, fc, y, x, ay, ax, ad, tdy, tdx, tc, tw, rend, cdy, cdx, valid, s, coh, factor)


def _static_row_py(T, Sc, y, tdy, tdx, tc, tw, n_static, by0, bx0, buf):
    # The static part (taps [0, n_static): every channel but B') of the distance from each pixel
    # of target row y to each source centre of the box [by0, by0 + nby) × [bx0, bx0 + nbx), tap by
    # tap in the taps' order (the same float32 sums as _dist), vectorised over source columns.
    H = T.shape[0]
    W = T.shape[1]
    nby = buf.shape[1]
    nbx = buf.shape[2]
    for ii in prange(nby):
        i = np.int64(ii)
        for x in range(W):
            row = buf[x, i]
            row[:] = 0.0
            for k in range(n_static):
                ty = y + tdy[k]
                tx = x + tdx[k]
                if ty < 0 or ty >= H or tx < 0 or tx >= W:
                    continue
                c = tc[k]
                t = T[ty, tx, c]
                w = tw[k]
                src = Sc[c, by0 + i + tdy[k]]
                off = bx0 + tdx[k]
                for j in range(nbx):
                    d = t - src[off + j]
                    row[j] += w * (d * d)


def _scan_exact_cpu_py(T, S, Sc, fc, tdy, tdx, tc, tw, rend, n_static, cdy, cdx, valid, s, coh, r0, r1,
                       factor, by0, bx0, buf, acc):
    H = T.shape[0]
    W = T.shape[1]
    nby = buf.shape[1]
    nbx = buf.shape[2]
    n_taps = tdy.shape[0]
    for y in range(r0, r1):
        _static_row(T, Sc, y, tdy, tdx, tc, tw, n_static, by0, bx0, buf)
        for x in range(W):
            acc[:, :] = buf[x]
            # the causal B' taps, in order, on top of the static sum
            for k in range(n_static, n_taps):
                ty = y + tdy[k]
                tx = x + tdx[k]
                if ty < 0 or ty >= H or tx < 0 or tx >= W:
                    continue
                t = T[ty, tx, fc]
                w = tw[k]
                for i in range(nby):
                    src = Sc[fc, by0 + i + tdy[k]]
                    off = bx0 + tdx[k]
                    a = acc[i]
                    for j in range(nbx):
                        d = t - src[off + j]
                        a[j] += w * (d * d)
            # exhaustive best: the first minimum in raster order among the valid centres
            ay = np.int64(-1)
            ax = np.int64(-1)
            ad = np.float32(np.inf)
            for i in range(nby):
                for j in range(nbx):
                    if acc[i, j] < ad and valid[by0 + i, bx0 + j]:
                        ad = acc[i, j]
                        ay = by0 + i
                        ax = bx0 + j
            _choose(T, S, fc, y, x, ay, ax, ad, tdy, tdx, tc, tw, rend, cdy, cdx, valid, s, coh, factor)


# ---------------------------------------------------------------------------------------------
# CUDA twin: one block walks the scan line; the threads share each pixel's work
# ---------------------------------------------------------------------------------------------


def _scan_gpu_py(T, S, fc, tdy, tdx, tc, tw, rend, cdy, cdx, valid, approx, s, coh, r0, r1, factor, exact):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    W = T.shape[1]
    Hs = S.shape[0]
    Ws = S.shape[1]
    ncoh = cdy.shape[0]
    red_d = cuda.shared.array(_MAX_THREADS, dtype=numba.float32)
    red_i = cuda.shared.array(_MAX_THREADS, dtype=numba.int64)
    coh_d = cuda.shared.array(_MAX_COH, dtype=numba.float32)
    coh_y = cuda.shared.array(_MAX_COH, dtype=numba.int64)
    coh_x = cuda.shared.array(_MAX_COH, dtype=numba.int64)
    for y in range(r0, r1):
        for x in range(W):
            # 1. approximate (or exhaustive) match, per thread
            bd = np.float32(np.inf)
            bi = np.int64(-1)
            if exact:
                idx = tid
                while idx < Hs * Ws:
                    sy = idx // Ws
                    sx = idx - sy * Ws
                    if valid[sy, sx]:
                        d = _dist(T, S, y, x, sy, sx, tdy, tdx, tc, tw, rend, bd)
                        if d < bd:
                            bd = d
                            bi = idx
                    idx += nt
            elif tid == 0:
                ay = np.int64(approx[y, x, 0])
                ax = np.int64(approx[y, x, 1])
                if 0 <= ay < Hs and 0 <= ax < Ws and valid[ay, ax]:
                    bd = _dist(T, S, y, x, ay, ax, tdy, tdx, tc, tw, rend, np.inf)
                    bi = ay * Ws + ax
            red_d[tid] = bd
            red_i[tid] = bi
            # 2. coherence candidates, one per thread (full distances)
            j = tid
            while j < ncoh:
                cy, cx = _coh_candidate(s, y, x, cdy[j], cdx[j], W, valid)
                coh_y[j] = cy
                coh_x[j] = cx
                if cy >= 0:
                    coh_d[j] = _dist(T, S, y, x, cy, cx, tdy, tdx, tc, tw, rend, np.inf)
                else:
                    coh_d[j] = np.inf
                j += nt
            cuda.syncthreads()
            # 3. reduce and choose (thread 0)
            if tid == 0:
                ad = np.float32(np.inf)
                ai = np.int64(-1)
                for t in range(nt):
                    ri = red_i[t]
                    if ri >= 0 and (ai < 0 or red_d[t] < ad or (red_d[t] == ad and ri < ai)):
                        ad = red_d[t]
                        ai = ri
                cb = np.float32(np.inf)
                cj = -1
                for t in range(ncoh):
                    if coh_y[t] >= 0 and (cj < 0 or coh_d[t] < cb):
                        cb = coh_d[t]
                        cj = t
                if cj >= 0 and (ai < 0 or cb <= ad * factor):
                    py = coh_y[cj]
                    px = coh_x[cj]
                    won = ai < 0 or py * Ws + px != ai
                else:
                    py = ai // Ws
                    px = ai - py * Ws
                    won = False
                s[y, x, 0] = py
                s[y, x, 1] = px
                coh[y, x] = won
                T[y, x, fc] = S[py, px, fc]
            cuda.syncthreads()


# ---------------------------------------------------------------------------------------------
# One namespace table per compilation target (as kernels/patchmatch/): every body above resolves
# its helpers (_dist_rows, _dist, _coh_candidate, ...) in the table of the target it is compiled
# for. Each table is complete before anything compiles (Numba resolves globals when it compiles);
# ``__name__``: Numba's cache rebuilds a cached function's environment from that module.
# ---------------------------------------------------------------------------------------------


def _njit(body, table, **options):
    return numba.njit(cache=True, **options)(rebind(body, table))


def _device(body):
    return cuda.jit(device=True)(rebind(body, _GPU))


_CPU: dict[str, Any] = {"__name__": __name__, "np": np, "prange": prange}
_CPU.update(
    _dist_rows=_njit(_dist_rows_py, _CPU),
    _dist=_njit(_dist_py, _CPU),
    _coh_candidate=_njit(_coh_candidate_py, _CPU),
    _choose=_njit(_choose_py, _CPU),
    _static_row=_njit(_static_row_py, _CPU, parallel=True),
)
_scan_approx_cpu = _njit(_scan_approx_cpu_py, _CPU)
_scan_exact_cpu = _njit(_scan_exact_cpu_py, _CPU)

_GPU: dict[str, Any] = {"__name__": __name__, "np": np, "numba": numba, "cuda": cuda,
                        "_MAX_THREADS": _MAX_THREADS, "_MAX_COH": _MAX_COH}
_GPU.update(
    _dist_rows=_device(_dist_rows_py),
    _dist=_device(_dist_py),
    _coh_candidate=_device(_coh_candidate_py),
)
_scan_gpu = cuda.jit(rebind(_scan_gpu_py, _GPU, "_scan_gpu"))


# ---------------------------------------------------------------------------------------------
# Public helpers and wrapper
# ---------------------------------------------------------------------------------------------


def kernel_taps(kernel: Any, filtered_channel: int) -> tuple[np.ndarray, ...]:
    """The nonzero entries of a ``(P, P, C)`` weight kernel as taps, in the kernels' order.

    Parameters
    ----------
    kernel : float32 ndarray, shape (P, P, C)
        Weights ``k(o, c) ≥ 0``; offset ``o = (i - P // 2, j - P // 2)`` for entry ``(i, j)``.
    filtered_channel : int
        The ``B'`` channel: its taps come last.

    Returns
    -------
    dy, dx, c : int64 ndarray, shape (n,)
        Offset and channel of each tap: first the taps of every other channel ordered by ``dy``,
        then ``dx``, then ``c`` (the *static* part, which does not change during the scan), then
        the filtered channel's taps ordered by ``dy``, then ``dx``.
    w : float32 ndarray, shape (n,)
        Weights.
    row_end : int64 ndarray, shape (rows,)
        One past the last tap of each tap row (a run of equal ``dy`` within a group): the early
        termination check points.
    n_static_rows : int
        How many of those rows belong to the static part.
    """
    k = np.asarray(kernel, dtype=np.float32)
    if k.ndim != 3 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise ValueError(f"kernel must have shape (P, P, C) with odd P; got {k.shape}")
    if not np.isfinite(k).all() or (k < 0).any():
        raise ValueError("kernel must be finite and ≥ 0")
    if not 0 <= filtered_channel < k.shape[2]:
        raise ValueError(f"filtered_channel must be in [0, {k.shape[2]}); got {filtered_channel!r}")
    h = k.shape[0] // 2
    i, j, c = np.nonzero(k > 0)  # C order: by i (dy), then j (dx), then c
    if i.size == 0:
        raise ValueError("kernel has no positive weight")
    order = np.argsort(c == filtered_channel, kind="stable")  # static taps first, order kept
    i, j, c = i[order], j[order], c[order]
    group = (c == filtered_channel).astype(np.int64)
    new_row = np.flatnonzero((np.diff(i) != 0) | (np.diff(group) != 0)) + 1
    row_end = np.append(new_row, i.size).astype(np.int64)
    n_static_rows = int(np.count_nonzero(group[row_end - 1] == 0))
    return ((i - h).astype(np.int64), (j - h).astype(np.int64), c.astype(np.int64),
            k[i, j, c].astype(np.float32), row_end, n_static_rows)


def causal_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``o`` with ``|o_y|, |o_x| ≤ radius`` that come before ``(0, 0)`` in scan order.

    Returns ``(dy, dx)`` int64 arrays ordered by rows top to bottom, then columns left to right
    (the coherence candidates' tie order).
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or not 1 <= radius <= 7:
        raise ValueError(f"radius must be an integer in [1, 7]; got {radius!r}")
    r = int(radius)
    oy, ox = np.mgrid[-r : r + 1, -r : r + 1]
    keep = (oy < 0) | ((oy == 0) & (ox < 0))
    return oy[keep].astype(np.int64), ox[keep].astype(np.int64)


def scanline_pass(
    target: Any,
    source: Any,
    kernel: Any,
    filtered_channel: int,
    valid: Any,
    s: Any,
    coh: Any,
    *,
    approx: Any = None,
    coh_radius: int = 2,
    factor: float = 1.0,
    rows: tuple[int, int] | None = None,
    device: str = "cpu",
) -> None:
    """Synthesise ``B'`` at one level in scan-line order (the paper's ``BestMatch`` per pixel).

    Parameters
    ----------
    target : float32 ndarray, shape (H, W, C), C-contiguous
        Features of ``B``; channel ``filtered_channel`` (``B'``) is written in place.
    source : float32 ndarray, shape (H', W', C)
        Features of ``A``; channel ``filtered_channel`` is ``A'``.
    kernel : float32 ndarray, shape (P, P, C)
        Feature weights (see the module docstring).
    filtered_channel : int
        The ``B'`` / ``A'`` channel.
    valid : bool ndarray, shape (H', W')
        Source centres that may be chosen; each at least ``P // 2`` from the source border.
    s : int32 ndarray, shape (H, W, 2), C-contiguous
        Output: chosen source centre per pixel (rows before ``rows[0]`` are read).
    coh : bool ndarray, shape (H, W)
        Output: True where the coherence match was chosen.
    approx : int32 ndarray, shape (H, W, 2), optional
        Approximate matches ``p_app``; ``None`` means exact mode (exhaustive search).
    coh_radius : int
        Coherence neighbourhood radius (candidates from the causal part of the
        ``(2r + 1)²`` window).
    factor : float
        ``1 + 2^(l - L) κ``; ≥ 1.
    rows : (int, int), optional
        Rows ``[r0, r1)`` to process (default all).
    device : {"cpu", "cuda"}
        ``"cuda"``: the one-block CUDA twin on CuPy arrays (NumPy under the simulator).

    References
    ----------
    .. [1] A. Hertzmann et al., "Image Analogies", SIGGRAPH 2001, section 3.2.
    """
    check_device(device, target, source, valid, s, coh)
    xp = np if device == "cpu" else gpu_xp()
    if tuple(target.shape[:2]) != tuple(s.shape[:2]) or tuple(coh.shape) != tuple(target.shape[:2]):
        raise ValueError("s and coh must have the target's height and width")
    if target.ndim != 3 or source.ndim != 3 or target.shape[2] != source.shape[2]:
        raise ValueError(f"target {target.shape} and source {source.shape} must be (H, W, C) with equal C")
    C = target.shape[2]
    if not 0 <= filtered_channel < C:
        raise ValueError(f"filtered_channel must be in [0, {C}); got {filtered_channel!r}")
    k = to_numpy(kernel).astype(np.float32, copy=False)
    if k.ndim != 3 or k.shape[2] != C:
        raise ValueError(f"kernel must have shape (P, P, {C}); got {k.shape}")
    half = k.shape[0] // 2
    valid_h = to_numpy(valid)
    if valid_h.shape != tuple(source.shape[:2]):
        raise ValueError(f"valid must have shape {tuple(source.shape[:2])}; got {valid_h.shape}")
    band = np.zeros_like(valid_h, dtype=bool)
    band[half : valid_h.shape[0] - half, half : valid_h.shape[1] - half] = True
    if (valid_h & ~band).any():
        raise ValueError(f"valid source centres must be at least {half} from the source border")
    if not valid_h.any():
        raise ValueError("valid has no valid source centre")
    H = target.shape[0]
    r0, r1 = (0, H) if rows is None else (int(rows[0]), int(rows[1]))
    if not 0 <= r0 <= r1 <= H:
        raise ValueError(f"rows must satisfy 0 ≤ r0 ≤ r1 ≤ {H}; got {rows!r}")
    if approx is not None and tuple(approx.shape) != (H, target.shape[1], 2):
        raise ValueError(f"approx must have shape {(H, target.shape[1], 2)}; got {tuple(approx.shape)}")
    fc = int(filtered_channel)
    tdy, tdx, tc, tw, rend, n_static = kernel_taps(k, fc)
    cdy, cdx = causal_offsets(coh_radius)
    fac = np.float32(factor)
    if device == "cpu":
        if approx is None:
            rows_v = np.flatnonzero(valid_h.any(axis=1))
            cols_v = np.flatnonzero(valid_h.any(axis=0))
            by0, bx0 = int(rows_v[0]), int(cols_v[0])
            nby, nbx = int(rows_v[-1]) - by0 + 1, int(cols_v[-1]) - bx0 + 1
            Sc = np.ascontiguousarray(np.moveaxis(source, 2, 0))
            buf = np.empty((target.shape[1], nby, nbx), np.float32)
            acc = np.empty((nby, nbx), np.float32)
            n_static_taps = int(rend[n_static - 1]) if n_static > 0 else 0
            _scan_exact_cpu(target, source, Sc, fc, tdy, tdx, tc, tw, rend, n_static_taps, cdy, cdx, valid, s,
                            coh, r0, r1, fac, by0, bx0, buf, acc)
        else:
            _scan_approx_cpu(target, source, fc, tdy, tdx, tc, tw, rend, cdy, cdx, valid, approx, s, coh,
                             r0, r1, fac)
        return
    taps = [xp.asarray(a) for a in (tdy, tdx, tc, tw, rend, cdy, cdx)]
    exact = approx is None
    ap = xp.zeros((1, 1, 2), np.int32) if exact else approx
    threads = max(1, min(config.THREADS_PER_BLOCK, _MAX_THREADS))
    _scan_gpu[1, threads](target, source, fc, *taps, valid, ap, s, coh, r0, r1, fac, exact)
