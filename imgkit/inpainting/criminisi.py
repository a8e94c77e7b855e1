"""Criminisi, Pérez and Toyama's exemplar-based inpainting (IEEE TIP 2004).

The hole is filled patch by patch from its boundary inwards. At each step the front pixel of
highest priority is taken, the best-matching fully known patch of the image is found by an
exhaustive masked SSD search (the hot loop, in :mod:`imgkit.kernels.criminisi`), and its
pixels are copied into the unknown part of the target patch.

Everything array-level here is written once against ``xp`` (NumPy, or CuPy with
``device="cuda"``), so on a GPU the image, masks, confidence and priorities stay on the device
for the whole fill; the search runs as the Numba-CUDA twin of the CPU kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_patch_fits
from .._color import rgb_to_lab
from .._xp import to_numpy
from ..context import Info, RunContext
from ..errors import NoSourceError
from ..registry import Option, register

__all__ = ["QUANT", "CriminisiInfo", "criminisi", "features"]

#: Features are quantised to integers in units of 1/QUANT (of an 8-bit level, or of a Lab unit).
QUANT = 64
#: Fixed-point one of the confidence (C = 1), as in :mod:`imgkit.kernels.criminisi`.
CONF_ONE = 1 << 30


@dataclass(kw_only=True)
class CriminisiInfo(Info):
    """What a Criminisi fill did, for teaching and debugging.

    Attributes
    ----------
    fill_order : ndarray of int32, shape (H, W)
        Step index (0, 1, ...) at which each hole pixel was filled; -1 for known pixels and for
        hole pixels left unfilled by an early stop.
    source : ndarray of int32, shape (H, W, 2)
        ``(row, col)`` of the source pixel each filled pixel was copied from; -1 elsewhere.
    confidence : ndarray of float32, shape (H, W)
        Final confidence map C: 1 on known pixels, C(p̂) of the step that filled each pixel.
    centres : ndarray of int32, shape (steps, 2)
        Centre ``(row, col)`` of the target patch of each step.
    source_centres : ndarray of int32, shape (steps, 2)
        Centre of the exemplar patch copied at each step.
    priorities : ndarray of float64, shape (steps,)
        Priority P(p̂) of the chosen target at each step.
    distances : ndarray of float64, shape (steps,)
        SSD of the chosen exemplar over the target's known pixels, in squared feature units
        (Lab units, or 8-bit levels for ``color_space="rgb"`` and grey images).
    steps : int
        Number of patches copied.
    fallbacks : int
        Steps where a windowed search (``search=<int>``) found no valid source patch in its
        window and searched the whole image instead.
    """

    fill_order: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    source: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2), np.int32))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    centres: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    source_centres: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    priorities: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    steps: int = 0
    fallbacks: int = 0


def _check_search(value: Any) -> Any:
    if isinstance(value, str) and value != "full":
        raise ValueError("must be 'full' or a window radius in pixels (an int ≥ 1)")
    return value


def features(image: np.ndarray, color_space: str) -> tuple[np.ndarray, int, int]:
    """Quantised matching features of a float image (computed with NumPy).

    Parameters
    ----------
    image : ndarray, shape (H, W, C), float32 in [0, 1], C in {1, 3}
    color_space : {"lab", "rgb"}

    Returns
    -------
    feats : ndarray, shape (H, W, C), int32
        ``round(QUANT * v)`` of CIE Lab (``"lab"``) or of 0–255 values (``"rgb"``, grey).
    channels : tuple of int
        Feature channels whose sum is the intensity used for isophotes (``(0,)`` = L*).
    alpha : int
        Intensity range α in feature units (``100 * QUANT`` for L*, ``255 * QUANT`` per
        summed 0–255 channel).
    """
    image = np.asarray(image, np.float32)
    if image.shape[2] == 3 and color_space == "lab":
        feat, chans, alpha = rgb_to_lab(image), (0,), 100 * QUANT
    else:
        feat = image * np.float32(255.0)
        chans = tuple(range(image.shape[2]))
        alpha = 255 * QUANT * len(chans)
    return np.rint(feat * np.float32(QUANT)).astype(np.int32), chans, alpha


def _first_max(xp, a) -> int:
    """Index of the first maximum of a 1-D array (spelled out rather than relying on CuPy's
    argmax tie rule)."""
    return int(xp.flatnonzero(a == a.max())[0])


def _valid_sources(xp, hole, p):
    """uint8 map over top-left corners: 1 where the p×p patch holds no hole pixel."""
    H, W = hole.shape
    cs = xp.zeros((H + 1, W + 1), np.int32)
    cs[1:, 1:] = xp.cumsum(xp.cumsum(hole.astype(np.int32), axis=0), axis=1)
    cnt = cs[p:, p:] - cs[:-p, p:] - cs[p:, :-p] + cs[:-p, :-p]
    return (cnt == 0).astype(np.uint8)


@register(
    "criminisi", task="inpaint", family="classical", backend="numba", devices=("cpu", "cuda"),
    region="auto",
    reference="A. Criminisi, P. Pérez, K. Toyama, 'Region Filling and Object Removal by "
              "Exemplar-Based Image Inpainting', IEEE Trans. Image Processing 13(9), 2004",
    summary="exemplar patches copied in priority order (structure first); exact exhaustive "
            "search, CPU and CUDA give the same fill",
    options=(
        Option("patch_size", 9, "side of the square patches (odd)", type=int, low=3, high=51,
               odd=True),
        Option("search", "full", "'full' (exhaustive, the paper) or a window radius in pixels "
               "around the target", type=(str, int), choices=("full",), low=1,
               check=_check_search),
        Option("priority", "product", "'product' P = C·D (the paper) or 'cheng' (regularised "
               "confidence, Cheng et al. 2005)", type=str, choices=("product", "cheng")),
        Option("color_space", "lab", "space of the patch distance: 'lab' (the paper) or 'rgb'",
               type=str, choices=("lab", "rgb")),
    ),
)
def criminisi(image, mask, *, ctx: RunContext, patch_size=9, search="full", priority="product",
              color_space="lab"):
    """Exemplar-based inpainting (Criminisi, Pérez & Toyama 2004).

    Parameters
    ----------
    image : ndarray, shape (H, W, C), float32 in [0, 1], C in {1, 3}
        On ``ctx.xp`` (NumPy, or CuPy for ``device="cuda"``).
    mask : ndarray of bool, shape (H, W)
        True marks the hole Ω.
    ctx : RunContext
    patch_size : int
        Side of the square patch Ψ (odd, ≥ 3; the paper uses 9).
    search : "full" or int
        ``"full"``: every admissible source patch (the paper). An int R: only source patches
        whose centre lies within R pixels (Chebyshev) of the target's centre; a step whose
        window holds no admissible patch searches the whole image (``info.fallbacks``).
    priority : {"product", "cheng"}
        ``"product"``: P = C·D as in the paper. ``"cheng"``: Cheng, Hsieh & Chen (2005),
        P = 0.2·RC + 0.8·D with the regularised confidence RC = 0.3·C + 0.7, which keeps the
        order meaningful where D is 0 (the product would be 0 along a flat front).
    color_space : {"lab", "rgb"}
        Space of the SSD (CIE Lab as in the paper, or RGB on the 0–255 scale). Grey images are
        compared on their 0–255 values either way.

    Returns
    -------
    out : ndarray, shape (H, W, C), float32
    info : CriminisiInfo

    Notes
    -----
    *Source region.* Φ is the original known region and stays fixed: exemplars are patches
    lying wholly inside the image and wholly in Φ (as in the paper); filled pixels never become
    sources. Target patches of pixels near the border are clipped to the image: only their
    in-image part is compared and filled, so every hole pixel is reachable even where no full
    patch fits around it.

    *Definitions* (p the patch side, r = p // 2; pixel p̂ the chosen target):

    * front δΩ: hole pixels with a known 8-neighbour inside the image ("known" = in Φ or
      already filled);
    * confidence term C(p) = Σ_{q ∈ Ψp ∩ image} conf(q) / p² (conf = 1 on Φ, 0 in the hole,
      C(p̂) on pixels filled at p̂'s step); pixels outside the image count as 0;
    * isophote ∇I⊥_p: intensity J is L* (Lab), R + G + B (RGB) or the grey value; at a known
      pixel q, ``gx = J(x+1) − J(x−1)`` if both horizontal neighbours are known and inside
      the image (else 0), likewise ``gy``; ∇I_p is the (gx, gy) of largest ``gx² + gy²``
      among the pixels of Ψp (ties: first in row-major order within the patch), rotated 90°;
    * normal n_p: Sobel gradient (sx, sy) of the known indicator, replicated beyond the
      border, normalised;
    * data term D(p) = |∇I⊥_p · n_p| / α = |gx·sy − gy·sx| / (|(sx, sy)| · 2α) with α the
      intensity range (100 for L*, 255 per summed channel); D = 0 where (sx, sy) = 0;
    * priority: P = C·D (``"product"``) or 0.2·(0.3·C + 0.7) + 0.8·D (``"cheng"``).

    *Exactness and tie-breaks.* Features are quantised once to integers (``round(64·Lab)`` or
    ``round(64·255·rgb)``), so every SSD is an exact integer, whatever the summation order
    or the pruning. The exemplar is the minimum of ``(SSD, row, col)`` over candidate
    top-left corners: ties go to the smallest row-major position. The target is the front
    pixel of highest priority, ties going to the smallest row-major position too. Priorities
    are integers: C in fixed point (2⁻³⁰), D as ``⌊2³⁰·q⌋`` of ``q`` computed with three
    correctly rounded float64 operations (a square root, a product, a quotient), P = C·D in
    2⁻⁶⁰ units (``"cheng"``: 100·P in 2⁻³⁰ units). Hence the NumPy reference, the Numba CPU
    kernels and their CUDA twins give the same fill bit for bit. The quantised features are
    computed once with NumPy (then moved to the GPU) so that CuPy's transcendental functions
    cannot move a rounding.

    *Work per step.* The search is exhaustive (see :mod:`imgkit.kernels.criminisi`: exact
    early exit and vectorised candidate blocks); after a copy only the priorities within
    2r + 1 pixels of p̂ are recomputed, since nothing else they depend on has changed.

    *Stopping.* A ``callback`` returning True stops the fill after the current step:
    ``info.stopped`` is True and pixels not yet filled keep their input values.

    References
    ----------
    .. [1] A. Criminisi, P. Pérez, K. Toyama, "Region Filling and Object Removal by
       Exemplar-Based Image Inpainting", IEEE Trans. Image Processing 13(9):1200–1212, 2004.
    .. [2] W.-H. Cheng, C.-W. Hsieh, S.-K. Lin, C.-W. Wang, J.-L. Wu, "Robust Algorithm for
       Exemplar-Based Image Inpainting", CGIV 2005.

    Examples
    --------
    >>> import numpy as np, imgkit
    >>> from imgkit import data
    >>> img = data.photo("brick", 48)
    >>> hole = data.mask("box", (48, 48), area=0.05)
    >>> out, info = imgkit.inpaint(img, hole, method="criminisi", patch_size=7, return_info=True)
    >>> bool((info.fill_order[hole] >= 0).all()), bool((out[~hole] == img[~hole]).all())
    (True, True)
    """
    from ..kernels import criminisi as kc

    xp, dev = ctx.xp, ctx.device
    H, W = image.shape[:2]
    p = int(patch_size)
    r = p // 2
    check_patch_fits(H, W, p, "Criminisi")
    rule = 0 if priority == "product" else 1
    with ctx.timer("setup"):
        valid = _valid_sources(xp, mask, p)
        counts = kc.valid_counts(valid)
        if not bool(valid.any()):
            raise NoSourceError(
                f"no source patch: every {p}×{p} patch of the {H}×{W} image overlaps the hole "
                f"(mask covers {int(mask.sum())} of {H * W} pixels), so there is nothing to copy "
                f"from; use a smaller patch_size or a smaller hole"
            )
        feat, chans, alpha = features(to_numpy(image), color_space)
        F = xp.asarray(np.ascontiguousarray(feat.transpose(2, 0, 1)).astype(np.int16))
        J = xp.asarray(feat[:, :, list(chans)].sum(axis=2, dtype=np.int32))
        img = xp.ascontiguousarray(image, dtype=np.float32).copy()
        known = (~mask).astype(np.uint8)
        conf = xp.where(mask, 0, CONF_ONE).astype(np.int32)
        pri = xp.full((H, W), -1, np.int64)
        cterm = xp.zeros((H, W), np.int32)
        rowmax = xp.full(H, -1, np.int64)
        order = xp.full((H, W), -1, np.int32)
        source = xp.full((H, W, 2), -1, np.int32)
        kc.update_priorities(J, known, conf, pri, cterm, rowmax, (0, H, 0, W), p, alpha, rule,
                             device=dev)
    n_hole = int(mask.sum())
    remaining = n_hole
    centres, sources, pris, dists = [], [], [], []
    fallbacks = 0
    stopped = False
    step = 0
    pscale = 2.0**-60 if rule == 0 else 1.0 / (100 * CONF_ONE)
    with ctx.steps(n_hole, "criminisi", "px") as bar:
        while remaining > 0:
            with ctx.timer("select"):  # highest priority, first in row-major order
                y = _first_max(xp, rowmax)
                x = _first_max(xp, pri[y])
                pval = int(pri[y, x])
            ty, tx = y - r, x - r  # target patch corner (may lie outside the image)
            box = None
            if search != "full":
                box = (ty - search, ty + search + 1, tx - search, tx + search + 1)
            with ctx.timer("search"):
                ssd, sy, sx = kc.masked_ssd_search(F, valid, known, ty, tx, box, source,
                                                   counts=counts, device=dev)
                if sy < 0:
                    fallbacks += 1
                    ssd, sy, sx = kc.masked_ssd_search(F, valid, known, ty, tx, None, source,
                                                       counts=counts, device=dev)
            with ctx.timer("fill"):
                n_filled = kc.fill_patch(img, F, J, conf, cterm, known, order, source, ty, tx, sy,
                                         sx, p, step, device=dev)
            with ctx.timer("priority"):
                kc.update_priorities(J, known, conf, pri, cterm, rowmax,
                                     (y - 2 * r - 1, y + 2 * r + 2, x - 2 * r - 1, x + 2 * r + 2),
                                     p, alpha, rule, device=dev)
            centres.append((y, x))
            sources.append((sy + r, sx + r))
            pris.append(pval * pscale)
            dists.append(ssd)
            remaining -= n_filled
            step += 1
            state = None
            if ctx.callback is not None:
                state = {"step": step - 1, "centre": (y, x), "source": (sy + r, sx + r),
                         "priority": pval * pscale, "filled": n_filled, "remaining": remaining}
            if bar.update(n_filled, state):
                stopped = remaining > 0
                break
    info = CriminisiInfo(
        fill_order=to_numpy(order),
        source=to_numpy(source),
        confidence=(to_numpy(conf).astype(np.float64) / CONF_ONE).astype(np.float32),
        centres=np.array(centres, np.int32).reshape(-1, 2),
        source_centres=np.array(sources, np.int32).reshape(-1, 2),
        priorities=np.array(pris, np.float64),
        distances=np.array(dists, np.float64) / float(QUANT * QUANT),
        steps=step,
        fallbacks=fallbacks,
        stopped=stopped,
    )
    return img, info
