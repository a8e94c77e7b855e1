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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._image import to_numpy
from .pictures import (
    MAX_FRAMES,
    as_float_rgb,
    as_rgb,
    colormap,
    encode_png,
    grey,
    line_chart_svg,
    outline,
    position_colours,
    position_key,
    shrink,
    subsample,
)

__all__ = ["Explanation", "Figure", "TEXTS", "encode_png", "explain", "line_chart_svg", "to_json",
           "write_figures"]

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
            outline(frame, int(centres[t - 1][0]), int(centres[t - 1][1]), half)
        frames.append(shrink(frame))
        labels.append(f"{t} of {steps} patches")
    figs = [Figure("animation", "Fill order, patch by patch (magenta: still empty; yellow: the "
                   "last patch copied)", frames, labels)]
    order_map = grey(image)
    if steps > 0 and filled_any.any():
        order_map[filled_any] = colormap(order[filled_any] / max(steps - 1, 1))
    figs.append(Figure("image", "Fill order (the onion peel): dark = filled early, bright = late",
                       [shrink(order_map)]))
    H, W = mask.shape
    src = grey(image)
    has = (source[:, :, 0] >= 0) & filled_any
    if has.any():
        src[has] = position_colours(source[:, :, 0][has], source[:, :, 1][has], (H, W))
    key = position_key((H, W))
    key[mask] = 0.0
    figs.append(Figure("image", "Source map: each filled pixel coloured by where it was copied from",
                       [shrink(src)]))
    figs.append(Figure("image", "Position key: each known pixel in the colour of its own position",
                       [shrink(key)]))
    return figs


def _patchmatch(info: Any) -> list[Figure]:
    figs = []
    levels = len(info.nnf_rgb)
    fields = [as_rgb(f) for f in info.nnf_rgb]
    shapes = [tuple(s) for s in info.shapes] or [f.shape[:2] for f in fields]
    for li, (f, m) in enumerate(zip(fields, info.masks or [None] * levels)):
        if m is not None:
            m = np.asarray(to_numpy(m), bool)
            f = np.where(m[:, :, None], f, 0.5 * f + 0.25)
        fields[li] = f
    figs.append(Figure(
        "animation", "Nearest-neighbour field per pyramid level, coarse → fine (hue: direction of "
        "the copy, saturation: its length)", [shrink(f) for f in fields],
        [f"level {i + 1} of {levels}: {s[1]}×{s[0]}" for i, s in enumerate(shapes)], pixelated=True,
    ))
    frames, labels = [], []
    for li, ests in enumerate(info.estimates):
        for si, e in enumerate(ests):
            frames.append(as_rgb(e))
            what = "start" if si == 0 else f"EM step {si}"
            labels.append(f"level {li + 1} of {levels}, {what}")
    if frames:
        keep = subsample(len(frames), 40)
        figs.append(Figure("animation", "The image after each EM step (search, then vote), level "
                           "by level", [shrink(frames[i]) for i in keep], [labels[i] for i in keep],
                           pixelated=True))
    return figs


def _dip(info: Any) -> list[Figure]:
    figs = []
    snaps = list(info.snapshots)
    its = list(info.snapshot_iterations) or list(range(len(snaps)))
    if snaps:
        keep = subsample(len(snaps))
        figs.append(Figure("animation", "The network's whole output during training (not "
                           "composited with the known pixels)", [shrink(as_rgb(snaps[i])) for i in keep],
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
        keep = subsample(len(intermediates))
        figs.append(Figure("animation", "Intermediate images of the optimisation",
                           [shrink(as_rgb(intermediates[i][1])) for i in keep],
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
                       "it was copied from", [shrink(pic)], pixelated=True))
    figs.append(Figure("image", "Position key: A in the colours of its own positions",
                       [shrink(position_key(shape))], pixelated=True))
    fr = ", ".join(f"{100 * f:.0f} %" for f in info.coherence_fraction)
    figs.append(Figure("image", f"Coherence map (finest level; white: coherence won). Share per "
                       f"level, coarse → fine: {fr}", [shrink(as_rgb(coh.astype(np.float32)))],
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
    res = as_float_rgb(result)
    figures: list[Figure] = []
    if kind == "criminisi":
        mask = np.asarray(to_numpy(inputs["mask"]), bool)
        figures = _criminisi(info, as_float_rgb(inputs["image"]), mask, res)
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

