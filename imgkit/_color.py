"""Colour conversions written once against an array module ``xp`` (NumPy or CuPy).

All functions take and return float32 ``(H, W, 3)`` arrays. RGB is sRGB in [0, 1] (D65).
``rgb_to_lab`` matches :func:`skimage.color.rgb2lab` (L in [0, 100], a/b roughly ±128).
YIQ is the NTSC transform used by Hertzmann et al.'s image analogies (Y = luminance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._xp import get_xp

__all__ = [
    "rgb_to_lab", "lab_to_rgb", "rgb_to_yiq", "yiq_to_rgb", "luminance", "get_xp", "match_color",
    "match_mean_std",
]

_RGB2XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)  # D65, 2° observer

_RGB2YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.59590059, -0.27455667, -0.32134392], [0.21153661, -0.52273617, 0.31119955]],
    dtype=np.float64,
)
_YIQ2RGB = np.linalg.inv(_RGB2YIQ)


def _mat(img: Any, m: np.ndarray) -> Any:
    xp = get_xp(img)
    return (img @ xp.asarray(m.T, dtype=np.float32)).astype(np.float32)


def rgb_to_lab(rgb: Any) -> Any:
    """sRGB in [0, 1] → CIE L*a*b* (D65), as ``skimage.color.rgb2lab``."""
    xp = get_xp(rgb)
    rgb = rgb.astype(np.float32)
    lin = xp.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _mat(lin, _RGB2XYZ) / xp.asarray(_WHITE, dtype=np.float32)
    f = xp.where(xyz > 0.008856, xp.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    lab = xp.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab.astype(np.float32)


def lab_to_rgb(lab: Any) -> Any:
    """CIE L*a*b* (D65) → sRGB, clipped to [0, 1]."""
    xp = get_xp(lab)
    lab = lab.astype(np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = xp.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = xp.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787)
    lin = _mat(xyz * xp.asarray(_WHITE, dtype=np.float32), _XYZ2RGB)
    lin = xp.clip(lin, 0.0, None)
    rgb = xp.where(lin > 0.0031308, 1.055 * lin ** (1 / 2.4) - 0.055, 12.92 * lin)
    return xp.clip(rgb, 0.0, 1.0).astype(np.float32)


def rgb_to_yiq(rgb: Any) -> Any:
    """RGB → YIQ (NTSC); Y in [0, 1] is the luminance."""
    return _mat(rgb, _RGB2YIQ)


def yiq_to_rgb(yiq: Any) -> Any:
    """YIQ → RGB (not clipped)."""
    return _mat(yiq, _YIQ2RGB)


def luminance(rgb: Any) -> Any:
    """Y of YIQ: 0.299 R + 0.587 G + 0.114 B, shape (H, W)."""
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.float32)


def match_mean_std(src: Any, ref: Any, eps: float = 1e-6) -> Any:
    """Affinely map ``src`` so that its mean and standard deviation are those of ``ref``
    (whole arrays; used for luminance channels)."""
    xp = get_xp(src)
    mu_s, sd_s = src.mean(), src.std()
    mu_r, sd_r = ref.mean(), ref.std()
    return ((src - mu_s) * (sd_r / xp.maximum(sd_s, eps)) + mu_r).astype(np.float32)


def match_color(src: Any, ref: Any, eps: float = 1e-5) -> Any:
    """Linear colour transfer: give ``src`` (H, W, 3) the RGB mean and covariance of ``ref``.

    ``x' = A (x − μ_s) + μ_r`` with ``A = Σ_r^{1/2} Σ_s^{−1/2}`` (symmetric matrix square
    roots, the "image analogies" variant of Gatys et al. 2016, "Preserving Color in Neural
    Artistic Style Transfer", arXiv:1606.05897, §2.1); ``eps`` regularises the covariances.
    The result is clipped to [0, 1].
    """
    xp = get_xp(src)
    s = src.reshape(-1, 3).astype(np.float64)
    r = ref.reshape(-1, 3).astype(np.float64)
    mu_s, mu_r = s.mean(0), r.mean(0)
    eye = xp.eye(3) * eps
    cov_s = (s - mu_s).T @ (s - mu_s) / s.shape[0] + eye
    cov_r = (r - mu_r).T @ (r - mu_r) / r.shape[0] + eye

    def sqrtm(c: Any, power: float) -> Any:
        w, v = xp.linalg.eigh(c)
        return (v * xp.maximum(w, eps) ** power) @ v.T

    a = sqrtm(cov_r, 0.5) @ sqrtm(cov_s, -0.5)
    out = (s - mu_s) @ a.T + mu_r
    return xp.clip(out, 0.0, 1.0).reshape(src.shape).astype(np.float32)
