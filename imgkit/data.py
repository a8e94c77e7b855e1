"""Test photos and seeded hole masks, shared by the demo, the tests and the benchmark suite.

Photos come from :mod:`skimage.data` (installed with scikit-image, nothing is downloaded);
masks are drawn with a seed so every case can be rebuilt bit for bit.

>>> from imgkit import data
>>> img = data.photo("astronaut", size=64)
>>> img.shape, img.dtype
((64, 64, 3), dtype('float32'))
>>> m = data.mask("box", (64, 64))
>>> round(float(m.mean()), 2)
0.12
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidOptionError

__all__ = ["MASK_KINDS", "PHOTOS", "TEXTURES", "mask", "photo"]

#: Colour photographs in :mod:`skimage.data`.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
#: Grey textures in :mod:`skimage.data` (returned as RGB by :func:`photo`).
TEXTURES = ("brick", "grass", "gravel")
#: Kinds of hole masks :func:`mask` draws.
MASK_KINDS = ("box", "strokes", "thick", "blobs")

_OTHER = ("camera", "moon", "coins", "cat", "retina", "colorwheel", "motorcycle_left")
# Images that skimage.data returns as part of a tuple (name -> loader).
_LOADERS = {"motorcycle_left": lambda sk: sk.stereo_motorcycle()[0]}


def photo(name: str, size: int | tuple[int, int] | None = 128, *, rgb: bool = True) -> np.ndarray:
    """A real photo from :mod:`skimage.data`, centre-cropped to square and resized.

    Parameters
    ----------
    name : str
        One of :data:`PHOTOS`, :data:`TEXTURES` or ``camera``, ``moon``, ``coins``, ``cat``,
        ``retina``, ``colorwheel``, ``motorcycle_left`` (left view of the stereo pair).
    size : int or (int, int) or None
        Output side (square centre crop, then area-averaged resize), or ``(H, W)`` for a
        resize without cropping; ``None`` keeps the original.
    rgb : bool
        Turn grey images into 3-channel RGB.

    Returns
    -------
    ndarray, float32 in [0, 1], shape (size, size, 3) (or (H, W) for grey with ``rgb=False``)
    """
    from skimage import data as skdata
    from skimage.transform import resize

    if name not in PHOTOS + TEXTURES + _OTHER:
        raise InvalidOptionError(
            f"unknown photo {name!r}; choose one of {', '.join(PHOTOS + TEXTURES + _OTHER)}"
        )
    img = _LOADERS[name](skdata) if name in _LOADERS else getattr(skdata, name)()
    img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
    if img.ndim == 3:
        img = img[:, :, :3]
    if size is not None:
        if isinstance(size, int):
            h, w = img.shape[:2]
            s = min(h, w)
            top, left = (h - s) // 2, (w - s) // 2
            img = img[top : top + s, left : left + s]
            shape = (size, size)
        else:
            shape = tuple(size)
        img = resize(img, shape, anti_aliasing=True, preserve_range=True).astype(np.float32)
    if rgb and img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(np.clip(img, 0.0, 1.0))


def _stroke_mask(shape, rng, n, width_range, length_range, max_turns=6):
    import cv2

    h, w = shape
    m = np.zeros(shape, np.uint8)
    s = min(h, w)
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        width = int(max(1, round(rng.uniform(*width_range) * s)))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(rng.integers(2, max_turns + 1)):
            length = rng.uniform(*length_range) * s
            angle += rng.uniform(-np.pi / 2, np.pi / 2)
            nx = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, width, lineType=cv2.LINE_8)
            x, y = nx, ny
    return m.astype(bool)


def _blob_mask(shape, rng, area):
    import cv2

    h, w = shape
    m = np.zeros(shape, np.uint8)
    # A star-shaped object: radius varying smoothly with angle (a few low harmonics).
    k = np.arange(1, 5)
    amp = rng.uniform(0.05, 0.25, size=k.size) / k
    phase = rng.uniform(0, 2 * np.pi, size=k.size)
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    rel = 1.0 + (amp[:, None] * np.cos(k[:, None] * t + phase[:, None])).sum(0)
    aspect = rng.uniform(0.7, 1.3)
    base_area = 0.5 * np.sum(rel**2) * (2 * np.pi / t.size) * aspect
    r0 = np.sqrt(area * h * w / base_area)
    rx, ry = r0 * rel * np.sqrt(aspect), r0 * rel / np.sqrt(aspect)
    cx = rng.uniform(0.3, 0.7) * w
    cy = rng.uniform(0.3, 0.7) * h
    pts = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


def mask(kind: str, shape: tuple[int, int], *, seed: int = 0, area: float | None = None) -> np.ndarray:
    """A seeded hole mask of one of four kinds.

    Parameters
    ----------
    kind : {"box", "strokes", "thick", "blobs"}
        ``box``: a centred rectangle (default 12 % of the area). ``strokes``: thin random
        scribbles (1–2 % of the side wide). ``thick``: a few wide strokes in the spirit of
        LaMa's thick masks (7–11 % of the side wide). ``blobs``: one compact object-like shape
        (default 8 % of the area).
    shape : (int, int)
        ``(H, W)``.
    seed : int
        Seed of the random drawing.
    area : float, optional
        Target hole fraction for ``box`` and ``blobs``.

    Returns
    -------
    ndarray of bool, shape (H, W); True marks the hole.
    """
    if kind not in MASK_KINDS:
        raise InvalidOptionError(f"mask kind must be one of {list(MASK_KINDS)}; got {kind!r}")
    h, w = int(shape[0]), int(shape[1])
    rng = np.random.default_rng(seed)
    if kind == "box":
        frac = 0.12 if area is None else float(area)
        bh, bw = max(1, round(h * np.sqrt(frac))), max(1, round(w * np.sqrt(frac)))
        m = np.zeros((h, w), bool)
        top, left = (h - bh) // 2, (w - bw) // 2
        m[top : top + bh, left : left + bw] = True
        return m
    if kind == "strokes":
        return _stroke_mask((h, w), rng, n=6, width_range=(0.01, 0.02), length_range=(0.1, 0.3))
    if kind == "thick":
        return _stroke_mask((h, w), rng, n=3, width_range=(0.07, 0.11),
                            length_range=(0.1, 0.25), max_turns=3)
    return _blob_mask((h, w), rng, 0.08 if area is None else float(area))
