"""Patch voting: a Numba CPU kernel and its Numba-CUDA twin.

The M-step of Wexler-style image completion (Wexler, Shechtman, Irani 2007) and of
PatchMatch-based synthesis: every target patch ``p`` has a nearest-neighbour source patch
``nnf[p]`` and *proposes* the colours of that source patch for the target pixels it covers; each
target pixel becomes a weighted combination of all the proposals it receives.

Contract (array in, array out; NumPy on the CPU, CuPy -- or NumPy under Numba's CUDA simulator
-- on the GPU)
-------------------------------------------------------------------------------------------------
Inputs

* ``target``: float32 ``(H, W, C)``, the current estimate. Pixels that are not voted, or that
  receive no vote, are copied from it unchanged.
* ``source``: float32 ``(H', W', C)``, the image the proposals are read from.
* ``nnf``: int32 ``(H, W, 2)``, source ``(y, x)`` patch centres (as returned by
  :func:`imgkit.kernels.patchmatch.patchmatch`).
* ``log_weights``: float32 ``(H, W)``, the natural log of the weight of each target patch's
  vote; ``-inf`` (or NaN) means the patch does not vote. Wexler's weights are products
  (similarity × confidence), so they are sums here, and the log domain keeps them from
  underflowing far inside a large hole.
* ``patch_size`` ``P``: odd, ``half = P // 2``.
* ``vote_mask``: optional bool ``(H, W)``, the target pixels to recompute (default all).
* ``mode``: ``"mean"``, ``"meanshift"`` or ``"best"``; ``bandwidth`` ``h`` and
  ``mean_shift_iterations`` ``K`` for ``"meanshift"``.

Output
    float32 ``(H, W, C)``. The proposals for a voted pixel ``q`` come from the patches
    ``p = q - o`` (``|o|_inf <= half``) that lie inside the target, vote
    (``log_weights[p] > -inf``) and have a source centre at least ``half`` from the source
    border (a whole source patch; other entries are skipped): proposal ``c_p = S(nnf[p] + o)``
    with weight ``w_p = exp(log_weights[p])``.

    * ``"mean"``: ``out(q) = sum_p w_p c_p / sum_p w_p`` (Wexler's M-step).
    * ``"meanshift"``: starting from that mean ``m``, ``K`` times
      ``m <- sum_p w_p g_p c_p / sum_p w_p g_p`` with ``g_p = exp(-|c_p - m|² / (2 h²))`` (the
      mean moves towards the dominant mode of the proposals; if every ``g_p`` underflows the
      mean is kept).
    * ``"best"``: the proposal of the heaviest patch (the first in ``o`` order on ties).

    Pixels with no proposal keep ``target``.

    Weights are used as ``exp(log_weights[p] - M)`` in float64 with ``M`` the largest log weight
    of the whole call (shifts cancel in the ratios); should all the weights of a pixel underflow
    (log weights more than ~700 below ``M``), that pixel is recomputed with its own largest log
    weight as the shift. Sums run in float64 over ``o`` in row-major order (``dy`` then ``dx``),
    the same order on both devices.

Both kernels *gather* (one output pixel at a time: no atomics, no races, deterministic): the
CPU kernel runs rows in parallel (rows ``k, k + n, ...`` per thread, ``kernels._jit.run_parts``;
one thread below ``config.PM_PARALLEL_MIN_PIXELS`` voted pixels), the CUDA twin one thread per
pixel.

References
----------
.. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI 29(3),
   2007.
.. [2] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
   Correspondence Algorithm for Structural Image Editing", ACM Trans. Graphics (SIGGRAPH) 28(3),
   2009.
"""

# ruff: noqa: F821  (the bodies call their target's helpers: names the namespace tables define)

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import cuda

from . import config
from ._jit import rebind, run_parts
from ._xp import check_device, gpu_xp

__all__ = ["vote"]

_MODES = ("mean", "best", "meanshift")


