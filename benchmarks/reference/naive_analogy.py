"""Plain NumPy reference of image analogies in exact mode (Hertzmann et al. 2001, section 3).

The obvious algorithm, written from the definition in ``imgkit/style/analogy.py`` without its
feature images or kernels: for each level, coarse to fine, for each pixel ``q`` of ``B′`` in
scan-line order, the distance from ``q``'s neighbourhoods (5×5 of ``B``, causal 5×5 of ``B′``,
3×3 of ``B`` and ``B′`` one level coarser around ``q // 2``, Gaussian-weighted) to those of every
pixel ``p`` of ``A`` (``A``'s neighbourhoods read by reflection at its border), vectorised over
``p``; the exhaustive best ``p_app``, the coherence candidates ``s(r) + (q − r)``, and the κ rule.

To be comparable bit for bit with the kernels it uses float32 and their summation order: first
the taps of ``B`` and the coarser level (by row, column, then channel ``B``, coarse ``B``,
coarse ``B′``), then the causal taps of ``B′`` (by row, column); ``acc += w · (d · d)``.
"""

from __future__ import annotations

import numpy as np

from imgkit._pyramid import gaussian_pyramid


def gaussian(size: int) -> np.ndarray:
    """Normalised size × size Gaussian with σ = size / 4."""
    h = size // 2
    o = np.arange(-h, h + 1, dtype=np.float64)
    s = size / 4.0
    g = np.exp(-(o[:, None] ** 2 + o[None, :] ** 2) / (2 * s * s))
    return (g / g.sum()).astype(np.float32)


def remap(ya, yap, yb):
    """σ_B/σ_A (Y − μ_A) + μ_B for A and A′ (float64 statistics)."""
    mu_a, sd_a = float(ya.mean(dtype=np.float64)), float(ya.std(dtype=np.float64))
    mu_b, sd_b = float(yb.mean(dtype=np.float64)), float(yb.std(dtype=np.float64))
    k = sd_b / sd_a if sd_a > 1e-6 else 1.0
    return [((y.astype(np.float64) - mu_a) * k + mu_b).astype(np.float32) for y in (ya, yap)]


def _reflect(i, n):
    i = np.where(i < 0, -i - 1, i)
    return np.where(i >= n, 2 * n - 1 - i, i)


