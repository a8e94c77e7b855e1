"""PatchMatch image completion: Wexler et al.'s EM over a Gaussian pyramid, with PatchMatch NNFs.

The image version of "Space-Time Completion of Video" (Wexler, Shechtman, Irani 2007) that the
PatchMatch paper (Barnes et al. 2009) accelerates and that Photoshop's Content-Aware Fill
descends from. The hole is filled so that every patch overlapping it looks like some patch of
the known region (a global objective, decreased by alternating two steps):

* **E-step (search)**: for every patch overlapping the hole, find its nearest neighbour among
  the patches lying wholly in the known region (and in ``source_mask``): the PatchMatch engine
  :mod:`imgkit.kernels.patchmatch`, started from the previous field. Patches are compared on
  colour plus two *texture features* (Newson et al. 2017): ``|∂y|`` and ``|∂x|`` of the
  lightness, averaged over 3×3 (weight ``_TEXTURE_WEIGHT``). They are measured on the known
  image and *voted* into the hole like the colours, not recomputed from the current estimate:
  an estimate that averaging has left smooth still carries the texture energy of its sources,
  so it keeps being matched to textured patches instead of sliding towards flat ones (without
  them, stochastic textures such as gravel come out with flat blotches). The texture features
  of pixels within 2 px of the hole read hole pixels, so they are voted as well (source patches
  still only need known colours; their features there are the current estimates). Inside the
  hole each pixel's contribution to the distance is its *confidence* ``alpha ** -min(dist,
  confidence_reach)``, ``dist`` the Euclidean distance of the pixel to the nearest known pixel
  (Wexler's confidence, capped), so the known part of a patch counts most and the current
  estimate deep in the hole still counts (``2.5 ** -3``, not ``2.5 ** -20``: uncapped, the
  search inside a large hole followed the outermost pixels of each patch only).
* **M-step (voting)**: every unknown value becomes the weighted mean of the values that the
  overlapping patches' matches propose for it (:mod:`imgkit.kernels.voting`). Wexler's weights:
  the similarity ``exp(-d / (2 σ²))`` of the patch to its match (``d`` its patch distance,
  ``σ²`` the ``sigma_percentile``-th percentile of those distances at this step) times the
  confidence ``vote_alpha ** -dist`` of the patch centre (Wexler et al. use 1.3; the default 1
  switches it off: votes anchored at the boundary then no longer outweigh the rest, which had
  pasted boundary structures — a fruit's outline, a splash's rim — into smooth holes). With
  ``vote="meanshift"`` the weighted mean is refined by a mean-shift step as Wexler et al.
  suggest: each proposal is reweighed by a Gaussian of its distance to the mean (bandwidth 5
  L*a*b* units, 0.05 in RGB/grey), which moves the result towards the dominant mode of the
  proposals; the default is the plain weighted mean (as good on the tune photos, and cheaper).

Coarse to fine
    A Gaussian pyramid (:func:`imgkit._pyramid.downsample`, 5-tap binomial) of the image and of
    the hole, by *normalised convolution*: a coarse pixel is the weighted mean of the known fine
    pixels under its 5×5 filter footprint, and a hole pixel only when none of them is known
    (as pypatchmatch's masked pyramid). Known coarse pixels are therefore computed from known
    fine pixels only and the method never reads what lies under the hole; thin holes (strokes,
    scribbles) thin out level by level instead of growing (the former conservative rule, "a hole
    pixel when any fine pixel under the footprint is", let dense scribbles swallow the coarse
    levels). Pixels excluded by ``source_mask`` are downsampled conservatively. Levels stop at
    ``levels``, when the shorter side would drop below ``min_size``, when the hole vanishes, or
    when a level would have no whole known patch.

    The **coarsest level is initialised by a smooth diffusion fill** (push-pull: the known
    pixels are averaged down a pyramid until the hole is covered, and the hole is filled back up
    bilinearly from the coarser averages) and the field by :func:`random_nnf` over the valid
    centres; its first E-step runs at least 5 PatchMatch iterations. At each finer level the
    field is carried up by :func:`upsample_nnf` (offsets doubled, snapped to valid centres) and
    re-voted with the finer image (the hole's estimate for the distances being the bilinearly
    upsampled coarse result), which gives the level its starting estimate; then the EM steps:
    ``em_iterations`` at the finest level and 2 more per level above it (coarse levels are
    cheap, and they decide the structure of the fill).

    Work is confined to the bounding box of the patches overlapping the hole (the target of the
    search and of the vote); the source is always the whole known image of the level.

Defaults, chosen on the corpus's ``tune`` photos against pypatchmatch (radius 3) with
``benchmarks/studies/tune_patchmatch.py`` (LPIPS-VGG of the composited image, five mask kinds,
pictures of the worst cases): the lenient pyramid, ``vote_alpha = 1`` and the capped search
confidence (``alpha = 2.5``, ``confidence_reach = 3``) each removed a failure seen in the
pictures (seams between scribbles; pasted structures; a thin-stroke regression of ``alpha = 1``);
the mean vote did as well as mean shift at less cost (it keeps less energy of fine stochastic
textures, where mean shift may still be the better choice); 5 EM steps at the finest level
instead of 3 help thin holes most (their hole vanishes from the coarse levels, so the finest
levels do all the work: LPIPS 0.063 → 0.047 on a scribbled portrait), while 1 PatchMatch
iteration per E-step instead of 2 lost that gain; CIE L*a*b* beats RGB; the texture features
help textures; 7×7 patches give the best quality per second. Where all confidences are 1 the
search uses the engine's unweighted kernel (same distances, faster).

Randomness comes from the engine's counter-based stream, seeded per level and EM step from
``seed``: the same seed gives the same bytes on a device. On ``device="cuda"`` the search and
the vote run as the CUDA twins and the array-level work on CuPy; the fill then differs from the
CPU's (the twin propagates by jump flooding) with the same quality.

References
----------
.. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI 29(3),
   2007.
.. [2] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
   Correspondence Algorithm for Structural Image Editing", ACM Trans. Graphics (SIGGRAPH) 28(3),
   2009.
.. [3] A. Newson, A. Almansa, Y. Gousseau, P. Pérez, "Non-Local Patch-Based Image Inpainting",
   Image Processing On Line 7, 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_patch_fits
from .._color import lab_to_rgb, rgb_to_lab
from .._image import as_mask
from .._pyramid import binomial5, blur, downsample, resize
from .._xp import to_numpy
from ..context import Info
from ..errors import NoSourceError
from ..registry import Option, register

__all__ = ["PatchMatchInfo", "patchmatch_inpaint"]

#: E-step PatchMatch iterations (at least) on the coarsest level, which starts from a random field.
_COARSE_PM_ITERATIONS = 5
#: Extra EM steps per level above the finest.
_EXTRA_EM_PER_LEVEL = 2
#: Weight of the texture features in the patch distance, relative to the colour channels.
_TEXTURE_WEIGHT = 2.0
#: Pixels within this distance of the hole have texture features that read hole pixels.
_TEXTURE_REACH = 2
#: Mean-shift bandwidth of the vote in L*a*b* units (``_BANDWIDTH_UNIT`` in RGB and grey) and passes.
_BANDWIDTH_LAB = 5.0
_BANDWIDTH_UNIT = 0.05
_MEAN_SHIFT_PASSES = 1
#: A coarse pixel is known when at least this fraction of its 5×5 footprint's weight is known
#: (1: conservative, any hole pixel under the footprint makes it a hole).
_COARSE_KNOWN = 0.0


@dataclass(kw_only=True)
class PatchMatchInfo(Info):
    """What a PatchMatch completion did, level by level (lists run coarse → fine).

    Attributes
    ----------
    levels : int
        Pyramid levels used.
    shapes : list of (int, int)
        ``(H, W)`` of each level.
    masks : list of ndarray of bool
        The (conservatively downsampled) hole of each level.
    nnf : list of ndarray, int32, shape (H_l, W_l, 2)
        Final field of each level as offsets ``(dy, dx)`` (source centre − pixel) for the pixels
        whose patch overlaps the hole, ``(0, 0)`` elsewhere.
    nnf_rgb : list of ndarray, float32, shape (H_l, W_l, 3)
        :func:`imgkit.nnf_to_rgb` pictures of ``nnf`` (same colour scale on every level).
    distances : list of ndarray, float32, shape (H_l, W_l)
        Patch distance of each solved pixel to its match after the last E-step (NaN elsewhere).
    estimates : list of list of ndarray, float32, shape (H_l, W_l, C)
        Per level: the starting estimate (coarsest: the diffusion fill; finer: the re-voted
        upsampled field), then the image after each EM step, in the image's colours.
    sigma2 : list of list of float
        ``σ²`` of the similarity weights at each vote.
    init : str
        How the coarsest level was initialised.
    colorspace : str
        Space the patches were compared and voted in (``"lab"``, ``"rgb"`` or ``"grey"``).
    """

    levels: int = 0
    shapes: list[tuple[int, int]] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    nnf: list[np.ndarray] = field(default_factory=list)
    nnf_rgb: list[np.ndarray] = field(default_factory=list)
    distances: list[np.ndarray] = field(default_factory=list)
    estimates: list[list[np.ndarray]] = field(default_factory=list)
    sigma2: list[list[float]] = field(default_factory=list)
    init: str = "diffusion (push-pull) fill of the coarsest hole, random field"
    colorspace: str = "lab"


# ---------------------------------------------------------------------------------------------
# array-level helpers, written against xp (NumPy or CuPy)
# ---------------------------------------------------------------------------------------------


def _edt(hole: Any, xp) -> Any:
    """Euclidean distance of every pixel to the nearest known pixel (0 for known pixels)."""
    if xp is np:
        from scipy.ndimage import distance_transform_edt
    else:  # pragma: no cover - needs a GPU
        from cupyx.scipy.ndimage import distance_transform_edt
    return distance_transform_edt(hole)


def _box_any(m: Any, r: int, xp) -> Any:
    """Dilation of a bool mask by a (2r+1)² square (an integral image: no per-r cost)."""
    if r <= 0:
        return m.copy()
    H, W = m.shape
    s = xp.zeros((H + 1, W + 1), dtype=np.int32)
    s[1:, 1:] = xp.cumsum(xp.cumsum(m.astype(np.int32), axis=0), axis=1)
    y, x = xp.arange(H), xp.arange(W)
    y0, y1 = xp.clip(y - r, 0, H), xp.clip(y + r + 1, 0, H)
    x0, x1 = xp.clip(x - r, 0, W), xp.clip(x + r + 1, 0, W)
    return (s[y1][:, x1] - s[y0][:, x1] - s[y1][:, x0] + s[y0][:, x0]) > 0


def _down_mask(m: Any) -> Any:
    """Conservative pyramid step: True where any fine pixel under the 5-tap footprint is True."""
    return blur(m.astype(np.float32), taps=binomial5)[::2, ::2] > 0


def _push_pull_fill(img: Any, hole: Any, xp) -> Any:
    """Smooth fill of the hole: known pixels averaged down a pyramid until every pixel is
    covered, then filled back up bilinearly (known pixels kept)."""
    w = (~hole).astype(np.float32)
    stack = [(img * w[:, :, None], w)]
    while float(stack[-1][1].min()) <= 0 and min(stack[-1][1].shape) > 1:
        v, wt = stack[-1]
        stack.append((downsample(v), downsample(wt)))
    v, wt = stack[-1]
    est = v / xp.maximum(wt, 1e-12)[:, :, None]
    if float(wt.min()) <= 0:  # a 1-pixel-wide top level without weight: the known mean
        mean = (img * w[:, :, None]).sum(axis=(0, 1)) / w.sum()
        est = xp.where((wt > 0)[:, :, None], est, mean[None, None, :])
    for v, wt in reversed(stack[:-1]):
        up = resize(est, wt.shape)
        a = xp.clip(wt, 0.0, 1.0)[:, :, None]  # own average where it has weight, coarser elsewhere
        est = (a * (v / xp.maximum(wt, 1e-12)[:, :, None]) + (1 - a) * up).astype(np.float32)
    return xp.where(hole[:, :, None], est, img).astype(np.float32)


def _bbox(m: Any, pad: int, xp) -> tuple[slice, slice]:
    ys = xp.nonzero(m.any(axis=1))[0]
    xs = xp.nonzero(m.any(axis=0))[0]
    H, W = m.shape
    y0, y1 = max(int(ys[0]) - pad, 0), min(int(ys[-1]) + 1 + pad, H)
    x0, x1 = max(int(xs[0]) - pad, 0), min(int(xs[-1]) + 1 + pad, W)
    return slice(y0, y1), slice(x0, x1)


def _texture(col: Any, xp) -> Any:
    """Texture features of Newson et al.: |∂y|, |∂x| of channel 0 (central differences, edge
    pixels repeated), averaged over 3×3, times √``_TEXTURE_WEIGHT``; shape (H, W, 2)."""
    p = xp.pad(col[:, :, 0], 1, mode="edge")
    g = xp.stack([xp.abs(p[2:, 1:-1] - p[:-2, 1:-1]), xp.abs(p[1:-1, 2:] - p[1:-1, :-2])], axis=2)
    g = blur(g * np.float32(0.5 * math.sqrt(_TEXTURE_WEIGHT)), taps=np.full(3, 1 / 3, np.float32))
    return g.astype(np.float32)


def _level_features(col: Any, xp) -> Any:
    if _TEXTURE_WEIGHT <= 0:
        return xp.ascontiguousarray(col)
    return xp.ascontiguousarray(xp.concatenate([col, _texture(col, xp)], axis=2))


def _log_weights(d: Any, solve: Any, logconf: Any, percentile: float, xp) -> tuple[Any, float]:
    """Wexler's vote weights (log): −d/(2σ²) + log confidence on solved pixels, −inf elsewhere."""
    ds = d[solve]
    sigma2 = float(xp.percentile(ds, percentile)) if ds.size else 0.0
    lw = logconf - d / np.float32(2.0 * sigma2) if sigma2 > 0 else logconf  # all exact: similarity 1
    return xp.where(solve, lw, np.float32(-np.inf)).astype(np.float32), sigma2


