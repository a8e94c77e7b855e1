"""The "How it works" panel of a result, built from the ``info`` that ``return_info=True`` gives.

:func:`explain` turns a method's :class:`~imgkit.context.Info` into an :class:`Explanation`:
two sentences saying what the reader sees, the paper, and figures (still images, animations
given as frames, and line charts as SVG). The figure kind is chosen from the fields the info
carries, not from the method's name, so a new method that returns one of these records gets its
panel for free:

=================================  ==========================================================
info fields                        figures
=================================  ==========================================================
``fill_order``, ``source``         fill-order animation (the onion peel), fill-order map,
                                   source map and its position key (Criminisi)
``nnf_rgb``, ``estimates``         nearest-neighbour field per pyramid level, image after each
                                   EM step (PatchMatch completion)
``snapshots``, ``loss``            network output snapshots, loss curve (Deep Image Prior)
``loss_total``, ``loss_style``     loss curves, intermediate images (Gatys)
``source_maps``, ``coherent``      source map, coherence map (image analogies)
=================================  ==========================================================

:func:`to_json` gives the panel as JSON with PNG/SVG data URLs (for the page);
:func:`write_figures` writes the images as files (for the static gallery).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._image import to_numpy

__all__ = ["Explanation", "Figure", "TEXTS", "encode_png", "explain", "line_chart_svg", "to_json",
           "write_figures"]

#: Largest side of a figure image (pixels); bigger images are reduced by area averaging.
MAX_SIDE = 256
#: Most frames an animation keeps (evenly subsampled, first and last always kept).
MAX_FRAMES = 24
HOLE_COLOUR = np.array([1.0, 0.0, 1.0], np.float32)

CRIMINISI = ("A. Criminisi, P. Pérez, K. Toyama, “Region Filling and Object Removal by "
             "Exemplar-Based Image Inpainting”, IEEE Trans. Image Processing 13(9), 2004")
PATCHMATCH = ("C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, “PatchMatch: A Randomized "
              "Correspondence Algorithm for Structural Image Editing”, SIGGRAPH 2009; Y. Wexler, "
              "E. Shechtman, M. Irani, “Space-Time Completion of Video”, IEEE TPAMI 29(3), 2007")
DIP = ("D. Ulyanov, A. Vedaldi, V. Lempitsky, “Deep Image Prior”, CVPR 2018")
GATYS = ("L. A. Gatys, A. S. Ecker, M. Bethge, “Image Style Transfer Using Convolutional Neural "
         "Networks”, CVPR 2016")
HERTZMANN = ("A. Hertzmann, C. E. Jacobs, N. Oliver, B. Curless, D. H. Salesin, “Image Analogies”, "
             "SIGGRAPH 2001")

#: What the reader sees, two sentences per kind of figure set.
TEXTS = {
    "criminisi": (
        "The animation replays the fill patch by patch: Criminisi's priority (confidence × data "
        "term) makes the fill front advance first where strong edges run into the hole, so lines "
        "are continued before flat areas are filled, and the fill-order map shows these onion "
        "peels from dark (early) to bright (late). The source map colours every filled pixel by "
        "the place in the photo it was copied from (read the colours against the position key): "
        "large patches of one colour are whole regions copied in one piece."
    ),
    "patchmatch": (
        "Each field picture colours a hole pixel by the offset to the patch it copies (hue: "
        "direction, saturation: distance), from the coarsest pyramid level to the finest; areas "
        "of one colour copy a whole region coherently, which PatchMatch's propagation step finds "
        "quickly. The frames show the image after each EM step: the search step finds a nearest "
        "patch for every hole patch, the vote averages their overlapping pixels, and the fill "
        "sharpens level by level."
    ),
    "dip": (
        "The network starts from random weights and a fixed noise input and is trained only to "
        "reproduce the known pixels; the snapshots show the photo emerging from noise, the hole "
        "filled by whatever the network's convolutional structure produces most easily. The loss "
        "is the error on the known pixels alone: it falls fast while the network learns large "
        "structures and slowly while it learns fine detail and noise, which is why stopping "
        "early acts as the prior."
    ),
    "gatys": (
        "Here the image itself is optimised: at each step the VGG16 features of the current image "
        "are compared with the content image's features (content loss) and their Gram matrices, "
        "which keep textures but forget where things are, with the style's (style loss). The "
        "curves show the weighted terms falling while the intermediate images move from the "
        "start image to the stylised result."
    ),
    "analogy": (
        "Every output pixel copies the filtered value (A′) of the pixel of A whose neighbourhood "
        "matches its own best, coarse to fine; the source map colours each output pixel by where "
        "in A it was copied from. The coherence map marks in white the pixels where continuing a "
        "neighbour's source (the coherence search) beat the best approximate match, which keeps "
        "strokes and textures in one piece."
    ),
}
PAPERS = {"criminisi": CRIMINISI, "patchmatch": PATCHMATCH, "dip": DIP, "gatys": GATYS,
          "analogy": HERTZMANN}

#: Two sentences for methods that record no step-by-step data (by method name).
SIMPLE_TEXTS = {
    "telea": "Telea's fast marching method fills the hole from its border inwards, each new pixel "
             "a weighted average of the known pixels near it, weighted towards the direction of "
             "the level lines. It is fast and smooth, so it suits thin scratches and small holes but "
             "blurs texture in large ones.",
    "ns": "The Navier–Stokes method transports image smoothness (the Laplacian) along the level "
          "lines into the hole, as a fluid carries vorticity. Edges reaching the hole are "
          "continued, but texture is not reproduced, so large holes look smooth.",
    "biharmonic": "The hole is filled with the smoothest surface (a solution of the biharmonic "
                  "equation) that meets the known pixels and their slopes at the border. It "
                  "continues gradients without seams, but invents no texture.",
    "fsr_fast": "Frequency-selective reconstruction models each block around the hole as a sum of "
                "Fourier basis functions chosen to fit the known pixels, then evaluates the model "
                "in the hole. It extends regular textures and edges better than diffusion.",
    "fsr_best": "Frequency-selective reconstruction models each block around the hole as a sum of "
                "Fourier basis functions chosen to fit the known pixels, then evaluates the model "
                "in the hole. This setting fits more basis functions: slower but sharper.",
    "shiftmap": "Shift-map inpainting labels each hole pixel with a shift (where to copy from) and "
                "chooses the labels by graph cuts so that neighbouring copies agree. The result is "
                "made of a few large copied regions with seams placed where they show least.",
    "lama": "LaMa is a network trained on millions of photos with large masks; its fast Fourier "
            "convolutions give every layer a view of the whole image. It fills large holes with "
            "plausible structure in one forward pass.",
}


@dataclass
class Figure:
    """One figure of a panel.

    Attributes
    ----------
    kind : {"image", "animation", "chart"}
        ``image``: one picture; ``animation``: frames played in order; ``chart``: an SVG.
    caption : str
    images : list
        ``(H, W, 3)`` float arrays in [0, 1] (``image``, ``animation``) or one SVG string
        (``chart``).
    labels : list of str
        One label per frame (animations).
    pixelated : bool
        Small pictures (pyramid levels, fields) are best shown enlarged without smoothing.
    """

    kind: str
    caption: str
    images: list[Any]
    labels: list[str] = field(default_factory=list)
    pixelated: bool = False


@dataclass
class Explanation:
    """A "How it works" panel: what the figures show, the paper, and the figures."""

    method: str
    title: str
    text: str
    paper: str
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- image helpers

def _rgb(img: Any) -> np.ndarray:
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


def _float(img: Any) -> np.ndarray:
    a = np.asarray(to_numpy(img))
    if a.dtype.kind in "ui":
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    return _rgb(a)


def _shrink(img: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img
    import cv2

    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _subsample(n: int, keep: int = MAX_FRAMES) -> list[int]:
    if n <= keep:
        return list(range(n))
    return sorted({round(i * (n - 1) / (keep - 1)) for i in range(keep)})


def _colormap(values: np.ndarray) -> np.ndarray:
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


def _position_key(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return position_colours(rows, cols, shape)


def _grey(img: np.ndarray, dim: float = 0.6) -> np.ndarray:
    g = img.mean(axis=2, keepdims=True)
    return np.repeat(0.25 + dim * 0.5 * g, 3, axis=2).astype(np.float32)


def _outline(img: np.ndarray, y: int, x: int, half: int, colour=(1.0, 1.0, 0.0)) -> None:
    h, w = img.shape[:2]
    y0, y1, x0, x1 = max(y - half, 0), min(y + half, h - 1), max(x - half, 0), min(x + half, w - 1)
    if y0 > y1 or x0 > x1:
        return
    c = np.asarray(colour, np.float32)
    img[y0, x0 : x1 + 1] = c
    img[y1, x0 : x1 + 1] = c
    img[y0 : y1 + 1, x0] = c
    img[y0 : y1 + 1, x1] = c


# ----------------------------------------------------------------------------- charts

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


# ----------------------------------------------------------------------------- per-kind figures

def _criminisi(info: Any, image: np.ndarray, mask: np.ndarray, result: np.ndarray) -> list[Figure]:
    order = np.asarray(to_numpy(info.fill_order))
    source = np.asarray(to_numpy(info.source))
    steps = int(info.steps)
    centres = np.asarray(to_numpy(info.centres)).reshape(-1, 2)
    half = int(info.options.get("patch_size", 9)) // 2
    filled_any = order >= 0
    frames, labels = [], []
    n = min(MAX_FRAMES, steps + 1)
    for k in range(n):
        t = round(k * steps / max(n - 1, 1))
        done = filled_any & (order < t)
        frame = np.where((mask & ~done)[:, :, None], HOLE_COLOUR, np.where(done[:, :, None], result,
                                                                             image))
        frame = frame.astype(np.float32)
        if 0 < t <= len(centres) and t < steps:
            _outline(frame, int(centres[t - 1][0]), int(centres[t - 1][1]), half)
        frames.append(_shrink(frame))
        labels.append(f"{t} of {steps} patches")
    figs = [Figure("animation", "Fill order, patch by patch (magenta: still empty; yellow: the "
                   "last patch copied)", frames, labels)]
    order_map = _grey(image)
    if steps > 0 and filled_any.any():
        order_map[filled_any] = _colormap(order[filled_any] / max(steps - 1, 1))
    figs.append(Figure("image", "Fill order (the onion peel): dark = filled early, bright = late",
                       [_shrink(order_map)]))
    H, W = mask.shape
    src = _grey(image)
    has = (source[:, :, 0] >= 0) & filled_any
    if has.any():
        src[has] = position_colours(source[:, :, 0][has], source[:, :, 1][has], (H, W))
    key = _position_key((H, W))
    key[mask] = 0.0
    figs.append(Figure("image", "Source map: each filled pixel coloured by where it was copied from",
                       [_shrink(src)]))
    figs.append(Figure("image", "Position key: each known pixel in the colour of its own position",
                       [_shrink(key)]))
    return figs


def _patchmatch(info: Any) -> list[Figure]:
    figs = []
    levels = len(info.nnf_rgb)
    fields = [_rgb(f) for f in info.nnf_rgb]
    shapes = [tuple(s) for s in info.shapes] or [f.shape[:2] for f in fields]
    for li, (f, m) in enumerate(zip(fields, info.masks or [None] * levels)):
        if m is not None:
            m = np.asarray(to_numpy(m), bool)
            f = np.where(m[:, :, None], f, 0.5 * f + 0.25)
        fields[li] = f
    figs.append(Figure(
        "animation", "Nearest-neighbour field per pyramid level, coarse → fine (hue: direction of "
        "the copy, saturation: its length)", [_shrink(f) for f in fields],
        [f"level {i + 1} of {levels}: {s[1]}×{s[0]}" for i, s in enumerate(shapes)], pixelated=True,
    ))
    frames, labels = [], []
    for li, ests in enumerate(info.estimates):
        for si, e in enumerate(ests):
            frames.append(_rgb(e))
            what = "start" if si == 0 else f"EM step {si}"
            labels.append(f"level {li + 1} of {levels}, {what}")
    if frames:
        keep = _subsample(len(frames), 40)
        figs.append(Figure("animation", "The image after each EM step (search, then vote), level "
                           "by level", [_shrink(frames[i]) for i in keep], [labels[i] for i in keep],
                           pixelated=True))
    return figs


def _dip(info: Any) -> list[Figure]:
    figs = []
    snaps = list(info.snapshots)
    its = list(info.snapshot_iterations) or list(range(len(snaps)))
    if snaps:
        keep = _subsample(len(snaps))
        figs.append(Figure("animation", "The network's whole output during training (not "
                           "composited with the known pixels)", [_shrink(_rgb(snaps[i])) for i in keep],
                           [f"step {its[i]}" for i in keep]))
    figs.append(Figure("chart", "Loss on the known pixels", [line_chart_svg(
        {"MSE on known pixels": np.asarray(to_numpy(info.loss))}, title="Deep Image Prior loss",
        xlabel="Adam step")]))
    return figs


def _gatys(info: Any, intermediates: list[tuple[str, np.ndarray]]) -> list[Figure]:
    figs = [Figure("chart", "Weighted loss terms at each optimiser step (all scales)", [line_chart_svg(
        {"total": info.loss_total, "content": info.loss_content, "style": info.loss_style,
         "tv": info.loss_tv}, title="Gatys losses", xlabel="optimiser step")])]
    if intermediates:
        keep = _subsample(len(intermediates))
        figs.append(Figure("animation", "Intermediate images of the optimisation",
                           [_shrink(_rgb(intermediates[i][1])) for i in keep],
                           [intermediates[i][0] for i in keep]))
    return figs


def _analogy(info: Any, source_shape: tuple[int, int] | None) -> list[Figure]:
    figs = []
    smap = np.asarray(to_numpy(info.source_maps[-1]))
    coh = np.asarray(to_numpy(info.coherent[-1]), bool)
    valid = smap[:, :, 0] >= 0
    shape = source_shape
    if shape is None or (valid.any() and (smap[valid].max(axis=0) >= np.asarray(shape)).any()):
        shape = tuple(int(v) + 1 for v in smap[valid].max(axis=0)) if valid.any() else (1, 1)
    pic = np.zeros((*smap.shape[:2], 3), np.float32)
    pic[valid] = position_colours(smap[:, :, 0][valid], smap[:, :, 1][valid], shape)
    figs.append(Figure("image", "Source map (finest level): each output pixel coloured by where in A "
                       "it was copied from", [_shrink(pic)], pixelated=True))
    figs.append(Figure("image", "Position key: A in the colours of its own positions",
                       [_shrink(_position_key(shape))], pixelated=True))
    fr = ", ".join(f"{100 * f:.0f} %" for f in info.coherence_fraction)
    figs.append(Figure("image", f"Coherence map (finest level; white: coherence won). Share per "
                       f"level, coarse → fine: {fr}", [_shrink(_rgb(coh.astype(np.float32)))],
                       pixelated=True))
    return figs


def _kind(info: Any) -> str | None:
    if info is None:
        return None
    if hasattr(info, "fill_order") and hasattr(info, "source"):
        return "criminisi"
    if hasattr(info, "nnf_rgb") and hasattr(info, "estimates"):
        return "patchmatch"
    if hasattr(info, "snapshots") and hasattr(info, "loss"):
        return "dip"
    if hasattr(info, "loss_total") and hasattr(info, "loss_style"):
        return "gatys"
    if hasattr(info, "source_maps") and hasattr(info, "coherent"):
        return "analogy"
    return None


def _facts(info: Any) -> dict[str, str]:
    facts = {}
    if info is None:
        return facts
    if getattr(info, "device", None):
        facts["device"] = str(info.device)
    for name, secs in sorted(getattr(info, "timings", {}).items()):
        facts[f"time: {name}"] = f"{secs:.3f} s"
    for name in ("steps", "iterations_run", "levels", "fallbacks", "converged", "stopped"):
        if hasattr(info, name):
            facts[name] = str(getattr(info, name))
    if hasattr(info, "seed"):
        facts["seed"] = str(info.seed)
    return facts


def explain(
    method: str,
    info: Any,
    *,
    inputs: dict[str, Any],
    result: Any,
    intermediates: list[tuple[str, np.ndarray]] | None = None,
    reference: str = "",
    summary: str = "",
) -> Explanation:
    """Build the "How it works" panel of one result.

    Parameters
    ----------
    method : str
        Method name.
    info : Info or None
        What ``return_info=True`` gave.
    inputs : dict
        ``{"image": ..., "mask": ...}`` for inpainting, ``{"content": ..., "style": ...}`` for
        style transfer (arrays as given to the method).
    result : ndarray
        The method's output.
    intermediates : list of (label, image), optional
        Images caught from the method's callback (``state["image"]``), e.g. Gatys's.
    reference, summary : str
        The registry's paper and one-line summary (used for methods without figures).

    Returns
    -------
    Explanation
    """
    kind = _kind(info)
    res = _float(result)
    figures: list[Figure] = []
    if kind == "criminisi":
        mask = np.asarray(to_numpy(inputs["mask"]), bool)
        figures = _criminisi(info, _float(inputs["image"]), mask, res)
    elif kind == "patchmatch":
        figures = _patchmatch(info)
    elif kind == "dip":
        figures = _dip(info)
    elif kind == "gatys":
        figures = _gatys(info, list(intermediates or []))
    elif kind == "analogy":
        src = inputs.get("style", inputs.get("a"))
        if isinstance(src, (list, tuple)):  # several style images: the analogy learns from the first
            src = src[0] if src else None
        shape = None if src is None else tuple(np.shape(to_numpy(src))[:2])
        figures = _analogy(info, shape)
    if kind is not None:
        text, paper = TEXTS[kind], PAPERS[kind]
        if kind == "gatys" and reference:
            paper = reference
    else:
        text = SIMPLE_TEXTS.get(method, "") or (
            f"{summary[:1].upper()}{summary[1:]}. This method records no step-by-step data to show; "
            f"its timings are below." if summary else "This method records no step-by-step data.")
        paper = reference
    title = f"How {method} works"
    return Explanation(method=method, title=title, text=text, paper=paper or reference,
                       figures=figures, facts=_facts(info))


# ----------------------------------------------------------------------------- serialisation

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


def _data_url(item: Any) -> str:
    if isinstance(item, str):
        return "data:image/svg+xml;base64," + base64.b64encode(item.encode()).decode()
    return "data:image/png;base64," + base64.b64encode(encode_png(item)).decode()


def to_json(expl: Explanation) -> dict[str, Any]:
    """The panel as plain JSON data; images become ``data:`` URLs (PNG, or SVG for charts)."""
    return {
        "method": expl.method,
        "title": expl.title,
        "text": expl.text,
        "paper": expl.paper,
        "facts": dict(expl.facts),
        "figures": [
            {"kind": f.kind, "caption": f.caption, "labels": list(f.labels), "pixelated": f.pixelated,
             "frames": [_data_url(im) for im in f.images]}
            for f in expl.figures
        ],
    }


def write_figures(expl: Explanation, folder: Path, prefix: str) -> dict[str, Any]:
    """Write the panel's images into ``folder`` (PNG, SVG for charts) and return the JSON form
    of :func:`to_json` with file names (relative to ``folder``'s parent) instead of data URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = to_json(Explanation(expl.method, expl.title, expl.text, expl.paper, [], expl.facts))
    for fi, f in enumerate(expl.figures):
        names = []
        for k, im in enumerate(f.images):
            if isinstance(im, str):
                name = f"{prefix}-f{fi}-{k}.svg"
                (folder / name).write_text(im, encoding="utf-8")
            else:
                name = f"{prefix}-f{fi}-{k}.png"
                (folder / name).write_bytes(encode_png(im))
            names.append(f"{folder.name}/{name}")
        out["figures"].append({"kind": f.kind, "caption": f.caption, "labels": list(f.labels),
                               "pixelated": f.pixelated, "frames": names})
    return out

