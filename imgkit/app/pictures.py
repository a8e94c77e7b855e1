"""Pictures for the "How it works" panels: colour maps, position colours, small SVG charts, PNG.

Nothing here knows about methods; :mod:`imgkit.app.explain` composes these into panels.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._image import to_numpy

__all__ = ["MAX_FRAMES", "MAX_SIDE", "as_rgb", "encode_png", "line_chart_svg", "position_colours",
           "shrink", "subsample"]

#: Largest side of a figure image (pixels); bigger images are reduced by area averaging.
MAX_SIDE = 256
#: Most frames an animation keeps (evenly subsampled, first and last always kept).
MAX_FRAMES = 24


def as_rgb(img: Any) -> np.ndarray:
    a = np.asarray(to_numpy(img), dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 2:
        a = np.repeat(a[:, :, :1], 3, axis=2)
    elif a.shape[2] > 3:
        a = a[:, :, :3]
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


def as_float_rgb(img: Any) -> np.ndarray:
    a = np.asarray(to_numpy(img))
    if a.dtype.kind in "ui":
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    return as_rgb(a)


def shrink(img: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img
    import cv2

    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def subsample(n: int, keep: int = MAX_FRAMES) -> list[int]:
    if n <= keep:
        return list(range(n))
    return sorted({round(i * (n - 1) / (keep - 1)) for i in range(keep)})


def colormap(values: np.ndarray) -> np.ndarray:
    """Viridis colours of values in [0, 1] (OpenCV's table), float32 RGB."""
    import cv2

    v = np.clip(np.nan_to_num(values), 0.0, 1.0)
    bgr = cv2.applyColorMap(np.round(v * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return bgr[:, :, ::-1].astype(np.float32) / 255.0


def position_colours(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Colour of a position: red grows to the right, green downwards, blue towards the top left.

    Parameters
    ----------
    rows, cols : ndarray
        Positions (any shape, same shape).
    shape : (int, int)
        ``(H, W)`` the positions lie in.

    Returns
    -------
    ndarray, shape ``rows.shape + (3,)``, float32 in [0, 1]
    """
    h, w = shape
    x = np.clip(cols / max(w - 1, 1), 0, 1)
    y = np.clip(rows / max(h - 1, 1), 0, 1)
    return np.stack([x, y, 1.0 - 0.5 * (x + y)], axis=-1).astype(np.float32)


def position_key(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return position_colours(rows, cols, shape)


def grey(img: np.ndarray, dim: float = 0.6) -> np.ndarray:
    g = img.mean(axis=2, keepdims=True)
    return np.repeat(0.25 + dim * 0.5 * g, 3, axis=2).astype(np.float32)


def outline(img: np.ndarray, y: int, x: int, half: int, colour=(1.0, 1.0, 0.0)) -> None:
    h, w = img.shape[:2]
    y0, y1, x0, x1 = max(y - half, 0), min(y + half, h - 1), max(x - half, 0), min(x + half, w - 1)
    if y0 > y1 or x0 > x1:
        return
    c = np.asarray(colour, np.float32)
    img[y0, x0 : x1 + 1] = c
    img[y1, x0 : x1 + 1] = c
    img[y0 : y1 + 1, x0] = c
    img[y0 : y1 + 1, x1] = c


def _nice(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-2:
        return f"{v:.1e}"
    return f"{v:.3g}"


def line_chart_svg(
    series: dict[str, Sequence[float]],
    *,
    title: str,
    xlabel: str = "step",
    log_y: bool = True,
    width: int = 360,
    height: int = 220,
) -> str:
    """A small self-contained SVG line chart (no plotting library needed).

    Parameters
    ----------
    series : dict of str to sequence of float
        Curves by name; each is plotted against its index (0, 1, ...). Non-finite values, and
        values ≤ 0 on a log axis, are left out.
    title, xlabel : str
    log_y : bool
        Logarithmic y axis (losses span decades).
    width, height : int
        Size in pixels.

    Returns
    -------
    str
        An ``<svg>`` document.
    """
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    left, right, top, bottom = 58, 10, 24, 34
    pw, ph = width - left - right, height - top - bottom
    clean: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, ys in series.items():
        y = np.asarray(ys, dtype=np.float64).ravel()
        x = np.arange(y.size, dtype=np.float64)
        ok = np.isfinite(y) & ((y > 0) if log_y else True)
        if ok.any():
            clean[name] = (x[ok], np.log10(y[ok]) if log_y else y[ok])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="12">{html.escape(title)}</text>',
    ]
    if not clean:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    xmax = max(float(x.max()) for x, _ in clean.values()) or 1.0
    ymin = min(float(y.min()) for _, y in clean.values())
    ymax = max(float(y.max()) for _, y in clean.values())
    if ymax - ymin < 1e-12:
        ymin, ymax = ymin - 0.5, ymax + 0.5

    def px(x: float) -> float:
        return left + pw * x / xmax

    def py(y: float) -> float:
        return top + ph * (1.0 - (y - ymin) / (ymax - ymin))

    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for frac in (0.0, 0.5, 1.0):
        yv = ymin + frac * (ymax - ymin)
        label = _nice(10**yv if log_y else yv)
        parts.append(f'<text x="{left - 4}" y="{py(yv) + 4:.1f}" text-anchor="end">{label}</text>')
    for frac in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{px(frac * xmax):.1f}" y="{top + ph + 14}" text-anchor="middle">'
                     f'{round(frac * xmax)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle">'
                 f'{html.escape(xlabel)}{" (log y)" if log_y else ""}</text>')
    for i, (name, (x, y)) in enumerate(clean.items()):
        colour = colours[i % len(colours)]
        step = max(1, x.size // 400)  # at most ~400 points per curve
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x[::step], y[::step]))
        if x.size == 1:
            parts.append(f'<circle cx="{px(x[0]):.1f}" cy="{py(y[0]):.1f}" r="2" fill="{colour}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        ly = top + 12 + 13 * i
        parts.append(f'<line x1="{left + pw - 70}" y1="{ly - 4}" x2="{left + pw - 58}" y2="{ly - 4}" '
                     f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{left + pw - 54}" y="{ly}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W)`` or ``(H, W, 1|3|4)`` image: float in [0, 1], uint8 or uint16.

    The file has 8 bits per channel, or 16 for uint16 input; channels are RGB(A).
    """
    import cv2

    a = np.asarray(to_numpy(img))
    if a.dtype.kind == "f":
        a = np.round(np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"encode_png: unsupported dtype {a.dtype}")
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[:, :, 0]
        elif a.shape[2] == 3:
            a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
        elif a.shape[2] == 4:
            a = cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(a))
    if not ok:  # pragma: no cover - OpenCV encodes any uint8/uint16 array
        raise ValueError("encode_png: OpenCV could not encode the image")
    return buf.tobytes()