@dataclass
class _Level:
    """One pyramid level's search and vote, on the box ``(ys, xs)`` of the patches overlapping
    the hole (``solve``, ``hole``, ``logconf`` are crops to that box)."""

    xp: Any
    dev: str
    P: int
    ys: slice
    xs: slice
    solve: Any
    hole: Any
    unknown: Any
    valid: Any
    logconf: Any
    logconf_search: Any
    percentile: float
    vote: str
    bandwidth: float
    sigma2: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        # pixel weights of the search; none when every confidence is 1 (alpha = 1): the same
        # distances, from the engine's faster unweighted (vectorised) kernel
        uniform = not bool((self.logconf_search != 0).any())
        self.conf = None if uniform else self.xp.exp(self.logconf_search).astype(np.float32)

    def e_step(self, feat: Any, field_c: Any, iterations: int, seed: int) -> tuple[Any, Any]:
        """PatchMatch from the box's patches to the valid patches of the level."""
        from ..kernels import patchmatch as pm

        target = self.xp.ascontiguousarray(feat[self.ys, self.xs])
        return pm.patchmatch(target, feat, self.P, init=field_c, solve=self.solve, valid=self.valid,
                             pixel_weights=self.conf, iterations=iterations, seed=seed, device=self.dev,
                             unsolved_distances=False)

    def m_step(self, feat: Any, col: Any, field_c: Any, d: Any) -> None:
        """Vote the unknown pixels of ``feat`` (in place): colours in the hole, texture features
        in the hole and the ring around it whose features read hole pixels."""
        from ..kernels import voting

        xp, ys, xs = self.xp, self.ys, self.xs
        lw, s2 = _log_weights(d, self.solve, self.logconf, self.percentile, xp)
        out = voting.vote(xp.ascontiguousarray(feat[ys, xs]), feat, field_c, lw, self.P,
                          vote_mask=self.unknown, mode=self.vote, bandwidth=self.bandwidth,
                          mean_shift_iterations=_MEAN_SHIFT_PASSES, device=self.dev)
        C = col.shape[2]
        out[:, :, :C] = xp.where(self.hole[:, :, None], out[:, :, :C], col[ys, xs])
        feat[ys, xs] = out
        self.sigma2.append(s2)


