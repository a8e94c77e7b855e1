"""Patch voting: a Numba CPU kernel and its Numba-CUDA twin.

The M-step of Wexler-style image completion (Wexler, Shechtman, Irani 2007) and of
PatchMatch-based synthesis: every target patch ``p`` has a nearest-neighbour source patch
``nnf[p]`` and *proposes* the colours of that source patch for the target pixels it covers; each
target pixel becomes the weighted mean of all the proposals it receives.

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

Output
    float32 ``(H, W, C)``: for a voted pixel ``q``::

        out(q, c) = sum_o w(q - o) S(nnf[q - o] + o, c) / sum_o w(q - o),   |o|_inf <= half

    over the offsets ``o`` for which ``p = q - o`` lies inside the target, votes
    (``log_weights[p] > -inf``) and has a source centre at least ``half`` from the source
    border (a whole source patch; other entries are skipped). ``w(p) = exp(log_weights[p] - m)``
    with ``m`` the largest log weight among those patches (the shift cancels in the ratio).
    Pixels with no such patch keep ``target``. Sums run in float32 over ``o`` in row-major
    order (``dy`` then ``dx``), the same order on both devices.

Both kernels *gather* (one output pixel at a time: no atomics, no races, deterministic): the
CPU kernel runs rows in parallel (``prange``), the CUDA twin one thread per pixel.

References
----------
.. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI 29(3),
   2007.
.. [2] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
   Correspondence Algorithm for Structural Image Editing", ACM Trans. Graphics (SIGGRAPH) 28(3),
   2009.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import cuda, prange

from . import config

__all__ = ["vote"]


def _vote_pixel_py(target, source, nnf, logw, out, scratch, y, x, half, vote, mode, bw2, ms_iters):
    # Gather the proposals for pixel (y, x) into out[y, x]; see the module docstring.
    H = target.shape[0]
    W = target.shape[1]
    C = target.shape[2]
    Hs = source.shape[0]
    Ws = source.shape[1]
    if not vote[y, x]:
        for c in range(C):
            out[y, x, c] = target[y, x, c]
        return
    # pass 1: the largest log weight among the voting patches (and its proposal)
    m = -np.inf
    my = 0
    mx = 0
    for dy in range(-half, half + 1):
        py = y - dy
        if py < 0 or py >= H:
            continue
        for dx in range(-half, half + 1):
            px = x - dx
            if px < 0 or px >= W:
                continue
            lw = logw[py, px]
            if lw > m:
                sy = nnf[py, px, 0]
                sx = nnf[py, px, 1]
                if sy >= half and sy < Hs - half and sx >= half and sx < Ws - half:
                    m = lw
                    my = sy + dy
                    mx = sx + dx
    if m == -np.inf:
        for c in range(C):
            out[y, x, c] = target[y, x, c]
        return
    if mode == 1:
        for c in range(C):
            out[y, x, c] = source[my, mx, c]
        return
    # pass 2 (+ mean-shift passes): weighted sum of the proposals; a mean-shift pass also weighs
    # each proposal by a Gaussian of its colour distance to the current estimate
    n_pass = 1 + (ms_iters if mode == 2 else 0)
    for it in range(n_pass):
        for c in range(C):
            scratch[y, x, c] = 0.0
        tot = np.float32(0.0)
        for dy in range(-half, half + 1):
            py = y - dy
            if py < 0 or py >= H:
                continue
            for dx in range(-half, half + 1):
                px = x - dx
                if px < 0 or px >= W:
                    continue
                lw = logw[py, px]
                if lw > -np.inf:
                    sy = nnf[py, px, 0]
                    sx = nnf[py, px, 1]
                    if sy >= half and sy < Hs - half and sx >= half and sx < Ws - half:
                        e = lw - m
                        if it > 0:
                            d2 = np.float32(0.0)
                            for c in range(C):
                                t = source[sy + dy, sx + dx, c] - out[y, x, c]
                                d2 += t * t
                            e = e - d2 / (2 * bw2)
                        w = np.float32(math.exp(e))
                        tot += w
                        for c in range(C):
                            scratch[y, x, c] += w * source[sy + dy, sx + dx, c]
        if tot > 0:
            for c in range(C):
                out[y, x, c] = scratch[y, x, c] / tot
        elif it == 0:
            for c in range(C):
                out[y, x, c] = source[my, mx, c]


_vote_pixel = numba.njit(cache=True)(_vote_pixel_py)
_d_vote_pixel = cuda.jit(device=True)(_vote_pixel_py)


@numba.njit(parallel=True, cache=True)
def _vote_cpu(target, source, nnf, logw, out, scratch, half, vote, mode, bw2, ms_iters):
    H = target.shape[0]
    W = target.shape[1]
    for yy in prange(H):
        y = np.int64(yy)
        for x in range(W):
            _vote_pixel(target, source, nnf, logw, out, scratch, y, x, half, vote, mode, bw2, ms_iters)


@cuda.jit
def _vote_gpu(target, source, nnf, logw, out, scratch, half, vote, mode, bw2, ms_iters):
    x, y = cuda.grid(2)
    if y >= target.shape[0] or x >= target.shape[1]:
        return
    _d_vote_pixel(target, source, nnf, logw, out, scratch, y, x, half, vote, mode, bw2, ms_iters)


def _xp(a: Any):
    if type(a).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy
    return np


def _gpu_xp():
    if numba.config.ENABLE_CUDASIM:
        return np
    import cupy

    return cupy


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
    mean_shift_iterations: int = 3,
    device: str = "cpu",
) -> Any:
    """Each voted target pixel becomes the weighted mean of the source pixels proposed for it.

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
        Bad shapes, dtypes or patch size.

    References
    ----------
    .. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI
       29(3), 2007.
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 1 \
            or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    xp = _gpu_xp() if device == "cuda" else np
    if device == "cpu" and any(_xp(a) is not np for a in (target, source, nnf, log_weights)):
        raise ValueError("device='cpu' needs NumPy arrays; use .get() on CuPy arrays or device='cuda'")
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
    modes = ("mean", "best", "meanshift")
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}; got {mode!r}")
    mcode = modes.index(mode)
    bw2 = np.float32(float(bandwidth) ** 2)
    ms_iters = int(mean_shift_iterations)
    out = xp.empty_like(T)
    scratch = xp.empty_like(T)
    half = int(patch_size) // 2
    if device == "cpu":
        _vote_cpu(T, S, field, lw, out, scratch, half, vm, mcode, bw2, ms_iters)
    else:
        t = config.TILE
        grid = (math.ceil(W / t), math.ceil(H / t))
        _vote_gpu[grid, (t, t)](T, S, field, lw, out, scratch, half, vm, mcode, bw2, ms_iters)
    return out
