"""Gaussian blur, pyramids and resizing written once against ``xp`` (NumPy or CuPy).

Images are float32 ``(H, W)`` or ``(H, W, C)``. Borders are handled by reflection
(``symmetric``: the edge pixel is repeated), so no dark or bright rims appear.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._xp import get_xp

__all__ = ["gaussian_kernel", "blur", "downsample", "gaussian_pyramid", "resize", "reduce_with_mask",
           "binomial5"]

#: Burt & Adelson's 5-tap binomial filter, the generating kernel of a Gaussian pyramid.
binomial5 = np.array([1, 4, 6, 4, 1], dtype=np.float32) / 16.0


def gaussian_kernel(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Normalised 1-D Gaussian taps (radius ``ceil(truncate * sigma)``)."""
    if sigma <= 0:
        return np.ones(1, dtype=np.float32)
    r = max(1, math.ceil(truncate * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _conv_axis(img: Any, taps: np.ndarray, axis: int) -> Any:
    xp = get_xp(img)
    r = len(taps) // 2
    if r == 0:
        return img
    n = img.shape[axis]
    pad = [(0, 0)] * img.ndim
    pad[axis] = (r, r)
    # reflect-pad; for tiny axes repeat the reflection until wide enough
    padded = img
    while padded.shape[axis] < n + 2 * r:
        need = n + 2 * r - padded.shape[axis]
        p = min(need // 2 + need % 2, padded.shape[axis])
        q = min(need // 2, padded.shape[axis])
        width = [(0, 0)] * img.ndim
        width[axis] = (p, q)
        padded = xp.pad(padded, width, mode="symmetric")
    out = xp.zeros_like(img)
    for i, t in enumerate(taps):
        sl = [slice(None)] * img.ndim
        sl[axis] = slice(i, i + n)
        out += float(t) * padded[tuple(sl)]
    return out


def blur(img: Any, sigma: float | None = None, taps: np.ndarray | None = None) -> Any:
    """Separable blur of the two spatial axes with Gaussian ``sigma`` (or explicit ``taps``)."""
    k = gaussian_kernel(sigma) if taps is None else np.asarray(taps, np.float32)
    out = img.astype(np.float32)
    return _conv_axis(_conv_axis(out, k, 0), k, 1)


def downsample(img: Any) -> Any:
    """One pyramid step: 5-tap binomial blur, then every second pixel (``ceil(n / 2)``)."""
    return blur(img, taps=binomial5)[::2, ::2]


def gaussian_pyramid(img: Any, levels: int, min_size: int = 8) -> list[Any]:
    """Fine-to-coarse list ``[img, down(img), ...]`` of at most ``levels`` levels.

    Stops early when the next level's shorter side would drop below ``min_size``.
    """
    pyr = [img.astype(np.float32)]
    while len(pyr) < levels and min(pyr[-1].shape[:2]) // 2 >= min_size:
        pyr.append(downsample(pyr[-1]))
    return pyr


def resize(img: Any, shape: tuple[int, int]) -> Any:
    """Bilinear resize (pixel centres aligned, as ``cv2.INTER_LINEAR``) to ``(H, W)``."""
    xp = get_xp(img)
    h, w = img.shape[:2]
    H, W = int(shape[0]), int(shape[1])
    if (h, w) == (H, W):
        return img.astype(np.float32)

    def coords(n_in: int, n_out: int):
        c = (xp.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5
        c = xp.clip(c, 0, n_in - 1)
        i0 = xp.floor(c).astype(np.int64)
        i1 = xp.minimum(i0 + 1, n_in - 1)
        return i0, i1, (c - i0).astype(np.float32)

    y0, y1, fy = coords(h, H)
    x0, x1, fx = coords(w, W)
    if img.ndim == 3:
        fy, fx = fy[:, None, None], fx[None, :, None]
    else:
        fy, fx = fy[:, None], fx[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def reduce_with_mask(img: Any, hole: Any, max_size: int | None) -> tuple[Any, Any, float]:
    """Shrink an image and its hole mask so the longer side is at most ``max_size``.

    For methods that work at a lower resolution and upsample their fill. The image is
    anti-aliased (Gaussian ``sigma = (1/scale - 1) / 2``, as scikit-image) and resized
    bilinearly; a reduced pixel is marked as hole when any hole pixel entered its value (the
    hole indicator goes through the same blur and resize, and only exact zeros stay known),
    so no hole colour leaks into the known pixels a method copies or fits.

    Returns
    -------
    img, hole, scale
        Unchanged (``scale`` 1.0) when ``max_size`` is None or not exceeded; ``scale`` is
        reduced height / original height.
    """
    h, w = hole.shape[:2]
    if max_size is None or max(h, w) <= max_size:
        return img, hole, 1.0
    scale = max_size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    sigma = (1.0 / scale - 1.0) / 2.0
    small = resize(blur(img, sigma), shape)
    small_hole = resize(blur(hole.astype(np.float32), sigma), shape) > 0
    return small, small_hole, shape[0] / h