# ---------------------------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------------------------


@register(
    "patchmatch", task="inpaint", family="classical", backend="numba", devices=("cpu", "cuda"),
    region="auto",
    reference="Y. Wexler, E. Shechtman, M. Irani, 'Space-Time Completion of Video', IEEE TPAMI "
              "29(3), 2007; C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, 'PatchMatch: "
              "A Randomized Correspondence Algorithm for Structural Image Editing', SIGGRAPH 2009",
    summary="multi-scale patch-based completion (Wexler EM with PatchMatch search); "
            "restores texture and structure, fast",
    options=(
        Option("patch_size", 7, "side of the square patches (pixels)", type=int, low=3, high=31, odd=True),
        Option("levels", None, "pyramid levels at most (None: as many as min_size allows)",
               type=int, low=1, high=16, nullable=True),
        Option("min_size", 32, "shorter side of the coarsest level at least (pixels)", type=int,
               low=8, high=4096),
        Option("em_iterations", 5, "EM steps (search + vote) at the finest level; 2 more per "
               "coarser level", type=int, low=1, high=100),
        Option("pm_iterations", 2, "PatchMatch iterations per E-step", type=int, low=1, high=50),
        Option("alpha", 2.5, "confidence base of the search: a hole pixel dist px inside the hole "
               "weighs alpha**-min(dist, confidence_reach) in patch distances (1 switches it off)",
               type=float, low=1.0, high=10.0),
        Option("confidence_reach", 3.0, "the search's confidence stops falling this many px inside "
               "the hole (None: never)", type=float, low=0.0, high=1e6, nullable=True),
        Option("vote_alpha", 1.0, "confidence base of the vote (Wexler et al.: 1.3): a patch centred "
               "dist px inside the hole votes with weight vote_alpha**-dist (1: off)", type=float,
               low=1.0, high=10.0),
        Option("sigma_percentile", 75.0, "σ² of the similarity weights is this percentile of the "
               "patch distances", type=float, low=1.0, high=100.0),
        Option("vote", "mean", "'mean': Wexler's weighted mean; 'meanshift': its dominant "
               "mode (sharper, pastes structures)", type=str, choices=("mean", "meanshift")),
        Option("colorspace", "lab", "space patches are compared and voted in (colour images)",
               type=str, choices=("lab", "rgb")),
        Option("source_mask", None, "bool (H, W): True where patches may be copied from "
               "(default: every known pixel)", type=object, nullable=True),
        Option("init", "diffusion", "coarsest-level start: 'diffusion' (push-pull fill) or 'network' "
               "(the shipped context encoder's fill; needs torch)", type=str,
               choices=("diffusion", "network")),
    ),
)
def patchmatch_inpaint(image, mask, *, ctx, patch_size, levels, min_size, em_iterations, pm_iterations,
                       alpha, confidence_reach, vote_alpha, sigma_percentile, vote, colorspace, source_mask,
                       init="diffusion"):
    """Fill the hole with Wexler et al.'s multi-scale EM completion on PatchMatch fields.

    Parameters
    ----------
    image : float32 ndarray, shape (H, W, C), C in {1, 3}
        Values in [0, 1] (the door converted it); NumPy, or CuPy on a GPU.
    mask : bool ndarray, shape (H, W)
        True marks the hole. What lies under it is never read.
    ctx : RunContext
        Device, seed, progress and callback.
    patch_size : int
        Odd patch side (7).
    levels : int or None
        Pyramid levels at most; ``None``: as many as ``min_size`` allows.
    min_size : int
        The coarsest level's shorter side is at least this.
    em_iterations : int
        EM steps (E: PatchMatch search, M: vote) at the finest level; each coarser level runs 2
        more.
    pm_iterations : int
        PatchMatch iterations per E-step (the coarsest level's first E-step runs at least 5).
    alpha : float
        Confidence base of the search (hole pixels weigh ``alpha ** -min(dist,
        confidence_reach)`` in patch distances); 1 switches it off.
    confidence_reach : float or None
        Depth (pixels) below which the search confidence stops falling; None: never.
    vote_alpha : float
        Confidence base of the vote (Wexler et al.: 1.3); 1 (default) switches it off.
    sigma_percentile : float
        Percentile of the patch distances used as ``σ²`` (Wexler et al.: 75).
    vote : {"mean", "meanshift"}
        How the proposals for a pixel are combined.
    colorspace : {"lab", "rgb"}
        Space patches are compared and voted in (colour images).
    source_mask : array_like of bool, shape (H, W), optional
        True where patches may be copied from; patches must lie wholly in the known region and
        in ``source_mask``.
    init : {"diffusion", "network"}
        What the coarsest level's hole starts from: the push-pull diffusion fill, or the fill of
        the shipped context-encoder network (:mod:`imgkit.nets.inpaint_fill`), downsampled to
        that level (a learned coarse structure that the EM then textures with exemplars).

    Returns
    -------
    out : float32 ndarray, shape (H, W, C)
    info : PatchMatchInfo

    Raises
    ------
    InvalidImageError
        The image is smaller than the patch.
    InvalidMaskError
        ``source_mask`` has the wrong shape or dtype.
    NoSourceError
        The hole (with ``source_mask``) leaves no whole ``patch_size`` × ``patch_size`` patch of
        known pixels to copy from: every patch of the image touches the hole or an excluded
        pixel.

    References
    ----------
    .. [1] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI 29(3),
       2007.
    .. [2] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
       Correspondence Algorithm for Structural Image Editing", SIGGRAPH 2009.
    """
    from .._viz import nnf_to_rgb
    from ..kernels import patchmatch as pm

    xp, dev = ctx.xp, ctx.device
    H, W, C = image.shape
    P = int(patch_size)
    half = P // 2
    check_patch_fits(H, W, P, "PatchMatch completion")
    usable = xp.ones((H, W), dtype=bool)
    if source_mask is not None:
        usable = xp.asarray(to_numpy(as_mask(source_mask, (H, W), "source_mask", "image")))
    reach = _TEXTURE_REACH if _TEXTURE_WEIGHT > 0 else 0
    if not bool(pm.valid_centres(~mask & usable, P).any()):
        excl = source_mask is not None
        raise NoSourceError(
            f"no whole {P}×{P} patch of known pixels is left to copy from: every patch of the "
            f"{H}×{W} image touches the hole{' or a pixel excluded by source_mask' if excl else ''}; "
            f"use a smaller hole or patch_size{', or allow more of the source' if excl else ''}"
        )

    # features: the hole is zeroed so that nothing under it can leak into the pyramid
    lab = C == 3 and colorspace == "lab"
    img = xp.where(mask[:, :, None], np.float32(0), image).astype(np.float32)
    col0 = rgb_to_lab(img) if lab else img
    bandwidth = _BANDWIDTH_LAB if lab else _BANDWIDTH_UNIT

    # pyramid (fine → coarse), conservative masks; coarse levels without a whole known patch dropped
    max_levels = 16 if levels is None else int(levels)
    pyr, holes, usables = [col0], [mask], [usable]
    while len(pyr) < max_levels and min(pyr[-1].shape[:2]) // 2 >= max(min_size, P):
        kw = downsample((~holes[-1]).astype(np.float32))  # known weight under each footprint
        h2 = kw <= 1e-6 if _COARSE_KNOWN <= 0 else kw < np.float32(_COARSE_KNOWN) - np.float32(1e-5)
        u2 = ~_down_mask(~usables[-1])
        if not bool(h2.any()) or not bool(pm.valid_centres(~h2 & u2, P).any()):
            break  # the hole vanished (thin holes, lenient masks), or no whole known patch left
        known = downsample(xp.where(holes[-1][:, :, None], np.float32(0), pyr[-1]))
        pyr.append(xp.where(h2[:, :, None], np.float32(0), known / xp.maximum(kw, 1e-12)[:, :, None])
                   .astype(np.float32))
        holes.append(h2)
        usables.append(u2)
    n_levels = len(pyr)
    net_col = None
    if init == "network":  # the network's fill, brought down to the coarsest level
        from ..nets.inpaint_fill import network_fill

        with ctx.timer("network"):
            net = xp.asarray(network_fill(to_numpy(image), to_numpy(mask), device=dev)[0])
        net_col = rgb_to_lab(net) if lab else net
        for _ in range(n_levels - 1):
            net_col = downsample(net_col)
    ems = [em_iterations + _EXTRA_EM_PER_LEVEL * li for li in range(n_levels)]  # li = 0: finest
    log_alpha_s = np.float32(math.log(alpha))
    log_alpha_v = np.float32(math.log(vote_alpha))
    info = PatchMatchInfo(levels=n_levels, colorspace="lab" if lab else "rgb" if C == 3 else "grey")
    if net_col is not None:
        info.init = "context-encoder network fill of the coarsest hole, random field"
    keep = ctx.return_info

    def to_image(est):
        return lab_to_rgb(est) if lab else xp.clip(est, 0.0, 1.0)

    est = field_full = None
    stopped = False
    with ctx.steps(sum(ems), desc="patchmatch", unit="EM step") as bar:
        for li in range(n_levels - 1, -1, -1):
            lvl = n_levels - 1 - li  # 0 = coarsest
            col, hole = pyr[li], holes[li]
            Hl, Wl = hole.shape
            unknown = _box_any(hole, reach, xp)  # pixels whose features read the hole
            valid = pm.valid_centres(~hole & usables[li], P)
            solve_full = _box_any(hole, half, xp)  # patches overlapping the hole
            ys, xs = _bbox(_box_any(unknown, half, xp), half, xp)  # their whole extent
            edt = _edt(hole, xp)[ys, xs]
            L = _Level(xp=xp, dev=dev, P=P, ys=ys, xs=xs, solve=xp.ascontiguousarray(solve_full[ys, xs]),
                       hole=xp.ascontiguousarray(hole[ys, xs]), unknown=xp.ascontiguousarray(unknown[ys, xs]),
                       valid=valid, logconf=(-log_alpha_v * edt).astype(np.float32),
                       logconf_search=(-log_alpha_s * (edt if confidence_reach is None else
                                                       xp.minimum(edt, confidence_reach))).astype(np.float32),
                       percentile=sigma_percentile, vote=vote, bandwidth=bandwidth)
            seeds = [int(s) for s in ctx.rng(1 + lvl).integers(0, 2**62, size=ems[li] + 1)]
            estimates = []
            F = _level_features(col, xp)

            if est is None:  # coarsest: diffusion fill, random field
                feat = _push_pull_fill(F, unknown, xp) if net_col is None else xp.where(
                    unknown[:, :, None], _level_features(net_col, xp), F).astype(np.float32)
                field_c = xp.ascontiguousarray(pm.random_nnf((Hl, Wl), valid, seed=seeds[0])[ys, xs])
                first_iters = max(pm_iterations, _COARSE_PM_ITERATIONS)
            else:  # finer: upsample the field and the estimate, re-vote with the finer image
                feat = xp.where(unknown[:, :, None], resize(est, (Hl, Wl)), F).astype(np.float32)
                field_c = xp.ascontiguousarray(pm.upsample_nnf(field_full, (Hl, Wl), valid)[ys, xs])
                # the distances of the upsampled field: a search of 0 iterations (the same numbers
                # as pm.patch_distances, from the kernel the E-steps compile anyway)
                field_c, d = L.e_step(feat, field_c, 0, 0)
                with ctx.timer("vote"):
                    L.m_step(feat, col, field_c, d)
                first_iters = pm_iterations
            if keep:
                estimates.append(to_numpy(to_image(feat[:, :, :C])))

            for step in range(ems[li]):
                with ctx.timer("search"):
                    field_c, d = L.e_step(feat, field_c, first_iters if step == 0 else pm_iterations,
                                          seeds[step + 1])
                with ctx.timer("vote"):
                    L.m_step(feat, col, field_c, d)
                if keep:
                    estimates.append(to_numpy(to_image(feat[:, :, :C])))
                bar.set_postfix(level=f"{lvl + 1}/{n_levels}", size=f"{Hl}x{Wl}")
                if bar.update(1, {"level": lvl, "levels": n_levels, "em_step": step,
                                  "shape": (Hl, Wl), "sigma2": L.sigma2[-1]}):
                    stopped = True
                    break

            est = feat
            field_full = xp.empty((Hl, Wl, 2), dtype=np.int32)
            field_full[:, :, 0] = xp.arange(Hl, dtype=np.int32)[:, None]
            field_full[:, :, 1] = xp.arange(Wl, dtype=np.int32)[None, :]
            field_full[ys, xs] = field_c
            info.shapes.append((Hl, Wl))
            info.sigma2.append(L.sigma2)
            if keep:
                grid = xp.stack(xp.meshgrid(xp.arange(Hl), xp.arange(Wl), indexing="ij"), axis=-1)
                off = xp.where(solve_full[:, :, None], field_full - grid, 0).astype(np.int32)
                dist = xp.full((Hl, Wl), np.nan, dtype=np.float32)
                dist[ys, xs] = xp.where(L.solve, d, np.float32(np.nan))
                info.masks.append(to_numpy(hole))
                info.nnf.append(to_numpy(off))
                info.distances.append(to_numpy(dist))
                info.estimates.append(estimates)
            if stopped:
                break

    est = est[:, :, :C]
    if est.shape[:2] != (H, W):  # stopped early: carry the current estimate to full size
        est = xp.where(mask[:, :, None], resize(est, (H, W)), col0).astype(np.float32)
    if keep:
        top = max((float(np.hypot(o[..., 0], o[..., 1]).max()) for o in info.nnf), default=0.0)
        info.nnf_rgb = [nnf_to_rgb(o, max_magnitude=top if top > 0 else None) for o in info.nnf]
    info.stopped = stopped
    return to_image(est).astype(np.float32), info
