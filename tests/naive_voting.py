"""Plain NumPy reference for the voting kernel (``kernels/voting.py``), in float64.

Written the other way round from the kernels: it *scatters* (every voting patch adds its
weighted source patch to an accumulator), where the kernels gather per output pixel.
"""

from __future__ import annotations

import numpy as np


def vote(target, source, nnf, log_weights, patch_size, vote_mask=None):
    T = np.asarray(target, np.float64)
    S = np.asarray(source, np.float64)
    T = T[:, :, None] if T.ndim == 2 else T
    S = S[:, :, None] if S.ndim == 2 else S
    H, W, C = T.shape
    Hs, Ws = S.shape[:2]
    h = patch_size // 2
    lw = np.asarray(log_weights, np.float64)
    ok = np.isfinite(lw) & (nnf[..., 0] >= h) & (nnf[..., 0] < Hs - h) & (nnf[..., 1] >= h) & (
        nnf[..., 1] < Ws - h)
    acc = np.zeros((H, W, C))
    tot = np.zeros((H, W))
    # per-pixel max shift, as the kernels (it cancels; it only keeps exp() finite)
    shift = np.full((H, W), -np.inf)
    for py, px in zip(*np.nonzero(ok)):
        y0, y1, x0, x1 = max(py - h, 0), min(py + h + 1, H), max(px - h, 0), min(px + h + 1, W)
        shift[y0:y1, x0:x1] = np.maximum(shift[y0:y1, x0:x1], lw[py, px])
    for py, px in zip(*np.nonzero(ok)):
        sy, sx = nnf[py, px]
        for dy in range(-h, h + 1):
            for dx in range(-h, h + 1):
                y, x = py + dy, px + dx
                if 0 <= y < H and 0 <= x < W:
                    w = np.exp(lw[py, px] - shift[y, x])
                    acc[y, x] += w * S[sy + dy, sx + dx]
                    tot[y, x] += w
    out = T.copy()
    sel = tot > 0
    if vote_mask is not None:
        sel &= np.asarray(vote_mask, bool)
    out[sel] = acc[sel] / tot[sel][:, None]
    return out
