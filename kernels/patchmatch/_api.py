"""The public wrappers of the PatchMatch engine (argument checks, array preparation, the choice of
CPU build or CUDA kernels) and the host helpers: :func:`valid_centres`, :func:`random_nnf`,
:func:`upsample_nnf`, :func:`patch_distances`, :func:`patchmatch`. See the package docstring.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import config
from .._jit import rebind
from .._xp import check_device, get_xp, gpu_xp
from . import _scalar as sc
from ._cpu import _cpu_kernels
from ._cuda import _jump_gpu, _normalise_gpu, _raw_distances_gpu, _search_gpu

_M32 = 0xFFFFFFFF
_INIT_STREAM = 0xFFFFF  # iteration number reserved for random_nnf

# The host table: the stream state of random_nnf, vectorised over NumPy or CuPy arrays, so the
# initial field is the same on the CPU and on the GPU.
_HOST: dict[str, Any] = {"_mix32": sc._mix32_py}
_host_base = rebind(sc._base_py, _HOST)


def _grid(H: int, W: int):
    t = config.TILE
    return (math.ceil(W / t), math.ceil(H / t)), (t, t)


def _seed_words(seed: int) -> tuple[int, int]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    seed = int(seed)
    return seed & _M32, (seed >> 32) & _M32


def _check_patch_size(patch_size: Any) -> int:
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)):
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    if patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    return int(patch_size)


def _features(a: Any, xp, name: str):
    a = xp.ascontiguousarray(xp.asarray(a), dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        raise ValueError(f"{name} must be a non-empty (H, W, C) float32 array; got shape {a.shape}")
    return a


def _bool_map(m: Any, shape: tuple[int, int], xp, name: str, default: bool):
    if m is None:
        return xp.full(shape, default, dtype=np.bool_)
    m = xp.ascontiguousarray(xp.asarray(m), dtype=np.bool_)
    if tuple(m.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {tuple(m.shape)}")
    return m


def _border_band(valid, patch_size: int):
    # valid ∩ centres at least `half` from the border.
    half = patch_size // 2
    out = valid.copy()
    out[:half] = False
    out[out.shape[0] - half :] = False
    out[:, :half] = False
    out[:, out.shape[1] - half :] = False
    return out


def _weights(pixel_weights, kernel, shape, patch_size, channels, xp):
    if pixel_weights is None:
        wpix = xp.ones((1, 1), np.float32)
        use_w = False
    else:
        wpix = xp.ascontiguousarray(xp.asarray(pixel_weights), dtype=np.float32)
        if tuple(wpix.shape) != tuple(shape):
            raise ValueError(f"pixel_weights must have shape {tuple(shape)}; got {tuple(wpix.shape)}")
        if not bool(xp.isfinite(wpix).all()) or bool((wpix < 0).any()):
            raise ValueError("pixel_weights must be finite and ≥ 0")
        use_w = True
    if kernel is None:
        kern = xp.ones((1, 1, 1), np.float32)
        kbar = xp.ones((1, 1), np.float32)
        use_k = False
    else:
        kern = xp.asarray(kernel, dtype=np.float32)
        if kern.ndim == 2:
            kern = xp.repeat(kern[:, :, None], channels, axis=2)
        if tuple(kern.shape) != (patch_size, patch_size, channels):
            raise ValueError(
                f"kernel must have shape ({patch_size}, {patch_size}) or ({patch_size}, {patch_size}, "
                f"{channels}); got {tuple(xp.asarray(kernel).shape)}"
            )
        if not bool(xp.isfinite(kern).all()) or bool((kern < 0).any()):
            raise ValueError("kernel must be finite and ≥ 0")
        kern = xp.ascontiguousarray(kern)
        kbar = xp.ascontiguousarray(kern.mean(axis=2), dtype=np.float32)
        use_k = True
    return wpix, kern, kbar, use_w, use_k


def valid_centres(usable: Any, patch_size: int) -> Any:
    """Source centres whose whole ``patch_size`` patch lies inside the image and in ``usable``.

    Parameters
    ----------
    usable : bool ndarray, shape (H', W')
        True where a source pixel may be copied from (e.g. the known region).
    patch_size : int
        Odd patch side.

    Returns
    -------
    bool ndarray, shape (H', W')
        The ``valid`` mask for :func:`patchmatch` (same array module as ``usable``).
    """
    P = _check_patch_size(patch_size)
    xp = get_xp(usable)
    u = xp.asarray(usable, dtype=np.bool_)
    if u.ndim != 2:
        raise ValueError(f"usable must be a 2-D (H', W') mask; got shape {tuple(u.shape)}")
    H, W = u.shape
    half = P // 2
    out = xp.zeros((H, W), dtype=np.bool_)
    if H < P or W < P:
        return out
    bad = xp.zeros((H + 1, W + 1), dtype=np.int64)
    bad[1:, 1:] = xp.cumsum(xp.cumsum((~u).astype(np.int64), axis=0), axis=1)
    # number of unusable pixels in the P×P window with top-left (i, j), for all windows
    win = bad[P:, P:] - bad[:-P, P:] - bad[P:, :-P] + bad[:-P, :-P]
    out[half : H - half, half : W - half] = win == 0
    return out


def random_nnf(shape: tuple[int, int], valid: Any, seed: int = 0) -> Any:
    """A field whose entries are drawn uniformly among the valid source centres.

    Parameters
    ----------
    shape : (int, int)
        Target ``(H, W)``.
    valid : bool ndarray, shape (H', W')
        Valid source centres (e.g. from :func:`valid_centres`).
    seed : int
        Non-negative seed; the draw uses the kernels' counter-based hash, so the same seed gives
        the same field on the CPU and on the GPU.

    Returns
    -------
    int32 ndarray, shape (H, W, 2)
        Source ``(y, x)`` centres (same array module as ``valid``).
    """
    xp = get_xp(valid)
    lo, hi = _seed_words(seed)
    ys, xs = xp.nonzero(xp.asarray(valid, dtype=np.bool_))
    n = int(ys.size)
    if n == 0:
        raise ValueError("valid has no valid source centre: nothing to draw from")
    H, W = int(shape[0]), int(shape[1])
    pix = xp.arange(H * W, dtype=np.int64)
    idx = (_host_base(lo, hi, _INIT_STREAM, pix) % n).reshape(H, W)
    out = xp.empty((H, W, 2), dtype=np.int32)
    out[:, :, 0] = ys[idx]
    out[:, :, 1] = xs[idx]
    return out


def _nearest_valid_index(valid, xp):
    if xp is np:
        from scipy.ndimage import distance_transform_edt
    else:  # pragma: no cover - needs a GPU
        from cupyx.scipy.ndimage import distance_transform_edt
    return distance_transform_edt(~valid, return_distances=False, return_indices=True)


def upsample_nnf(coarse: Any, shape: tuple[int, int], valid: Any) -> Any:
    """Carry a field to the next finer pyramid level (×2 in both images).

    Fine pixel ``(y, x)`` takes the coarse entry of ``(y // 2, x // 2)`` (clamped to the coarse
    field), doubled, plus ``(y % 2, x % 2)``, so the offset is preserved at the finer scale;
    the result is clamped to the source and every entry that is not a valid centre is moved to
    the nearest valid centre (Euclidean; ties as :func:`scipy.ndimage.distance_transform_edt`).

    Parameters
    ----------
    coarse : int32 ndarray, shape (h, w, 2)
        Coarse field (source centres at the coarse level).
    shape : (int, int)
        Fine target ``(H, W)`` (normally ``2h`` or ``2h - 1``).
    valid : bool ndarray, shape (H', W')
        Valid centres of the fine source.

    Returns
    -------
    int32 ndarray, shape (H, W, 2)
    """
    xp = get_xp(valid)
    coarse = xp.asarray(coarse)
    valid = xp.asarray(valid, dtype=np.bool_)
    if coarse.ndim != 3 or coarse.shape[2] != 2:
        raise ValueError(f"coarse must be an (h, w, 2) field; got shape {tuple(coarse.shape)}")
    if not bool(valid.any()):
        raise ValueError("valid has no valid source centre")
    H, W = int(shape[0]), int(shape[1])
    h, w = coarse.shape[:2]
    y = xp.arange(H)[:, None]
    x = xp.arange(W)[None, :]
    cy = xp.minimum(y // 2, h - 1)
    cx = xp.minimum(x // 2, w - 1)
    sy = 2 * coarse[cy, cx, 0].astype(np.int64) + (y - 2 * cy)
    sx = 2 * coarse[cy, cx, 1].astype(np.int64) + (x - 2 * cx)
    sy = xp.clip(sy, 0, valid.shape[0] - 1)
    sx = xp.clip(sx, 0, valid.shape[1] - 1)
    iy, ix = _nearest_valid_index(valid, xp)
    out = xp.empty((H, W, 2), dtype=np.int32)
    out[:, :, 0] = iy[sy, sx]
    out[:, :, 1] = ix[sy, sx]
    return out


def _prepare(target, source, patch_size, nnf, valid, pixel_weights, kernel, device):
    check_device(device)
    P = _check_patch_size(patch_size)
    check_device(device, target, source)
    xp = gpu_xp() if device == "cuda" else np
    T = _features(target, xp, "target")
    S = _features(source, xp, "source")
    if T.shape[2] != S.shape[2]:
        raise ValueError(f"target has {T.shape[2]} channels but source has {S.shape[2]}; they must match")
    if S.shape[0] < P or S.shape[1] < P:
        raise ValueError(
            f"source {S.shape[:2]} is smaller than patch_size={P}: no whole source patch exists"
        )
    H, W = T.shape[:2]
    valid = _border_band(_bool_map(valid, S.shape[:2], xp, "valid", True), P)
    wpix, kern, kbar, use_w, use_k = _weights(pixel_weights, kernel, (H, W), P, T.shape[2], xp)
    if nnf is not None:
        nnf = xp.array(xp.asarray(nnf), dtype=np.int32, order="C")
        if tuple(nnf.shape) != (H, W, 2):
            raise ValueError(f"nnf must have shape {(H, W, 2)}; got {tuple(nnf.shape)}")
    # (H, W*C) views: patch rows are contiguous runs for the kernels
    C = T.shape[2]
    T2, S2 = T.reshape(H, W * C), S.reshape(S.shape[0], S.shape[1] * C)
    kern2 = kern.reshape(kern.shape[0], kern.shape[1] * kern.shape[2])
    bounds = (P // 2, S.shape[0] - 1 - P // 2, P // 2, S.shape[1] - 1 - P // 2)
    return P, xp, T2, S2, C, S.shape[:2], valid, (wpix, kern2, use_w, use_k, P // 2), kbar, bounds, nnf


def patch_distances(
    target: Any,
    source: Any,
    patch_size: int,
    nnf: Any,
    *,
    pixel_weights: Any = None,
    kernel: Any = None,
    device: str = "cpu",
) -> Any:
    """The distance ``D(p, nnf[p])`` of every target pixel (see the module docstring).

    Entries that are not source centres at least ``patch_size // 2`` from the source border get
    ``inf``. Arguments as :func:`patchmatch`.

    Returns
    -------
    float32 ndarray, shape (H, W)
    """
    _P, xp, T, S, C, _, valid, wargs, kbar, bounds, nnf = _prepare(
        target, source, patch_size, nnf, None, pixel_weights, kernel, device
    )
    if nnf is None:
        raise ValueError("nnf is required")
    wpix, _, use_w, use_k, half = wargs
    H, W = T.shape[0], T.shape[1] // C
    dist = xp.empty((H, W), dtype=np.float32)
    if device == "cpu":
        run, _, wdist = _cpu_kernels(use_w, use_k, wpix, C)
        run(H * W, T, S, C, nnf, dist, valid, False, valid, wpix, wdist, wargs[1], kbar, use_w,
                      use_k, half, *bounds, False)
    else:
        grid, block = _grid(H, W)
        _raw_distances_gpu[grid, block](T, S, C, nnf, dist, valid, *wargs, *bounds, False)
        _normalise_gpu[grid, block](dist, wpix, kbar, use_w, use_k, half)
    return dist


def patchmatch(
    target: Any,
    source: Any,
    patch_size: int,
    *,
    init: Any = None,
    solve: Any = None,
    valid: Any = None,
    pixel_weights: Any = None,
    kernel: Any = None,
    iterations: int = 5,
    seed: int = 0,
    device: str = "cpu",
    band_rows: int | None = None,
    unsolved_distances: bool = True,
) -> tuple[Any, Any]:
    """PatchMatch nearest-neighbour field from ``target`` patches to ``source`` patches.

    Parameters
    ----------
    target : float32 ndarray, shape (H, W, C) (or (H, W))
        Target features ``T``.
    source : float32 ndarray, shape (H', W', C) (or (H', W'))
        Source features ``S``; ``H', W' ≥ patch_size``.
    patch_size : int
        Odd patch side ``P``.
    init : int32 ndarray, shape (H, W, 2), optional
        Initial source ``(y, x)`` centres; every solved entry must be a valid centre. Default:
        :func:`random_nnf` with ``seed``.
    solve : bool ndarray, shape (H, W), optional
        Target pixels to solve (default all); the others keep their ``init`` entry.
    valid : bool ndarray, shape (H', W'), optional
        Source centres that may be returned (default all); intersected with the centres at least
        ``P // 2`` from the border.
    pixel_weights : float32 ndarray, shape (H, W), optional
        Weight ``w ≥ 0`` of each target pixel inside every patch (default 1).
    kernel : float32 ndarray, shape (P, P) or (P, P, C), optional
        Weight ``k ≥ 0`` per patch offset (and channel) (default 1).
    iterations : int
        PatchMatch iterations (propagation + random search), ``≥ 0``.
    seed : int
        Non-negative seed of the counter-based random stream.
    device : {"cpu", "cuda"}
        ``"cpu"``: NumPy arrays, the banded parallel Numba kernel. ``"cuda"``: the jump-flood
        CUDA twin on CuPy arrays (NumPy arrays under ``NUMBA_ENABLE_CUDASIM=1``).
    band_rows : int, optional
        Rows per parallel band on the CPU (default ``kernels.config.PM_BAND_ROWS``; ``>= H``
        runs the sequential algorithm). Ignored on the GPU.
    unsolved_distances : bool
        ``False``: ``dist`` is NaN at the pixels not solved, whose distances are then not
        computed (the callers that only read the solved pixels' distances save that work).

    Returns
    -------
    nnf : int32 ndarray, shape (H, W, 2)
        Source ``(y, x)`` centre per target pixel.
    dist : float32 ndarray, shape (H, W)
        Normalised weighted patch distance of each entry (module docstring).

    Raises
    ------
    ValueError
        Bad shapes, dtypes or values; no valid source centre; an invalid initial entry of a
        solved pixel.

    References
    ----------
    .. [1] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
       Correspondence Algorithm for Structural Image Editing", SIGGRAPH 2009.
    """
    P, xp, T, S, C, (Hs, Ws), valid, wargs, kbar, bounds, nnf = _prepare(
        target, source, patch_size, init, valid, pixel_weights, kernel, device
    )
    wpix, _, use_w, use_k, half = wargs
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be an integer ≥ 0; got {iterations!r}")
    seed_lo, seed_hi = _seed_words(seed)
    H, W = T.shape[0], T.shape[1] // C
    solve = _bool_map(solve, (H, W), xp, "solve", True)
    if not bool(valid.any()):
        raise ValueError(
            f"no valid source centre: valid ∩ centres at least {P // 2} from the border of the "
            f"{Hs}×{Ws} source is empty"
        )
    if nnf is None:
        nnf = random_nnf((H, W), valid, seed)
    else:
        sy, sx = nnf[:, :, 0], nnf[:, :, 1]
        inside = (sy >= 0) & (sy < Hs) & (sx >= 0) & (sx < Ws)
        ok = inside.copy()
        ok[inside] = valid[sy[inside], sx[inside]]
        bad = int((solve & ~ok).sum())
        if bad:
            raise ValueError(
                f"init has {bad} solved entr{'y' if bad == 1 else 'ies'} that are not valid source "
                f"centres; start from random_nnf(...) or upsample_nnf(...), which only return "
                f"valid centres"
            )
    dist = xp.empty((H, W), dtype=np.float32)
    iterations = int(iterations)
    if device == "cpu":
        rows = config.PM_BAND_ROWS if band_rows is None else int(band_rows)
        if rows < 1:
            raise ValueError(f"band_rows must be ≥ 1; got {band_rows!r}")
        work = int(solve.sum()) if iterations > 0 or not unsolved_distances else H * W
        _, run, wdist = _cpu_kernels(use_w, use_k, wpix, C)
        run(work, T, S, C, nnf, dist, solve, not unsolved_distances, valid, wpix, wdist,
                      wargs[1], kbar, use_w, use_k, half, iterations, seed_lo, seed_hi, rows)
        return nnf, dist
    grid, block = _grid(H, W)
    _raw_distances_gpu[grid, block](T, S, C, nnf, dist, valid, *wargs, *bounds, True)
    nnf2 = xp.empty_like(nnf)
    dist2 = xp.empty_like(dist)
    k_max = 1
    while k_max * 2 <= max(H, W) // 2:
        k_max *= 2
    for it in range(iterations):
        step = k_max
        while step >= 1:
            _jump_gpu[grid, block](T, S, C, nnf, dist, nnf2, dist2, solve, valid, *wargs, step, *bounds)
            nnf, nnf2 = nnf2, nnf
            dist, dist2 = dist2, dist
            step //= 2
        _search_gpu[grid, block](T, S, C, nnf, dist, solve, valid, *wargs, it, seed_lo, seed_hi, *bounds)
    _normalise_gpu[grid, block](dist, wpix, kbar, use_w, use_k, half)
    if not unsolved_distances:
        dist[~solve] = np.nan
    return nnf, dist
