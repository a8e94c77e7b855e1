"""Image-quality metrics: PSNR and SSIM (scikit-image), over the whole image or a region.

All functions take images as accepted by :func:`imgkit.inpaint` (uint8, uint16 or float in
[0, 1]; grey, RGB or RGBA, alpha ignored) and compare them in float [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._image import as_float_image, as_mask, to_numpy
from .errors import InvalidImageError

__all__ = ["mae", "psnr", "ssim"]


def _pair(a: Any, b: Any, names: tuple[str, str] = ("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_image(to_numpy(a), names[0])[0]
    y = as_float_image(to_numpy(b), names[1])[0]
    if x.shape != y.shape:
        raise InvalidImageError(
            f"{names[0]} shape {x.shape} and {names[1]} shape {y.shape} differ; metrics compare "
            f"images of the same size and channel count"
        )
    return x, y


def _region(x: np.ndarray, mask: Any) -> np.ndarray:
    if mask is None:
        return x.reshape(-1, x.shape[2])
    m = as_mask(to_numpy(mask), x.shape[:2], "mask", "a")
    if not m.any():
        raise InvalidImageError("mask selects no pixels; nothing to measure")
    return x[m]


def mae(a: Any, b: Any, mask: Any = None) -> float:
    """Mean absolute difference in [0, 1], over ``mask`` (nonzero) if given."""
    x, y = _pair(a, b)
    return float(np.abs(_region(x, mask) - _region(y, mask)).mean())


def psnr(a: Any, b: Any, mask: Any = None) -> float:
    """Peak signal-to-noise ratio in dB (data range 1), over ``mask`` if given.

    Identical inputs give ``inf``.
    """
    x, y = _pair(a, b)
    mse = float(np.mean((_region(x, mask).astype(np.float64) - _region(y, mask)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(a: Any, b: Any) -> float:
    """Structural similarity (scikit-image, Gaussian-weighted as Wang et al. 2004)."""
    from skimage.metrics import structural_similarity

    x, y = _pair(a, b)
    win = min(7, *x.shape[:2])
    win -= 1 - win % 2
    if win < 3:
        raise InvalidImageError(f"images of shape {x.shape} are too small for SSIM (need ≥ 3×3)")
    return float(
        structural_similarity(
            x, y, data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, win_size=None if win == 7 else win,
        )
    )