def _proposal_py(nnf, logw, y, x, dy, dx, half, H, W, Hs, Ws):
    # The proposal of target patch p = (y - dy, x - dx) for pixel (y, x): (log weight, source
    # centre y, source centre x), or (-inf, -1, -1) when p lies outside the target, does not vote
    # or has a source centre closer than `half` to the source border (not a whole patch).
    py = y - dy
    px = x - dx
    if py < 0 or py >= H or px < 0 or px >= W:
        return -np.inf, -1, -1
    lw = logw[py, px]
    sy = nnf[py, px, 0]
    sx = nnf[py, px, 1]
    if lw > -np.inf and sy >= half and sy < Hs - half and sx >= half and sx < Ws - half:
        return lw, sy, sx
    return -np.inf, -1, -1


def _heaviest_py(nnf, logw, y, x, half, H, W, Hs, Ws):
    # The heaviest proposal for pixel (y, x): (log weight, source pixel y, x) of the first one in
    # o order with the largest log weight; (-inf, -1, -1) when there is none.
    m = -np.inf
    my = -1
    mx = -1
    for dy in range(-half, half + 1):
        for dx in range(-half, half + 1):
            lw, sy, sx = _proposal(nnf, logw, y, x, dy, dx, half, H, W, Hs, Ws)
            if lw > m:
                m = lw
                my = sy + dy
                mx = sx + dx
    return m, my, mx


def _weighted_pass_py(source, nnf, logw, wexp, acc, y, x, half, shift, own, ref, bw2, H, W, Hs, Ws, C):
    # One pass over the proposals of (y, x): acc[y, x] = sum w c, returns sum w. With ref (not
    # the first pass) each weight also gets the mean-shift factor of its distance to out[y, x]
    # (passed as `ref`). own: use exp(logw - shift) instead of the precomputed wexp.
    for c in range(C):
        acc[y, x, c] = 0.0
    tot = 0.0
    for dy in range(-half, half + 1):
        for dx in range(-half, half + 1):
            lw, sy, sx = _proposal(nnf, logw, y, x, dy, dx, half, H, W, Hs, Ws)
            if lw > -np.inf:
                w = math.exp(lw - shift) if own else wexp[y - dy, x - dx]
                if bw2 > 0:
                    d2 = 0.0
                    for c in range(C):
                        t = source[sy + dy, sx + dx, c] - ref[y, x, c]
                        d2 += t * t
                    w = w * math.exp(-d2 / (2.0 * bw2))
                tot += w
                for c in range(C):
                    acc[y, x, c] += w * source[sy + dy, sx + dx, c]
    return tot


def _vote_pixel_py(target, source, nnf, logw, wexp, out, acc, y, x, half, vote, mode, bw2, ms_iters):
    # Combine the proposals for pixel (y, x) into out[y, x]; see the module docstring.
    H = target.shape[0]
    W = target.shape[1]
    C = target.shape[2]
    Hs = source.shape[0]
    Ws = source.shape[1]
    for c in range(C):
        out[y, x, c] = target[y, x, c]
    if not vote[y, x]:
        return
    if mode == 1:  # best: the first heaviest voting patch
        _, my, mx = _heaviest(nnf, logw, y, x, half, H, W, Hs, Ws)
        if my >= 0:
            for c in range(C):
                out[y, x, c] = source[my, mx, c]
        return
    shift = 0.0
    # `own` is computed, not a literal: Numba compiles _weighted_pass once per argument type, and
    # the literals False and True would be two more specialisations on a cold cache
    own = shift != 0.0  # False
    tot = _weighted_pass(source, nnf, logw, wexp, acc, y, x, half, shift, own, out, 0.0, H, W, Hs, Ws, C)
    if tot == 0.0:  # no proposal, or all its weights underflowed: shift by the pixel's own max
        shift, my, mx = _heaviest(nnf, logw, y, x, half, H, W, Hs, Ws)
        if shift == -np.inf:
            return
        own = shift > -np.inf  # True (see above)
        tot = _weighted_pass(source, nnf, logw, wexp, acc, y, x, half, shift, own, out, 0.0, H, W, Hs, Ws,
                             C)
    for c in range(C):
        out[y, x, c] = acc[y, x, c] / tot
    if mode == 2:
        for _ in range(ms_iters):
            tot = _weighted_pass(source, nnf, logw, wexp, acc, y, x, half, shift, own, out, bw2, H, W, Hs,
                                 Ws, C)
            if tot > 0.0:
                for c in range(C):
                    out[y, x, c] = acc[y, x, c] / tot


