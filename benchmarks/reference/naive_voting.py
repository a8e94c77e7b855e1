"""Plain NumPy reference for the voting kernel (``kernels/voting.py``), in float64.

Written the other way round from the kernels: the proposals are first *scattered* (every voting
patch appends its weight and its source pixel to the list of each target pixel it covers), then
combined per pixel: weighted mean, the heaviest proposal ("best"), or the weighted mean refined by
mean-shift passes.
"""

from __future__ import annotations

import numpy as np


def vote(target, source, nnf, log_weights, patch_size, vote_mask=None, mode="mean", bandwidth=1.0,
         passes=3):
    T = np.asarray(target, np.float64)
    S = np.asarray(source, np.float64)
    T = T[:, :, None] if T.ndim == 2 else T
    S = S[:, :, None] if S.ndim == 2 else S
    H, W, _C = T.shape
    Hs, Ws = S.shape[:2]
    h = patch_size // 2
    lw = np.asarray(log_weights, np.float64)
    ok = np.isfinite(lw) & (nnf[..., 0] >= h) & (nnf[..., 0] < Hs - h) & (nnf[..., 1] >= h) & (
        nnf[..., 1] < Ws - h)
    props = [[[] for _ in range(W)] for _ in range(H)]
    for py, px in zip(*np.nonzero(ok)):
        sy, sx = nnf[py, px]
        for dy in range(-h, h + 1):
            for dx in range(-h, h + 1):
                y, x = py + dy, px + dx
                if 0 <= y < H and 0 <= x < W:
                    props[y][x].append((lw[py, px], S[sy + dy, sx + dx], (-dy, -dx)))
    out = T.copy()
    for y in range(H):
        for x in range(W):
            if not props[y][x] or (vote_mask is not None and not vote_mask[y, x]):
                continue
            # the kernels visit covering patches in row-major order of o = q - p; ties keep the first
            p = sorted(props[y][x], key=lambda t: t[2])
            logw = np.array([t[0] for t in p])
            cols = np.array([t[1] for t in p])
            m = logw.max()
            if mode == "best":
                out[y, x] = cols[int(np.argmax(logw))]
                continue
            w = np.exp(logw - m)
            est = (w[:, None] * cols).sum(0) / w.sum()
            for _ in range(passes if mode == "meanshift" else 0):
                k = np.exp(logw - m - ((cols - est) ** 2).sum(1) / (2 * bandwidth**2))
                if k.sum() > 0:
                    est = (k[:, None] * cols).sum(0) / k.sum()
            out[y, x] = est
    return out
