"""Plain NumPy reference for the PatchMatch kernels: patch distances and the exact NNF.

Same distance as ``kernels/patchmatch/`` (target patches clipped to the target, source patches
whole, weights ``w(p+o) k(o, c)``, normalised by ``sum_o w(p+o) mean_c k(o, c)``), in float64.
``patch_distance`` is the obvious loop; ``exact_nnf`` is brute force over every valid centre,
vectorised as ``sum W T² − 2 (W T)·S + W·S²``.
"""

from __future__ import annotations

import numpy as np


def _weights(T, P, pixel_weights, kernel):
    H, W, C = T.shape
    w = np.ones((H, W)) if pixel_weights is None else np.asarray(pixel_weights, np.float64)
    if kernel is None:
        k = np.ones((P, P, C))
    else:
        k = np.asarray(kernel, np.float64)
        if k.ndim == 2:
            k = np.repeat(k[:, :, None], C, axis=2)
    return w, k


def patch_distance(T, S, ty, tx, sy, sx, P, pixel_weights=None, kernel=None) -> float:
    """D((ty, tx), (sy, sx)) with plain loops (float64)."""
    T = np.asarray(T, np.float64)
    S = np.asarray(S, np.float64)
    H, W, C = T.shape
    h = P // 2
    w, k = _weights(T, P, pixel_weights, kernel)
    num = 0.0
    den = 0.0
    for dy in range(-h, h + 1):
        for dx in range(-h, h + 1):
            y, x = ty + dy, tx + dx
            if not (0 <= y < H and 0 <= x < W):
                continue
            for c in range(C):
                num += w[y, x] * k[dy + h, dx + h, c] * (T[y, x, c] - S[sy + dy, sx + dx, c]) ** 2
            den += w[y, x] * k[dy + h, dx + h].mean()
    return num / den if den > 0 else 0.0


def _target_patches(T, P, pixel_weights, kernel):
    """(H·W, P·P·C) target patches (zeros outside) and their weights, and N(p)."""
    H, W, _C = T.shape
    h = P // 2
    w, k = _weights(T, P, pixel_weights, kernel)
    Tp = np.pad(T, ((h, h), (h, h), (0, 0)))
    wp = np.pad(w, ((h, h), (h, h)))  # zero weight outside the target
    patches = np.lib.stride_tricks.sliding_window_view(Tp, (P, P), axis=(0, 1))  # H, W, C, P, P
    patches = patches.transpose(0, 1, 3, 4, 2)  # H, W, P, P, C
    wwin = np.lib.stride_tricks.sliding_window_view(wp, (P, P))  # H, W, P, P
    weights = wwin[..., None] * k[None, None]
    norm = (wwin * k.mean(axis=2)[None, None]).sum(axis=(2, 3))
    return patches.reshape(H * W, -1), weights.reshape(H * W, -1), norm.reshape(-1)


def exact_nnf(T, S, P, valid=None, pixel_weights=None, kernel=None, chunk=512):
    """Brute-force NNF over all valid centres; ties go to the first centre in raster order.

    Returns
    -------
    nnf : int32 (H, W, 2) source centres
    dist : float64 (H, W) normalised distances
    """
    T = np.asarray(T, np.float64)
    S = np.asarray(S, np.float64)
    if T.ndim == 2:
        T, S = T[:, :, None], S[:, :, None]
    H, W, _ = T.shape
    Hs, Ws, _ = S.shape
    h = P // 2
    ok = np.zeros((Hs, Ws), bool)
    ok[h : Hs - h, h : Ws - h] = True
    if valid is not None:
        ok &= np.asarray(valid, bool)
    ys, xs = np.nonzero(ok)
    sp = np.lib.stride_tricks.sliding_window_view(S, (P, P), axis=(0, 1)).transpose(0, 1, 3, 4, 2)
    src = sp[ys - h, xs - h].reshape(len(ys), -1)  # n, P·P·C
    tp, tw, norm = _target_patches(T, P, pixel_weights, kernel)
    best = np.empty(H * W, np.int64)
    bestd = np.empty(H * W)
    for a in range(0, H * W, chunk):
        t, wt = tp[a : a + chunk], tw[a : a + chunk]
        d = (wt * t * t).sum(1)[:, None] - 2.0 * (wt * t) @ src.T + wt @ (src * src).T
        i = np.argmin(d, axis=1)
        best[a : a + chunk] = i
        bestd[a : a + chunk] = d[np.arange(len(i)), i]
    dist = np.where(norm > 0, np.maximum(bestd, 0.0) / np.where(norm > 0, norm, 1.0), 0.0)
    nnf = np.stack([ys[best], xs[best]], axis=1).reshape(H, W, 2).astype(np.int32)
    return nnf, dist.reshape(H, W)


def distances_of(T, S, P, nnf, pixel_weights=None, kernel=None):
    """D(p, nnf[p]) for every target pixel, vectorised (float64)."""
    T = np.asarray(T, np.float64)
    S = np.asarray(S, np.float64)
    H, W, _ = T.shape
    h = P // 2
    tp, tw, norm = _target_patches(T, P, pixel_weights, kernel)
    sp = np.lib.stride_tricks.sliding_window_view(S, (P, P), axis=(0, 1)).transpose(0, 1, 3, 4, 2)
    src = sp[nnf[..., 0].ravel() - h, nnf[..., 1].ravel() - h].reshape(H * W, -1)
    raw = (tw * (tp - src) ** 2).sum(1)
    return np.where(norm > 0, raw / np.where(norm > 0, norm, 1.0), 0.0).reshape(H, W)