def _vote_cpu_py(target, source, nnf, logw, wexp, out, acc, half, vote, mode, bw2, ms_iters, k, n):
    # Rows k, k + n, ... (part k of n: _jit.run_parts runs the parts on the threads allowed).
    W = target.shape[1]
    for y in range(k, target.shape[0], n):
        for x in range(W):
            _vote_pixel(target, source, nnf, logw, wexp, out, acc, y, x, half, vote, mode, bw2, ms_iters)


def _vote_gpu_py(target, source, nnf, logw, wexp, out, acc, half, vote, mode, bw2, ms_iters):
    x, y = cuda.grid(2)
    if y >= target.shape[0] or x >= target.shape[1]:
        return
    _vote_pixel(target, source, nnf, logw, wexp, out, acc, y, x, half, vote, mode, bw2, ms_iters)


# One namespace table per compilation target (as kernels/patchmatch/): the shared per-pixel
# bodies above resolve their helpers (_proposal, _heaviest, _weighted_pass, _vote_pixel) in the table of the
# target they are compiled for. Each table is complete before anything compiles (Numba resolves
# globals when it compiles). ``__name__``: Numba's cache rebuilds a cached function's environment
# from that module.
_CPU: dict[str, Any] = {"__name__": __name__, "np": np, "math": math}
_CPU.update(
    _proposal=numba.njit(cache=True, inline="always")(rebind(_proposal_py, _CPU)),
    _heaviest=numba.njit(cache=True)(rebind(_heaviest_py, _CPU)),
    _weighted_pass=numba.njit(cache=True)(rebind(_weighted_pass_py, _CPU)),
    _vote_pixel=numba.njit(cache=True)(rebind(_vote_pixel_py, _CPU)),
)
# a serial nogil build of one part; small votes (config.PM_PARALLEL_MIN_PIXELS) run on one thread
_vote_cpu = numba.njit(nogil=True, cache=True)(rebind(_vote_cpu_py, _CPU, "_vote_cpu"))

_GPU: dict[str, Any] = {"__name__": __name__, "np": np, "math": math, "cuda": cuda}
_GPU.update(
    _proposal=cuda.jit(device=True)(rebind(_proposal_py, _GPU)),
    _heaviest=cuda.jit(device=True)(rebind(_heaviest_py, _GPU)),
    _weighted_pass=cuda.jit(device=True)(rebind(_weighted_pass_py, _GPU)),
    _vote_pixel=cuda.jit(device=True)(rebind(_vote_pixel_py, _GPU)),
)
_vote_gpu = cuda.jit(rebind(_vote_gpu_py, _GPU, "_vote_gpu"))


