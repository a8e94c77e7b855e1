"""Plain NumPy reference of Criminisi inpainting, written independently of the kernels.

Slow and obvious: the priority of every pixel is recomputed over the whole image at every
step with explicit per-pixel loops over the patch, and the exemplar search scores every
candidate corner with a vectorised SSD followed by ``np.argmin`` (first minimum in row-major
order). Only the definitions are shared with :mod:`imgkit.inpainting.criminisi` (quantised
features, fixed-point confidence, the rules documented in ``imgkit.inpainting.criminisi``), so the two
implementations must agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from imgkit.inpainting.criminisi import CONF_ONE, features


def _priorities(J, known, conf, r, alpha, rule):
    H, W = known.shape
    p = 2 * r + 1

    def kn(y, x):
        return 0 <= y < H and 0 <= x < W and known[y, x]

    gx = np.zeros((H, W), np.int64)
    gy = np.zeros((H, W), np.int64)
    for y in range(H):
        for x in range(W):
            if not known[y, x]:
                continue
            if kn(y, x - 1) and kn(y, x + 1):
                gx[y, x] = J[y, x + 1] - J[y, x - 1]
            if kn(y - 1, x) and kn(y + 1, x):
                gy[y, x] = J[y + 1, x] - J[y - 1, x]
    ke = np.pad(known, 1, mode="edge").astype(np.int64)
    pri = np.full((H, W), -1, np.int64)
    for y in range(H):
        for x in range(W):
            if known[y, x]:
                continue
            if not any(kn(y + a, x + b) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b):
                continue
            # confidence term
            total = 0
            best = (-1, 0, 0)
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < H and 0 <= xx < W:
                        total += int(conf[yy, xx])
                        m2 = int(gx[yy, xx]) ** 2 + int(gy[yy, xx]) ** 2
                        g = (m2, int(gx[yy, xx]), int(gy[yy, xx]))
                    else:
                        g = (0, 0, 0)
                    if g[0] > best[0]:  # first maximum in row-major order
                        best = g
            c = total // (p * p)
            _, tx, ty = best
            k = ke[y : y + 3, x : x + 3]  # rows y-1..y+1 of the padded indicator
            sx = int(k[0, 2] + 2 * k[1, 2] + k[2, 2] - k[0, 0] - 2 * k[1, 0] - k[2, 0])
            sy = int(k[2, 0] + 2 * k[2, 1] + k[2, 2] - k[0, 0] - 2 * k[0, 1] - k[0, 2])
            n2 = sx * sx + sy * sy
            d = 0  # D in fixed point: floor(2**30 |∇I⊥·n| / (|n| 2α))
            if n2 > 0:
                q = float(abs(tx * sy - ty * sx)) / (math.sqrt(float(n2)) * float(2 * alpha))
                d = int(q * 2.0**30)
            if rule == "product":
                pri[y, x] = c * d
            else:  # 100 × (0.2 (0.3 C + 0.7) + 0.8 D)
                pri[y, x] = 6 * c + 14 * CONF_ONE + 80 * d
    return pri


def _search(F, valid, target, offs, box):
    hv, wv = valid.shape
    y0, y1, x0, x1 = box
    y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, hv), min(x1, wv)
    if y1 <= y0 or x1 <= x0 or not valid[y0:y1, x0:x1].any():
        return None
    ssd = np.zeros((y1 - y0, x1 - x0), np.int64)
    for k in range(len(offs)):
        dy, dx = offs[k]
        a = F[y0 + dy : y1 + dy, x0 + dx : x1 + dx].astype(np.int64)
        ssd += ((a - target[k].astype(np.int64)) ** 2).sum(axis=2)
    ssd[valid[y0:y1, x0:x1] == 0] = np.iinfo(np.int64).max
    i = int(np.argmin(ssd))
    return int(ssd.flat[i]), y0 + i // (x1 - x0), x0 + i % (x1 - x0)


def naive_criminisi(image, mask, patch_size=9, search="full", priority="product",
                    color_space="lab"):
    """Fill ``mask`` in float32 ``(H, W, C)`` ``image``; returns (out, order, src, centres)."""
    H, W = image.shape[:2]
    p = patch_size
    r = p // 2
    F, chans, alpha = features(image, color_space)
    J = F[:, :, list(chans)].astype(np.int64).sum(axis=2)
    hole = mask.copy()
    valid = np.zeros((H - p + 1, W - p + 1), np.uint8)
    for y in range(H - p + 1):
        for x in range(W - p + 1):
            valid[y, x] = not hole[y : y + p, x : x + p].any()
    img = image.copy()
    known = ~hole
    conf = np.where(known, CONF_ONE, 0).astype(np.int64)
    order = np.full((H, W), -1, np.int32)
    src = np.full((H, W, 2), -1, np.int32)
    centres = []
    step = 0
    while not known.all():
        pri = _priorities(J, known, conf, r, alpha, priority)
        y, x = np.unravel_index(int(np.argmax(pri)), pri.shape)
        ty, tx = y - r, x - r
        offs, target = [], []
        for dy in range(p):
            for dx in range(p):
                yy, xx = ty + dy, tx + dx
                if 0 <= yy < H and 0 <= xx < W and known[yy, xx]:
                    offs.append((dy, dx))
                    target.append(F[yy, xx])
        target = np.array(target)
        full = (0, H - p + 1, 0, W - p + 1)
        box = full if search == "full" else (ty - search, ty + search + 1, tx - search,
                                             tx + search + 1)
        res = _search(F, valid, target, offs, box)
        if res is None:
            res = _search(F, valid, target, offs, full)
        _, sy, sx = res
        c_hat = int(sum(int(conf[yy, xx]) for yy in range(max(ty, 0), min(ty + p, H))
                        for xx in range(max(tx, 0), min(tx + p, W)))) // (p * p)
        for dy in range(p):
            for dx in range(p):
                yy, xx = ty + dy, tx + dx
                if 0 <= yy < H and 0 <= xx < W and not known[yy, xx]:
                    img[yy, xx] = img[sy + dy, sx + dx]
                    F[yy, xx] = F[sy + dy, sx + dx]
                    J[yy, xx] = J[sy + dy, sx + dx]
                    conf[yy, xx] = c_hat
                    order[yy, xx] = step
                    src[yy, xx] = (sy + dy, sx + dx)
                    known[yy, xx] = True
        centres.append((y, x))
        step += 1
    return img, order, src, np.array(centres, np.int32)