def _taps(patch_size, coarse_size, coarse, filtered_weight=1.0, coarse_weight=1.0):
    """[(dy, dx, what, w)] static taps then causal B′ taps; what in {"b", "cb", "cbp", "bp"}.

    ``filtered_weight`` multiplies the B′ weights (fine and coarse), ``coarse_weight`` the coarse
    ones (zero weights are dropped, as the kernels do)."""
    hp, hc = patch_size // 2, coarse_size // 2
    h = max(hp, 2 * hc)
    fw, cw = np.float32(filtered_weight), np.float32(coarse_weight)
    gf, gc = gaussian(patch_size), gaussian(coarse_size) * cw
    static, causal = [], []
    for dy in range(-h, h + 1):
        for dx in range(-h, h + 1):
            if abs(dy) <= hp and abs(dx) <= hp:
                static.append((dy, dx, "b", gf[dy + hp, dx + hp]))
            if coarse and dy % 2 == 0 and dx % 2 == 0 and abs(dy) <= 2 * hc and abs(dx) <= 2 * hc:
                w = gc[dy // 2 + hc, dx // 2 + hc]
                static.append((dy, dx, "cb", w))
                static.append((dy, dx, "cbp", w * fw))
            if abs(dy) <= hp and abs(dx) <= hp and (dy < 0 or (dy == 0 and dx < 0)):
                causal.append((dy, dx, "bp", gf[dy + hp, dx + hp] * fw))
    return [t for t in static + causal if t[3] > 0]


def exact_analogy(ya, yap, yb, *, levels, kappa, patch_size=5, coarse_size=3, remap_luminance=True,
                  filtered_weight=1.0, coarse_weight=1.0):
    """Exact-mode image analogy of luminances ``ya``, ``yap``, ``yb`` (float32 2-D).

    Returns
    -------
    bp : list of float32 (H_l, W_l)
        ``B′`` luminance per level, coarse to fine.
    s : list of int32 (H_l, W_l, 2)
        Source ``(y, x)`` in ``A`` per level.
    coh : list of bool (H_l, W_l)
        Where the coherence candidate won.
    """
    if remap_luminance:
        ya, yap = remap(ya, yap, yb)
    pa = gaussian_pyramid(ya, levels, min_size=1)[::-1]
    pap = gaussian_pyramid(yap, levels, min_size=1)[::-1]
    pb = gaussian_pyramid(yb, levels, min_size=1)[::-1]
    hp = patch_size // 2
    out_bp, out_s, out_coh = [], [], []
    for lev in range(levels):
        B, A, Ap = pb[lev], pa[lev], pap[lev]
        H, W = B.shape
        Ha, Wa = A.shape
        coarse = lev > 0
        factor = np.float32(1.0 + 2.0 ** (lev - (levels - 1)) * kappa)
        taps = _taps(patch_size, coarse_size, coarse, filtered_weight, coarse_weight)
        py, px = np.mgrid[0:Ha, 0:Wa]
        # source values of every tap for every p (A's neighbourhoods, reflected at the border)
        src = {}
        for dy, dx, what, _ in taps:
            ry, rx = _reflect(py + dy, Ha), _reflect(px + dx, Wa)
            if what == "b":
                v = A[ry, rx]
            elif what == "bp":
                v = Ap[ry, rx]
            elif what == "cb":
                v = pa[lev - 1][ry // 2, rx // 2]
            else:
                v = pap[lev - 1][ry // 2, rx // 2]
            src[(dy, dx, what)] = v.astype(np.float32)
        bp = np.zeros((H, W), np.float32)
        s = np.full((H, W, 2), -1, np.int32)
        coh = np.zeros((H, W), bool)
        for y in range(H):
            for x in range(W):
                acc = np.zeros((Ha, Wa), np.float32)
                for dy, dx, what, w in taps:
                    ty, tx = y + dy, x + dx
                    if not (0 <= ty < H and 0 <= tx < W):
                        continue
                    if what == "b":
                        t = B[ty, tx]
                    elif what == "bp":
                        t = bp[ty, tx]
                    elif what == "cb":
                        t = pb[lev - 1][ty // 2, tx // 2]
                    else:
                        t = out_bp[-1][ty // 2, tx // 2]
                    d = np.float32(t) - src[(dy, dx, what)]
                    acc += np.float32(w) * (d * d)
                i_app = int(np.argmin(acc))  # first minimum in raster order
                ay, ax = divmod(i_app, Wa)
                d_app = acc[ay, ax]
                best = None
                for oy in range(-hp, 1):
                    for ox in range(-hp, hp + 1):
                        if oy == 0 and ox >= 0:
                            break
                        ry, rx = y + oy, x + ox
                        if ry < 0 or not 0 <= rx < W:
                            continue
                        cy, cx = s[ry, rx, 0] - oy, s[ry, rx, 1] - ox
                        if not (0 <= cy < Ha and 0 <= cx < Wa):
                            continue
                        if best is None or acc[cy, cx] < best[2]:
                            best = (cy, cx, acc[cy, cx])
                if best is not None and best[2] <= d_app * factor:
                    s[y, x] = best[:2]
                    coh[y, x] = (best[0], best[1]) != (ay, ax)
                else:
                    s[y, x] = (ay, ax)
                bp[y, x] = Ap[s[y, x, 0], s[y, x, 1]]
        out_bp.append(bp)
        out_s.append(s)
        out_coh.append(coh)
    return out_bp, out_s, out_coh