def vote(
    target: Any,
    source: Any,
    nnf: Any,
    log_weights: Any,
    patch_size: int,
    *,
    vote_mask: Any = None,
    mode: str = "mean",
    bandwidth: float = 1.0,
    mean_shift_iterations: int = 1,
    device: str = "cpu",
) -> Any:
    """Each voted target pixel becomes a weighted combination of the source pixels proposed for it.

    Parameters
    ----------
    target : float32 ndarray, shape (H, W, C) (or (H, W))
        Current estimate; copied where nothing is voted.
    source : float32 ndarray, shape (H', W', C) (or (H', W'))
        Image the proposals are read from.
    nnf : int32 ndarray, shape (H, W, 2)
        Source ``(y, x)`` centre of each target patch.
    log_weights : float32 ndarray, shape (H, W)
        Log weight of each target patch's vote; ``-inf`` for patches that do not vote.
    patch_size : int
        Odd patch side ``P``.
    vote_mask : bool ndarray, shape (H, W), optional
        Pixels to recompute (default all).
    mode : {"mean", "meanshift", "best"}
        Weighted mean; weighted mean refined by mean-shift passes; heaviest proposal.
    bandwidth : float
        Mean-shift bandwidth ``h`` (colour units), ``> 0``.
    mean_shift_iterations : int
        Mean-shift passes ``K ≥ 0``.
    device : {"cpu", "cuda"}
        ``"cpu"``: NumPy arrays, the parallel Numba kernel. ``"cuda"``: the CUDA twin on CuPy
        arrays (NumPy arrays under ``NUMBA_ENABLE_CUDASIM=1``).

    Returns
    -------
    float32 ndarray, shape (H, W, C)
        Same array module as the inputs; a 2-D ``target`` gives ``(H, W, 1)``.

    Raises
    ------
    ValueError
        Bad shapes, dtypes, patch size, mode or bandwidth.

    References
    ----------
    .. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI
       29(3), 2007.
    """
    check_device(device)
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 1 \
            or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}; got {mode!r}")
    if not (isinstance(bandwidth, (int, float, np.floating)) and math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a finite number > 0; got {bandwidth!r}")
    if isinstance(mean_shift_iterations, bool) or not isinstance(mean_shift_iterations, (int, np.integer)) \
            or mean_shift_iterations < 0:
        raise ValueError(f"mean_shift_iterations must be an integer ≥ 0; got {mean_shift_iterations!r}")
    check_device(device, target, source, nnf, log_weights)
    xp = gpu_xp() if device == "cuda" else np
    T = xp.ascontiguousarray(xp.asarray(target), dtype=np.float32)
    S = xp.ascontiguousarray(xp.asarray(source), dtype=np.float32)
    T = T[:, :, None] if T.ndim == 2 else T
    S = S[:, :, None] if S.ndim == 2 else S
    if T.ndim != 3 or S.ndim != 3 or T.shape[2] != S.shape[2] or 0 in T.shape or 0 in S.shape:
        raise ValueError(
            f"target and source must be non-empty (H, W, C) arrays with the same C; got shapes "
            f"{tuple(T.shape)} and {tuple(S.shape)}"
        )
    H, W = T.shape[:2]
    field = xp.ascontiguousarray(xp.asarray(nnf), dtype=np.int32)
    if tuple(field.shape) != (H, W, 2):
        raise ValueError(f"nnf must have shape {(H, W, 2)}; got {tuple(field.shape)}")
    lw = xp.ascontiguousarray(xp.asarray(log_weights), dtype=np.float32)
    if tuple(lw.shape) != (H, W):
        raise ValueError(f"log_weights must have shape {(H, W)}; got {tuple(lw.shape)}")
    if bool(xp.isposinf(lw).any()):
        raise ValueError("log_weights must be finite or -inf (+inf is not a weight)")
    lw = xp.where(xp.isnan(lw), np.float32(-np.inf), lw).astype(np.float32)
    if vote_mask is None:
        vm = xp.ones((H, W), dtype=np.bool_)
    else:
        vm = xp.ascontiguousarray(xp.asarray(vote_mask), dtype=np.bool_)
        if tuple(vm.shape) != (H, W):
            raise ValueError(f"vote_mask must have shape {(H, W)}; got {tuple(vm.shape)}")
    top = float(lw.max()) if lw.size else -np.inf
    wexp = xp.exp(lw.astype(np.float64) - (top if top > -np.inf else 0.0))  # 0 where -inf
    out = xp.empty_like(T)
    acc = xp.empty(T.shape, dtype=np.float64)
    args = (T, S, field, lw, wexp, out, acc, int(patch_size) // 2, vm, _MODES.index(mode),
            float(bandwidth) ** 2, int(mean_shift_iterations))
    if device == "cpu":
        run_parts(_vote_cpu, int(vm.sum()), *args)
    else:
        t = config.TILE
        _vote_gpu[(math.ceil(W / t), math.ceil(H / t)), (t, t)](*args)
    return out
