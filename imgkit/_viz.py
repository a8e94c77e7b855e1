"""Pictures for teaching: colour drawings of what the methods compute.

:func:`nnf_to_rgb` draws a nearest-neighbour field the way optical flow is drawn. It is public
as :func:`imgkit.nnf_to_rgb` (and :func:`imgkit.nnf.nnf_to_rgb`); method modules import it from
here, so that no method module depends on a public door.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._xp import get_xp
from .errors import InvalidImageError, InvalidOptionError

__all__ = ["nnf_to_rgb"]


def nnf_to_rgb(offsets: Any, max_magnitude: float | None = None) -> Any:
    """Colour picture of a field: hue = direction, saturation = length (optical-flow style).

    The offset ``(dy, dx)`` becomes a colour on the HSV wheel: its angle picks the hue (red =
    pointing right, then counter-clockwise as seen on screen, i.e. with y up: yellow-green =
    up, cyan = left, blue-violet = down), its length the saturation (white = no offset, full
    colour at ``max_magnitude``), value 1. Smooth regions of one colour are coherent patches
    copied from one place; noise-like colours are incoherent matches.

    Parameters
    ----------
    offsets : array_like, int or float, shape (H, W, 2)
        ``(dy, dx)`` per pixel, e.g. from :func:`nnf` (NumPy or CuPy).
    max_magnitude : float, optional
        Length shown at full saturation (default: the largest length in the field).

    Returns
    -------
    ndarray, float32, shape (H, W, 3), values in [0, 1]
    """
    xp = get_xp(offsets)
    offsets = xp.asarray(offsets)
    if offsets.ndim != 3 or offsets.shape[2] != 2 or offsets.dtype.kind not in "iuf":
        raise InvalidImageError(
            f"offsets must be a numeric (H, W, 2) array of (dy, dx); got shape "
            f"{tuple(offsets.shape)} dtype {offsets.dtype}"
        )
    off = offsets.astype(np.float64)
    if not bool(xp.isfinite(off).all()):
        raise InvalidImageError("offsets contains NaN or infinite values")
    dy, dx = off[..., 0], off[..., 1]
    mag = xp.hypot(dy, dx)
    if max_magnitude is None:
        top = float(mag.max()) if mag.size else 0.0
    else:
        if not np.isfinite(max_magnitude) or max_magnitude <= 0:
            raise InvalidOptionError(f"max_magnitude must be a positive number; got {max_magnitude!r}")
        top = float(max_magnitude)
    sat = xp.clip(mag / top, 0.0, 1.0) if top > 0 else xp.zeros_like(mag)
    hue = (xp.arctan2(-dy, dx) / (2 * np.pi)) % 1.0  # screen y points down: -dy is "up"
    # HSV → RGB with V = 1: channel n is 1 - S * clip(min(k, 4 - k), 0, 1), k = (n + 6H) mod 6
    rgb = xp.empty((*off.shape[:2], 3), dtype=np.float32)
    for i, n in enumerate((5.0, 3.0, 1.0)):
        k = (n + hue * 6.0) % 6.0
        rgb[..., i] = 1.0 - sat * xp.clip(xp.minimum(k, 4.0 - k), 0.0, 1.0)
    return rgb
