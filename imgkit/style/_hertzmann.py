"""The image-analogies synthesis loop (Hertzmann et al. 2001), shared by ``analogy(method=
"hertzmann")`` and ``stylize(method="analogy")``: features, weights, pyramid levels, the
PatchMatch approximate search and the scan-line BestMatch pass. Private: see
:mod:`imgkit.style.analogy` for the algorithm's documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._color import yiq_to_rgb
from .._pyramid import gaussian_pyramid
from .._xp import get_xp, to_numpy
from ..context import Info, RunContext
from ..errors import InvalidImageError, InvalidOptionError

#: Feature channels: B/A at this level, B'/A' at this level (causal part), then B/A and B'/A' of
#: the next coarser level upsampled by pixel replication (absent at the coarsest level).
FINE, FILTERED, COARSE, COARSE_FILTERED = 0, 1, 2, 3

#: Automatic level count: as many as keep the coarsest level of A and B at least this many
#: pixels on its shorter side, at most ``_AUTO_MAX_LEVELS``.
_AUTO_MIN_SIDE = 16
_AUTO_MAX_LEVELS = 5


@dataclass(kw_only=True)
class AnalogyInfo(Info):
    """What an image-analogy run did, level by level (lists go coarse → fine).

    Attributes
    ----------
    levels : int
        Pyramid levels used.
    search : str
        ``"patchmatch"`` (approximate match from the PatchMatch engine) or ``"exact"``.
    shapes : list of (int, int)
        ``B`` (and ``B'``) size at each level.
    source_maps : list of int32 ndarray, shape (H_l, W_l, 2)
        ``s(q)``: the ``A`` pixel ``(y, x)`` whose ``A'`` value each ``B'`` pixel copies
        (-1 for pixels not synthesised when a callback stopped the run).
    coherent : list of bool ndarray, shape (H_l, W_l)
        True where the coherence match won over a *different* approximate match (where both
        are the same pixel nothing was won; with ``kappa=0`` in exact mode only ties win).
    nnf : list of int32 ndarray or None
        The PatchMatch field of ``B``'s features (fine + coarser level) into ``A``'s, in ``A``
        coordinates, at each level (``None`` in exact mode): the ``p_app`` candidates.
    b_prime : list of float32 ndarray, shape (H_l, W_l)
        Luminance of ``B'`` at each level (remapped scale).
    coherence_fraction : list of float
        Share of pixels where coherence won, per level.
    kappa_factor : list of float
        ``1 + 2^(l - L) κ`` per level.
    transfer_coef : list of float32 ndarray or None
        The learnt linear-transfer coefficients (``(2r+1)²``, row-major offsets) of each output
        channel (Y; then I and Q with ``color="learn"``); ``None`` for a plain copy.
    """

    levels: int = 0
    search: str = ""
    shapes: list[tuple[int, int]] = field(default_factory=list)
    source_maps: list[np.ndarray] = field(default_factory=list)
    coherent: list[np.ndarray] = field(default_factory=list)
    nnf: list[np.ndarray | None] = field(default_factory=list)
    b_prime: list[np.ndarray] = field(default_factory=list)
    coherence_fraction: list[float] = field(default_factory=list)
    kappa_factor: list[float] = field(default_factory=list)
    transfer_coef: list[np.ndarray | None] = field(default_factory=list)


def gaussian_window(size: int) -> np.ndarray:
    """Normalised ``size × size`` Gaussian weights, σ = size / 4 (float32, sum 1)."""
    h = size // 2
    o = np.arange(-h, h + 1, dtype=np.float64)
    sigma = size / 4.0
    g = np.exp(-(o[:, None] ** 2 + o[None, :] ** 2) / (2.0 * sigma * sigma))
    return (g / g.sum()).astype(np.float32)


def engine_patch(patch_size: int, coarse_size: int) -> int:
    """Side of the window that holds both neighbourhoods: the coarse one sits at offsets 2d."""
    return max(patch_size, 4 * (coarse_size // 2) + 1)


def feature_kernels(
    patch_size: int,
    coarse_size: int,
    coarse: bool,
    *,
    filtered_weight: float = 1.0,
    coarse_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the feature channels.

    Returns
    -------
    scan : float32 (P, P, C)
        The full feature of the scan-line pass: Gaussian on the fine ``B`` channel, Gaussian ×
        causal mask on the ``B'`` channel, the coarse Gaussian at offsets ``2d`` on the coarse
        channels (``C = 4``; ``C = 2`` at the coarsest level).
    search : float32 (P, P, C - 1)
        The same without the ``B'`` channel (not synthesised yet when the field is searched):
        the weights of the PatchMatch approximate search.
    """
    P = engine_patch(patch_size, coarse_size)
    h = P // 2
    C = 4 if coarse else 2
    k = np.zeros((P, P, C), np.float32)
    g = gaussian_window(patch_size)
    hp = patch_size // 2
    k[h - hp : h + hp + 1, h - hp : h + hp + 1, FINE] = g
    oy, ox = np.mgrid[-h : h + 1, -h : h + 1]
    causal = (oy < 0) | ((oy == 0) & (ox < 0))
    k[:, :, FILTERED] = k[:, :, FINE] * causal * np.float32(filtered_weight)
    if coarse:
        gc = gaussian_window(coarse_size) * np.float32(coarse_weight)
        hc = coarse_size // 2
        for i in range(-hc, hc + 1):
            for j in range(-hc, hc + 1):
                k[h + 2 * i, h + 2 * j, COARSE] = gc[i + hc, j + hc]
                k[h + 2 * i, h + 2 * j, COARSE_FILTERED] = gc[i + hc, j + hc] * np.float32(filtered_weight)
    search = np.delete(k, FILTERED, axis=2)
    return k, np.ascontiguousarray(search)


def _upsample_px(img: Any, shape: tuple[int, int]) -> Any:
    """``U(y, x) = img(y // 2, x // 2)``: the coarser level at the finer level's resolution."""
    xp = get_xp(img)
    y = xp.arange(shape[0]) // 2
    x = xp.arange(shape[1]) // 2
    return img[y[:, None], x[None, :]]


def features(fine: Any, filtered: Any, coarse: Any = None, coarse_filtered: Any = None) -> Any:
    """Stack one level's feature channels: float32 ``(H, W, 2)`` or ``(H, W, 4)``."""
    xp = get_xp(fine)
    chans = [fine, filtered]
    if coarse is not None:
        chans += [_upsample_px(coarse, fine.shape), _upsample_px(coarse_filtered, fine.shape)]
    return xp.ascontiguousarray(xp.stack(chans, axis=2).astype(np.float32))


def remap_luminance(ya: Any, yap: Any, yb: Any, by: str = "a") -> tuple[Any, Any]:
    """Hertzmann's luminance remapping: ``Y ← σ_B / σ_A (Y − μ_A) + μ_B`` for A and A′ alike.

    ``by="a"`` takes μ_A and σ_A from A (the paper); ``by="a_prime"`` from A′ (the artistic-filter
    set-up, where A is a blur of A′ whose σ is much smaller than A′'s: A's statistics would
    stretch A′'s contrast by that ratio and saturate B′).
    """
    xp = get_xp(ya)
    ref = yap if by == "a_prime" else ya
    mu_a, sd_a = float(ref.mean(dtype=np.float64)), float(ref.std(dtype=np.float64))
    mu_b, sd_b = float(yb.mean(dtype=np.float64)), float(yb.std(dtype=np.float64))
    scale = sd_b / sd_a if sd_a > 1e-6 else 1.0

    def f(y):
        return ((y.astype(np.float64) - mu_a) * scale + mu_b).astype(np.float32)

    return xp.ascontiguousarray(f(ya)), xp.ascontiguousarray(f(yap))


def ann_matches(T: Any, S: Any, kernel: np.ndarray, shape_a: tuple[int, int], pad: int, *,
                components: int = 12, eps: float = 1.0, stride: int = 2) -> Any:
    """Approximate nearest neighbours of ``T``'s neighbourhoods among ``A``'s: PCA + k-d tree.

    The paper's search (ANN over PCA-reduced feature vectors): every neighbourhood tap with a
    positive weight in ``kernel`` (``(P, P, C)``, the match weights) becomes one coordinate
    ``√k · value``, so that squared Euclidean distance is the weighted distance; the vectors are
    projected on the ``components`` leading principal axes of ``A``'s vectors (estimated from at
    most 16k of them) and the nearest ``A`` vector of each ``B`` pixel on a ``stride`` grid is
    found with :class:`scipy.spatial.cKDTree` (``eps``: the tree's approximation factor; as many
    query threads as Numba's); every other pixel takes its grid pixel's match shifted by the
    offset between them (clipped into ``A``). ``T``'s neighbourhoods are reflected at its border
    (the engine drops those taps instead: these are candidates, scored exactly afterwards). ``S``
    is ``A``'s feature image padded by ``pad``. Returns int32 ``(H, W, 2)`` centres in ``S``
    coordinates.
    """
    from scipy.spatial import cKDTree

    xp = get_xp(T)
    Tn, Sn = np.asarray(to_numpy(T), np.float32), np.asarray(to_numpy(S), np.float32)
    H, W = Tn.shape[:2]
    Ha, Wa = shape_a
    h = kernel.shape[0] // 2
    taps = np.argwhere(kernel > 0)
    w = np.sqrt(kernel[taps[:, 0], taps[:, 1], taps[:, 2]]).astype(np.float32)
    Tp = np.pad(Tn, ((h, h), (h, h), (0, 0)), mode="symmetric")
    o = pad - h
    va = np.stack([Sn[o + i : o + i + Ha, o + j : o + j + Wa, c] for i, j, c in taps], axis=2)
    vb = np.stack([Tp[i : i + H, j : j + W, c] for i, j, c in taps], axis=2)
    va = va.reshape(-1, len(taps)) * w
    vb = vb.reshape(-1, len(taps)) * w
    mean = va.mean(axis=0)
    k = max(1, min(int(components), len(taps)))
    sample = va[:: max(1, len(va) // 16384)] - mean  # the principal axes from ≤ 16k vectors
    _, vecs = np.linalg.eigh((sample.T @ sample).astype(np.float64))
    basis = vecs[:, ::-1][:, :k].astype(np.float32)
    tree = cKDTree((va - mean) @ basis)
    gy, gx = np.arange(0, H, stride), np.arange(0, W, stride)
    vb = vb.reshape(H, W, -1)[gy[:, None], gx[None, :]].reshape(-1, len(taps))
    import numba

    _, idx = tree.query((vb - mean) @ basis, k=1, eps=eps, workers=numba.get_num_threads())
    idx = np.asarray(idx, np.int64).reshape(len(gy), len(gx))
    # every pixel: the match of its grid pixel, shifted by the offset from it (clipped into A)
    qy, qx = np.mgrid[0:H, 0:W]
    iy, ix = qy // stride, qx // stride
    src = idx[iy, ix]
    sy = np.clip(src // Wa + (qy - iy * stride), 0, Ha - 1)
    sx = np.clip(src % Wa + (qx - ix * stride), 0, Wa - 1)
    out = np.stack([sy + pad, sx + pad], axis=2).astype(np.int32)
    return xp.asarray(out)


def _halvings(n: int, levels: int) -> int:
    for _ in range(levels - 1):
        n = (n + 1) // 2
    return n


def resolve_levels(
    levels: int | None, a_shape: tuple[int, int], b_shape: tuple[int, int], patch_size: int, need: int
) -> int:
    """The level count: ``levels``, or the automatic choice; errors if an image is too small."""
    smallest = min(min(a_shape), min(b_shape))
    if smallest < need:
        name, shape = ("a", a_shape) if min(a_shape) <= min(b_shape) else ("b", b_shape)
        raise InvalidImageError(
            f"{name} of size {shape[0]}×{shape[1]} is smaller than the {need}×{need} neighbourhood "
            f"(patch_size={patch_size}); give images of at least {need}×{need} pixels or a "
            f"smaller patch_size"
        )
    most = 1
    while _halvings(smallest, most + 1) >= need:
        most += 1
    if levels is None:
        auto = 1
        while auto < min(most, _AUTO_MAX_LEVELS) and _halvings(smallest, auto + 1) >= _AUTO_MIN_SIDE:
            auto += 1
        return auto
    if levels > most:
        side = _halvings(smallest, levels)
        raise InvalidOptionError(
            f"option 'levels'={levels!r} is too many for images whose shorter side is {smallest} "
            f"pixels: the coarsest level would be {side} pixels, smaller than the {need}-pixel "
            f"neighbourhood (patch_size={patch_size}); use levels ≤ {most} or None (automatic)"
        )
    return levels


def _seed(ctx: RunContext, level: int) -> int:
    return int(ctx.rng(1000 + level).integers(0, 2**62))


def synthesise(
    ya: Any,
    yap: Any,
    yb: Any,
    *,
    ctx: RunContext,
    kappa: float,
    levels: int | None,
    patch_size: int,
    coarse_size: int,
    remap: bool,
    exact: bool,
    pm_iterations: int,
    filtered_weight: float = 1.0,
    coarse_weight: float = 1.0,
    ann: bool = False,
) -> tuple[Any, AnalogyInfo, Any]:
    """Synthesise the luminance of ``B'`` from luminances ``A``, ``A'``, ``B`` (float32 (H, W)).

    Returns ``(yb_prime, info, s)``: B′'s luminance at full size (remapped scale), the
    :class:`AnalogyInfo`, and the finest source map in ``A`` coordinates on ``ctx.xp``
    (``None`` if a callback stopped the run before the finest level).
    """
    from ..kernels import analogy as ak
    from ..kernels import patchmatch as pm

    xp = ctx.xp
    dev = ctx.device
    P = engine_patch(patch_size, coarse_size)
    pad = P // 2
    need = max(patch_size, pad + 1)
    L = resolve_levels(levels, ya.shape, yb.shape, patch_size, need)
    with ctx.timer("pyramids"):
        if remap:
            ya, yap = remap_luminance(ya, yap, yb)
        pa = gaussian_pyramid(ya, L, min_size=1)[::-1]
        pap = gaussian_pyramid(yap, L, min_size=1)[::-1]
        pb = gaussian_pyramid(yb, L, min_size=1)[::-1]
    info = AnalogyInfo(levels=L, search="exact" if exact else "patchmatch")
    total = sum(int(b.shape[0] * b.shape[1]) for b in pb)
    bp_prev = None
    s_prev = None
    s_full = None
    stopped = False
    with ctx.steps(total, desc="analogy", unit="px") as bar:
        for lev in range(L):
            H, W = pb[lev].shape
            Ha, Wa = pa[lev].shape
            coarse = lev > 0
            k_scan, k_search = feature_kernels(
                patch_size, coarse_size, coarse, filtered_weight=filtered_weight, coarse_weight=coarse_weight
            )
            factor = 1.0 + 2.0 ** (lev - (L - 1)) * kappa
            with ctx.timer("features"):
                blank = xp.zeros((H, W), np.float32)
                if coarse:
                    T = features(pb[lev], blank, pb[lev - 1], bp_prev)
                    Sa = features(pa[lev], pap[lev], pa[lev - 1], pap[lev - 1])
                else:
                    T = features(pb[lev], blank)
                    Sa = features(pa[lev], pap[lev])
                S = xp.ascontiguousarray(xp.pad(Sa, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric"))
                valid = xp.zeros(S.shape[:2], dtype=bool)
                valid[pad : pad + Ha, pad : pad + Wa] = True
            approx = None
            if not exact:
                with ctx.timer("patchmatch"):
                    init = None
                    if s_prev is not None:
                        init = pm.upsample_nnf(s_prev, (H, W), xp.ones((Ha, Wa), dtype=bool)) + pad
                    keep = [c for c in range(T.shape[2]) if c != FILTERED]
                    Tk, Sk = xp.ascontiguousarray(T[:, :, keep]), xp.ascontiguousarray(S[:, :, keep])
                    if ann:
                        cand = ann_matches(Tk, Sk, k_search, (Ha, Wa), pad)
                        if init is not None:
                            d_init = pm.patch_distances(Tk, Sk, P, init, kernel=k_search, device=dev)
                            d_cand = pm.patch_distances(Tk, Sk, P, cand, kernel=k_search, device=dev)
                            cand = xp.where((d_cand < d_init)[:, :, None], cand, init)
                        init = xp.ascontiguousarray(cand.astype(np.int32))
                    approx, _ = pm.patchmatch(
                        Tk, Sk, P,
                        init=init, valid=valid, kernel=k_search, iterations=pm_iterations,
                        seed=_seed(ctx, lev), device=dev,
                    )
            s = xp.full((H, W, 2), -1, dtype=np.int32)
            coh = xp.zeros((H, W), dtype=bool)
            chunk = max(1, 4096 // W)
            with ctx.timer("scanline"):
                for r0 in range(0, H, chunk):
                    r1 = min(H, r0 + chunk)
                    ak.scanline_pass(T, S, k_scan, FILTERED, valid, s, coh, approx=approx,
                                     coh_radius=patch_size // 2, factor=factor, rows=(r0, r1), device=dev)
                    state = {"level": lev, "levels": L, "rows_done": r1, "rows": H}
                    if bar.update((r1 - r0) * W, state):
                        stopped = r1 < H or lev < L - 1
                        if r1 < H:
                            # the rest of this level: the approximate match (or B itself, exact mode)
                            if approx is not None:
                                s[r1:] = approx[r1:]
                                T[r1:, :, FILTERED] = S[approx[r1:, :, 0], approx[r1:, :, 1], FILTERED]
                            else:
                                T[r1:, :, FILTERED] = pb[lev][r1:]
                        break
            bp = xp.ascontiguousarray(T[:, :, FILTERED])
            s_a = xp.where(s >= 0, s - pad, -1).astype(np.int32)
            info.shapes.append((H, W))
            info.source_maps.append(to_numpy(s_a).astype(np.int32))
            info.coherent.append(to_numpy(coh).astype(bool))
            info.nnf.append(None if approx is None else to_numpy(approx - pad).astype(np.int32))
            info.b_prime.append(to_numpy(bp).astype(np.float32))
            info.coherence_fraction.append(float(to_numpy(coh).mean()))
            info.kappa_factor.append(factor)
            bp_prev, s_prev = bp, xp.maximum(s_a, 0)
            if stopped:
                break
            if lev == L - 1:
                s_full = s_a
    info.stopped = stopped
    if bp_prev.shape != yb.shape:
        from .._pyramid import resize

        bp_prev = resize(bp_prev, yb.shape)
    return bp_prev, info, s_full


def _patch_stack(y: Any, radius: int) -> Any:
    """``(H, W, (2r+1)²)``: every ``(2r+1)²`` neighbourhood of the 2-D ``y`` (edge-replicated)."""
    xp = get_xp(y)
    H, W = y.shape
    p = xp.pad(y, radius, mode="edge")
    n = 2 * radius + 1
    return xp.stack([p[i : i + H, j : j + W] for i in range(n) for j in range(n)], axis=2)


def _correlate(y: Any, coef: np.ndarray, radius: int) -> Any:
    """``Σ_o c_o y(q + o)`` (edge-replicated), offsets row-major as in :func:`_patch_stack`."""
    xp = get_xp(y)
    H, W = y.shape
    p = xp.pad(y, radius, mode="edge")
    n = 2 * radius + 1
    out = xp.zeros((H, W), np.float32)
    for k, c in enumerate(np.asarray(coef, np.float32)):
        i, j = divmod(k, n)
        out += np.float32(c) * p[i : i + H, j : j + W]
    return out


def half_matches(ya: Any, *, ctx: RunContext, patch_size: int, iterations: int) -> Any:
    """For every pixel of ``A``, its best match in the *other* half of ``A`` (left ↔ right).

    Two PatchMatch fields (left half → right half, right → left) on ``A``'s luminance with the
    Gaussian ``patch_size`` window: pairs of similar but distinct neighbourhoods of ``A``, whose
    ``A′`` differences train :func:`learn_transfer`. Returns int32 ``(H, W, 2)`` in ``A``
    coordinates.
    """
    from ..kernels import patchmatch as pm

    xp = ctx.xp
    H, W = ya.shape
    half = W // 2
    P = patch_size
    pad = P // 2
    k = gaussian_window(P)[:, :, None]
    out = xp.zeros((H, W, 2), dtype=np.int32)
    for t0, t1, s0, s1 in ((0, half, half, W), (half, W, 0, half)):
        T = xp.ascontiguousarray(ya[:, t0:t1, None])
        S = xp.ascontiguousarray(xp.pad(ya[:, s0:s1], pad, mode="symmetric")[:, :, None])
        valid = xp.zeros(S.shape[:2], dtype=bool)
        valid[pad : pad + H, pad : pad + (s1 - s0)] = True
        nnf, _ = pm.patchmatch(T, S, P, valid=valid, kernel=k, iterations=iterations,
                               seed=_seed(ctx, 900 + t0), device=ctx.device)
        out[:, t0:t1, 0] = nnf[:, :, 0] - pad
        out[:, t0:t1, 1] = nnf[:, :, 1] - pad + s0
    return out


def learn_transfer(x: Any, x_prime: Any, m: Any, *, radius: int = 2, ridge: float = 1e-3,
                   shrink: bool = False) -> np.ndarray:
    """Coefficients ``c`` of the linear transfer ``X′(q) ≈ X′(p) + Σ_o c_o (X(q+o) − X(p+o))``.

    Fitted by ridge-regularised least squares over the pairs ``(q, p = m(q))`` of
    :func:`half_matches`: how ``A′`` differs between two similar neighbourhoods of ``A`` as a
    linear function of how they differ. A filter that is linear on the ``(2r+1)²`` window
    (blur, emboss, unsharp mask) is learnt exactly; ``c = 0`` is the paper's plain copy.
    ``ridge`` scales the Tikhonov term by the mean diagonal of ``XᵀX``. ``shrink=True`` returns
    ``λ c`` with ``λ ∈ [0, 1]`` chosen by two-fold cross-validation on ``A`` (:func:`_cv_shrink`):
    ``λ ≈ 1`` for a filter the transfer predicts on unseen pairs, ``λ ≈ 0`` (the copy) for one it
    does not. Returns float64 ``(n²,)``.
    """
    from .._xp import to_numpy

    x, x_prime, m = (np.asarray(to_numpy(v)) for v in (x, x_prime, m))
    P = _patch_stack(x.astype(np.float32), radius)
    qy, qx = np.mgrid[0 : x.shape[0], 0 : x.shape[1]]
    py, px = m[qy, qx, 0], m[qy, qx, 1]
    X = (P[qy, qx] - P[py, px]).reshape(-1, P.shape[2]).astype(np.float64)
    y = (x_prime[qy, qx] - x_prime[py, px]).reshape(-1).astype(np.float64)
    fold = (qx < x.shape[1] // 2).reshape(-1)
    # the normal equations of each half of the pairs: the full fit and the cross-validation
    # (_cv_shrink) share them
    parts = [(X[f].T @ X[f], X[f].T @ y[f]) for f in (fold, ~fold)]
    c = _ridge(parts[0][0] + parts[1][0], parts[0][1] + parts[1][1], ridge)
    if shrink:
        c = c * _cv_shrink(X, y, fold, parts, ridge)
    return c


def _ridge(G: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """Solve ``(G + ridge · mean diag(G) · I) c = b``."""
    reg = ridge * max(float(np.trace(G)) / G.shape[0], 1e-12)
    return np.linalg.solve(G + reg * np.eye(G.shape[0]), b)


def _cv_shrink(X: np.ndarray, y: np.ndarray, fold: np.ndarray, parts: list, ridge: float) -> float:
    """The factor ``λ ∈ [0, 1]`` that minimises the held-out error of ``λ c``: the transfer is
    fitted on the pairs whose ``q`` lies in one half of ``A`` (``parts``: each half's ``XᵀX``,
    ``Xᵀy``) and tested on the other half's, both ways; ``λ = Σ ⟨y, X c⟩ / Σ ‖X c‖²`` over the
    held-out pairs, clipped to [0, 1] (1 when a half has too few pairs to fit)."""
    num = den = 0.0
    for (G, b), test in zip(parts, (~fold, fold)):
        if int((~test).sum()) < X.shape[1] or not test.any():
            return 1.0
        z = X[test] @ _ridge(G, b, ridge)
        num += float(z @ y[test])
        den += float(z @ z)
    return float(np.clip(num / den, 0.0, 1.0)) if den > 0 else 0.0


def transfer(
    x_prime: Any, x: Any, y: Any, s: Any, coef: np.ndarray | None, *, vote: bool, radius: int = 2
) -> Any:
    """``B′`` of one channel from the source map ``s``: ``X′(p) + Σ_o c_o (Y(q+o) − X(p+o))``.

    ``x``, ``x_prime``: the channel of ``A`` and ``A′``; ``y``: of ``B``. ``coef=None`` is the
    plain copy ``X′(s(q))``. ``vote=True`` averages the predictions of the sources of ``q``'s
    ``(2r+1)²`` neighbours, each shifted back to ``q`` (``p = s(q + o) − o``, sources outside
    ``A`` skipped), with the Gaussian weights of the window. The correction is linear, so it is
    computed as ``u(p) + v(q)`` with ``u = X′ − c ⋆ X`` and ``v = c ⋆ Y`` (two correlations).
    """
    xp = get_xp(x_prime)
    H, W = y.shape
    Ha, Wa = x.shape
    u = x_prime.astype(np.float32)
    v = None
    if coef is not None:
        u = u - _correlate(x.astype(np.float32), coef, radius)
        v = _correlate(y.astype(np.float32), coef, radius)
    g = gaussian_window(2 * radius + 1)
    span = range(-radius, radius + 1) if vote else range(1)
    offsets = [(i, j) for i in span for j in span]
    acc = xp.zeros((H, W), np.float32)
    wsum = xp.zeros((H, W), np.float32)
    rows = xp.arange(H)
    cols = xp.arange(W)
    for oy, ox in offsets:
        ry = xp.clip(rows + oy, 0, H - 1)[:, None]
        rx = xp.clip(cols + ox, 0, W - 1)[None, :]
        sy = s[ry, rx, 0] - oy
        sx = s[ry, rx, 1] - ox
        ok = (sy >= 0) & (sy < Ha) & (sx >= 0) & (sx < Wa)
        w = ok.astype(np.float32) * (np.float32(g[oy + radius, ox + radius]) if vote else np.float32(1.0))
        acc += w * u[xp.clip(sy, 0, Ha - 1), xp.clip(sx, 0, Wa - 1)]
        wsum += w
    out = acc / xp.maximum(wsum, np.float32(1e-12))
    if v is not None:
        out = out + v
    return out.astype(np.float32)


def compose(yb_prime: Any, b_yiq: Any, a_prime_rgb: Any, s: Any, color: str) -> Any:
    """B′ in RGB: ``"yiq"`` puts the synthesised Y with B's I and Q; ``"copy"`` copies A′'s RGB
    at the source map (falls back to ``"yiq"`` when the map is incomplete)."""
    xp = get_xp(yb_prime)
    if color == "copy" and s is not None:
        out = a_prime_rgb[s[:, :, 0], s[:, :, 1]]
    else:
        yiq = xp.stack([yb_prime, b_yiq[:, :, 1], b_yiq[:, :, 2]], axis=2)
        out = yiq_to_rgb(yiq)
    return xp.clip(out, 0.0, 1.0).astype(np.float32)
