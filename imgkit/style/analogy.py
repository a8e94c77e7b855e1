"""Image Analogies (Hertzmann, Jacobs, Oliver, Curless, Salesin, SIGGRAPH 2001):
``analogy(a, a_prime, b, method="hertzmann")`` and ``stylize(content, style, method="analogy")``.

Given an example pair ``A → A′`` (a photo and a filtered version of it), synthesise ``B′`` so that
``B → B′`` is "the same" filter: ``A : A′ :: B : B′``.

Algorithm (the paper's section 3, luminance version)
----------------------------------------------------
* **Luminance.** Matching works on the Y channel of YIQ. ``B′`` gets its Y by synthesis and its I
  and Q from ``B`` (``color="yiq"``, the paper's choice); ``color="copy"`` instead copies ``A′``'s
  RGB at the source map (for colour textures).
* **Luminance remapping** (``remap=True``, section 3.4): ``Y ← σ_B/σ_A (Y − μ_A) + μ_B`` for A and A′
  (with A's statistics), so that A's histogram matches B's before matching (off by default: see
  "Departures").
* **Pyramids**: Gaussian pyramids of A, A′ and B (:func:`imgkit._pyramid.gaussian_pyramid`,
  5-tap binomial, coarse pixel ``k`` ↔ fine pixel ``2k``), ``levels`` levels, synthesised coarse to
  fine.
* **Features** of a pixel ``q`` at level ``l``: the ``patch_size`` × ``patch_size`` (5×5)
  neighbourhood of ``B_l``; the causal part of the same window of ``B′_l`` (the pixels before ``q``
  in scan-line order, already synthesised); the ``coarse_size`` × ``coarse_size`` (3×3)
  neighbourhoods of ``B_{l−1}`` and ``B′_{l−1}`` around ``q // 2``. Each neighbourhood is weighted
  by a normalised Gaussian (σ = size / 4); the causal part keeps the weights of its pixels. The
  same for ``p`` in ``A``/``A′``. Distance: the weighted sum of squared differences.
  Implementation: the four parts are channels of one feature image per level, the coarser level
  upsampled by pixel replication (``U(y, x) = B_{l−1}(y // 2, x // 2)``), so the coarse 3×3
  around ``q // 2`` is ``U`` at offsets ``2d``, ``d ∈ {−1, 0, 1}²`` inside a 5×5 window. Target
  (``B``) neighbourhoods are clipped at the image border (taps outside ``B`` are dropped; for an
  odd-sized level this also drops the coarse tap beyond the last-but-one row/column, whose fine
  position is outside ``B``); ``A``'s feature image is padded by reflection, so every pixel of
  ``A`` is a possible source.
* **BestMatch** for each ``q`` in scan-line order: the approximate match ``p_app``; the coherence
  match ``p_coh`` (Ashikhmin 2001): among the candidates ``s(r) + (q − r)`` for the synthesised
  neighbours ``r`` in the causal part of the ``patch_size`` window, the closest; ``p_coh`` wins
  when ``d(p_coh) ≤ d(p_app) (1 + 2^(l − L) κ)`` (``L`` the finest level). ``B′_l(q) = A′_l(s(q))``
  and ``s(q)`` is recorded. At the finest level the output is then predicted from the source map
  by the linear transfer and the vote (see "Departures").

Departures from the paper (issue 17), each measured on the corpus ``tune`` split
-------------------------------------------------------------------------------
Measured with ``benchmarks/studies/analogy_filters.py`` (8 learned filters, A and B from two
different photos). With the paper's settings (remap on, κ = 1, equal weights, plain copy) imgkit
lost to a naive nearest-5×5-patch lookup on most filters (4 tune pairs, 128 px, RGB PSNR:
emboss 10.2 vs 20.8 dB, pencil 8.3 vs 13.0, stylization 13.6 vs 15.1). The diagnosis:

* **Features, then search.** At 64 px, exact search with the full pyramid features scored 16.9 dB
  on emboss, the approximate default 16.2, exact single-level 18.2, exact single-level without
  the ``B′`` term 19.3 (naive: 19.2): the features cost more than the search. PatchMatch's match is
  farther than the exhaustive one (same features) on 65 % of the pixels (median over 6 pairs), by
  a median factor 1.00-1.16 in distance.
* **Coherence took over.** With κ = 1, coherence won on 76-93 % of the finest level's pixels; the
  copies of long coherent runs lose the per-pixel fit a filter needs (blur: κ = 0 was better by
  1-2 dB). Default ``kappa=0.0``: the coherence candidate then wins only where its distance is
  not larger than the approximate match's (10-38 % of pixels: where PatchMatch missed it).
* **Weights.** ``filtered_weight`` scales the ``A′``/``B′`` neighbourhoods against the ``A``/``B``
  ones (the paper weights them alike); ``coarse_weight`` the coarser level's. Default
  ``filtered_weight=0`` (was 0.3): once the linear transfer and the vote predict ``B′`` from the
  source map, the ``B′`` neighbourhoods in the match only propagate the synthesis's own errors
  (tune, 128 px, RGB PSNR with 0.3 → 0: forest_path+boats emboss 28.2 → 31.3 dB, posterise
  19.7 → 19.9, blur 29.9 → 29.8, pencil 16.2 → 16.2, stylization 12.3 → 12.3; ladybird+fallen_leaf
  pencil 16.2 → 16.4, stylization 13.9 → 16.0, above the naive baseline's 15.9);
  the match then uses ``B``'s own neighbourhoods at this and the coarser level, and coherence
  (κ = 0) only repairs PatchMatch's misses. The Gaussian σ = size/4 was kept (a flat window was
  worse: emboss 17.5 vs 18.2).
* **Remapping off by default.** The paper's map shifts ``A′`` by ``μ_B − μ_A``: right for filters
  that commute with a change of brightness (blur: 30.4 vs 23.5 dB; oil: 19.0 vs 13.7), wrong for
  filters whose output level does not follow the input's (emboss: 10.7 vs 17.7; pencil: 8.3 vs 12.7;
  posterise). ``remap=True`` gives the paper's map.
* **Linear transfer** (``transfer="auto"``, default; ``"linear"`` unshrunk; ``"copy"`` is the
  paper's ``B′(q) = A′(s(q))``). ``B′(q) = A′(p) + Σ_o c_o (B(q+o) − A(p+o))`` over the 5×5
  window, ``p = s(q)``: the copied value is corrected by how ``B``'s neighbourhood differs from the
  matched one. The 25 coefficients are learnt from ``A`` and ``A′`` only: every pixel of ``A`` is
  matched (PatchMatch, Gaussian 5×5 luminance window) into the *other* half of ``A`` (left ↔
  right), and ``c`` is the ridge least-squares fit of the ``A′`` differences on the ``A``
  differences of those pairs. A filter that is linear on the window (blur, emboss, unsharp mask)
  is learnt exactly. For a strongly non-linear one the fit does not carry over to other
  neighbourhoods: ``transfer="auto"`` multiplies ``c`` by ``λ ∈ [0, 1]`` chosen by two-fold
  cross-validation on ``A`` (fit on the pairs whose ``q`` is in one half, ``λ`` = the least-squares
  scale of that fit's predictions of the other half's pairs; both ways, pooled): decided from
  ``A`` and ``A′`` alone. Held-out R² of the unshrunk fit on 13 tune pairs, 64 px: blur
  0.35-0.92, emboss 0.62-1.0, unsharp 0.83-0.99, edge-preserving -0.01-0.76, posterise
  -0.01-0.58, oil -0.54-0.25, stylization -0.92-0.13, pencil -3.4-0.02. On the failing tune cases
  ``"linear"`` extrapolated the wrong correction (darkest_hour+lamps stylization, 64 px, luminance
  PSNR 5.3 dB linear vs 9.3 copy).
* **Vote** (``vote=True``, default): ``B′(q)`` averages the predictions of the sources of its
  5×5 neighbours shifted back to ``q`` (``s(q + o) − o``), with the Gaussian weights: the
  averaging of patch-based synthesis (Wexler et al. 2007), which removes the single-copy noise.
  Together with the transfer (4 tune pairs, 128 px): emboss 19.4 → 39.8 dB, blur 23.6 → 31.3,
  unsharp 18.9 → 32.1, posterise 16.4 → 19.5, edge-preserving 24.2 → 26.4, oil 13.6 → 18.0;
  stylization and pencil (strongly non-linear) stay below the naive baseline.
* **Colour** ``color="learn"``: Y, I and Q are each predicted by the transfer (own coefficients,
  same source map, same training pairs), for filters that change colour: a chroma-keeping
  filter learns ``c ≈ identity`` on I and Q (``B``'s chroma), a desaturating one learns to drop
  it. ``color="yiq"`` (default) is the paper's: ``B``'s I and Q.

``stylize(method="analogy")`` is the paper's "artistic filter" set-up (texture by numbers):
``A′`` = the style, ``A`` = its blurred luminance, ``B`` = the content's luminance, remapped by
``A′``'s statistics; equal weights, the plain copy, no vote, full pyramid, and two choices that make
it a transfer of the style's texture rather than a relighting of the content (issue 17, chosen on
the ``tune`` style cases with ``benchmarks/studies/stylize_analogy.py``): full-colour synthesis
(``color="copy"``: ``B′`` copies the style's RGB at the source map, the style's colours and
texture together) with the paper's coherence ``kappa=1``. Stronger coherence lowers the Gram
distance further but loses the content: 2 tune cases (aqua × brick, grass), 128 px, Gram distance
to the style: content 8.75 / 1.23, former defaults 4.86 / 2.92, copy with κ = 1 4.50 / 0.167,
κ = 5 1.69 / 0.035, κ = 25 0.908 / 0.024; but the correlation of ``B′``'s luminance with the
content's, on 4 tune cases (aqua, bridge × brick, meadow), falls from 0.46-0.85 at κ = 1 to
0.11-0.73 at κ = 5 and -0.01-0.35 at κ = 25, and the pictures show only the style's texture
there. With the former defaults (``color="yiq"``: the content's chroma) the Gram distance to the
style fell only 1.1× on the benchmark's median, below matching colour statistics; held out (fig ×
gravel, wood, moss, icons, 128 px; ``benchmarks/results/stylize_analogy_heldout_128.md``) the
median drop is now 11.5× (2.4-35×), against 2.0× for matching colour statistics.

Approximate search: PatchMatch, seeded by the paper's ANN
--------------------------------------------------------
The paper finds ``p_app`` with approximate-nearest-neighbour search (ANN, Arya et al.) over the
*full* feature vector, causal ``B′`` part included, one query per pixel during the scan. imgkit
uses the one PatchMatch engine (:mod:`imgkit.kernels.patchmatch`) instead, per level and before
the scan: a field from ``B``'s features to ``A``'s over the parts that exist before the scan --
the 5×5 of ``B_l`` and both coarser-level 3×3 neighbourhoods (the engine's per-offset,
per-channel ``kernel`` holds the same Gaussian weights) -- seeded from the coarser level's source
map upsampled (random at the coarsest level), ``pm_iterations`` iterations. The scan-line pass
then re-scores that candidate with the full feature, causal ``B′`` part included, and compares
it with the coherence candidates. So the approximation against the paper is: ``p_app`` minimises
(approximately: PatchMatch, not exhaustive) the distance *without* the causal ``B′`` term instead
of (approximately: ANN) the distance *with* it; the ``B′`` term, and so the continuity of the
synthesised ``B′``, enters through the re-scoring and the coherence candidates. ``exact=True`` is
the paper's algorithm with an exhaustive ``p_app`` over all of ``A`` and the full feature: slow
(``|B| · |A|`` distances per level: fine for ≤ 64×64), the ground truth of the tests.

``ann=True`` (default) adds the paper's own search as a seed: the same weighted features as
vectors, projected on their 12 leading principal components (PCA, as the paper does), and a k-d
tree (:class:`scipy.spatial.cKDTree`, ``eps = 1``) queried at every second pixel of every second
row, each other pixel taking its grid pixel's match shifted by the offset; per pixel, the better
(by the exact distance) of that candidate and the upsampled coarser field seeds PatchMatch. Why:
on the strongly non-linear filters PatchMatch's field was close in distance but wrong in ``A′``.
Where many ``A`` neighbourhoods are nearly as close (a low-contrast ``B``), propagation settles
in one large region of ``A`` (tune mountains+brick pencil, 64 px: mean distance 1.3× the
exhaustive one, but ``A′`` at the sources averaging 0.47 against 0.18 at the exhaustive matches,
luminance PSNR 6.9 dB vs 13.8 exact; 20 PatchMatch iterations: 8.7). 6 tune pairs × stylization
and pencil, 128 px, median luminance PSNR: PatchMatch alone 15.67 / 9.65, with the ANN seed
15.88 / 9.99, exhaustive 15.99 / 10.10, naive baseline 15.92 / 9.69.

Teaching
--------
``return_info=True`` returns an :class:`AnalogyInfo`: per level (coarse → fine) the source map
``s(q)``, the map of pixels where coherence won, the PatchMatch field (the ``p_app``
candidates), ``B′``'s luminance, and the coherence factor. ``progress=True`` shows a bar over
levels × pixels; ``callback(step, total, state)`` is called every few rows (``state`` holds
``level``, ``levels``, ``rows_done``, ``rows``). When it returns ``True`` the run stops: the rest
of the current level takes its approximate match (exact mode: ``B``'s own luminance; source map
-1), that level is upsampled to full size, and ``info.stopped`` is set.

Devices
-------
CPU: the scan-line kernel of :mod:`imgkit.kernels.analogy` (sequential scan; exhaustive search
parallel over source rows). CUDA: the PatchMatch engine's jump-flood twin for the field, and the
scan-line kernel's CUDA twin, which keeps the scan-line order with one thread block and shares
each pixel's candidate evaluation (and exhaustive search) among its threads. Given the same
field, the CUDA pass gives the same ``B′`` and source map as the CPU pass; the PatchMatch field
itself differs between devices (jump flood vs banded scan, see the engine), so approximate-mode
results differ slightly between devices, exact mode gives the same result.

References
----------
.. [1] A. Hertzmann, C. E. Jacobs, N. Oliver, B. Curless, D. H. Salesin, "Image Analogies",
   SIGGRAPH 2001.
.. [2] M. Ashikhmin, "Synthesizing Natural Textures", I3D 2001.
.. [3] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch", SIGGRAPH 2009.
.. [4] Y. Wexler, E. Shechtman, M. Irani, "Space-Time Completion of Video", IEEE TPAMI 2007.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._color import luminance, rgb_to_yiq, yiq_to_rgb
from .._pyramid import blur
from ..context import RunContext
from ..errors import InvalidImageError
from ..registry import Option, register
from ._hertzmann import AnalogyInfo, compose, half_matches, learn_transfer, remap_luminance, synthesise
from ._hertzmann import transfer as transfer_channel

__all__ = ["AnalogyInfo", "hertzmann", "analogy_stylize"]

_REFERENCE = (
    "A. Hertzmann, C. E. Jacobs, N. Oliver, B. Curless, D. H. Salesin, 'Image Analogies', "
    "SIGGRAPH 2001 (coherence: M. Ashikhmin, I3D 2001; approximate search: PatchMatch, "
    "Barnes et al., SIGGRAPH 2009)"
)

_OPTIONS = (
    Option("kappa", 0.0, "coherence parameter κ: larger prefers coherent copies over the best match",
           type=float, low=0.0, high=1000.0),
    Option("levels", None, "pyramid levels (None: automatic, coarsest level ≥ 16 px, at most 5)",
           type=int, low=1, high=12, nullable=True),
    Option("patch_size", 5, "neighbourhood side at the current level (odd)", type=int, low=3, high=15,
           odd=True),
    Option("coarse_size", 3, "neighbourhood side at the next coarser level (odd)", type=int, low=1,
           high=7, odd=True),
    Option("remap", False, "luminance remapping of A and A′ to B's mean and standard deviation (the paper's "
           "§3.4; off by default, see 'Departures')", type=bool),
    Option("exact", False, "exhaustive best match over all of A (slow: tiny images, ground truth)",
           type=bool),
    Option("pm_iterations", 4, "PatchMatch iterations of the approximate search per level", type=int,
           low=1, high=50),
    Option("filtered_weight", 0.0, "weight of the A′/B′ neighbourhoods against the A/B ones in the match",
           type=float, low=0.0, high=100.0),
    Option("coarse_weight", 1.0, "weight of the coarser level's neighbourhoods in the match",
           type=float, low=0.0, high=100.0),
    Option("color", "yiq", "'yiq': synthesised Y with B's I and Q; 'copy': A′'s RGB at the source map; "
           "'learn': Y, I and Q all by the transfer", type=str, choices=("yiq", "copy", "learn")),
    Option("transfer", "auto", "'linear': A′ at the source plus a linear correction learnt on A; 'auto': "
           "that correction shrunk towards the copy by cross-validation on A; 'copy': A′ at the source "
           "(the paper)", type=str, choices=("linear", "auto", "copy")),
    Option("vote", True, "average the predictions of the neighbours' sources (Gaussian weights)", type=bool),
    Option("ann", True, "add the paper's approximate-nearest-neighbour candidate (PCA + k-d tree) to the "
           "PatchMatch search", type=bool),
)


#: stylize(method="analogy"): the paper's artistic filter: the style's colours copied at the source
#: map, the paper's coherence, the copy, no vote, PatchMatch's own field (see the module docstring).
_STYLIZE_DEFAULTS = {"kappa": 1.0, "remap": True, "filtered_weight": 1.0, "transfer": "copy", "vote": False,
                     "color": "copy", "ann": False}
_STYLIZE_OPTIONS = tuple(
    dataclasses.replace(o, default=_STYLIZE_DEFAULTS[o.name]) if o.name in _STYLIZE_DEFAULTS else o
    for o in _OPTIONS
)


def _common(ya, yap, yb, b_yiq, ap_rgb, ctx, color, transfer="copy", vote=False, a_yiq=None, ap_yiq=None,
            **opts):
    if opts.pop("remap"):
        ya, yap = remap_luminance(ya, yap, yb)
    yb_prime, info, s = synthesise(ya, yap, yb, ctx=ctx, remap=False, **opts)
    if s is None or color == "copy" or (transfer == "copy" and not vote):
        return compose(yb_prime, b_yiq, ap_rgb, s, color), info
    xp = ctx.xp
    with ctx.timer("transfer"):
        chans = [(ya, yap, yb)]
        if color == "learn":
            chans += [(a_yiq[:, :, c], ap_yiq[:, :, c], b_yiq[:, :, c]) for c in (1, 2)]
        m = None
        if transfer in ("linear", "auto"):
            m = half_matches(ya, ctx=ctx, patch_size=opts["patch_size"], iterations=opts["pm_iterations"])
        out = []
        for x, x_prime, y in chans:
            coef = None if m is None else learn_transfer(x, x_prime, m, shrink=transfer == "auto")
            out.append(transfer_channel(x_prime, x, y, s, coef, vote=vote))
            info.transfer_coef.append(None if coef is None else coef.astype(np.float32))
        if color != "learn":
            out += [b_yiq[:, :, 1], b_yiq[:, :, 2]]
        rgb = yiq_to_rgb(xp.stack(out, axis=2))
    return xp.clip(rgb, 0.0, 1.0).astype(np.float32), info


@register(
    "hertzmann", task="analogy", family="classical", backend="numba", devices=("cpu", "cuda"),
    reference=_REFERENCE,
    summary="learn a filter from an example pair A→A′ and apply it to B (pyramid, BestMatch, coherence)",
    options=_OPTIONS,
)
def hertzmann(
    a: Any, a_prime: Any, b: Any, *, ctx: RunContext, kappa: float, levels: int | None, patch_size: int,
    coarse_size: int, remap: bool, exact: bool, pm_iterations: int, color: str, filtered_weight: float,
    coarse_weight: float, transfer: str, vote: bool, ann: bool,
) -> tuple[Any, AnalogyInfo]:
    """Image analogy ``A : A′ :: B : B′`` (see the module docstring).

    Parameters
    ----------
    a, a_prime : float32 ndarray, shape (H, W, 3)
        The example pair, RGB in [0, 1].
    b : float32 ndarray, shape (H2, W2, 3)
        The image to filter.
    ctx : RunContext
    kappa, levels, patch_size, coarse_size, remap, exact, pm_iterations, color
        See the registered options.

    Returns
    -------
    b_prime : float32 ndarray, shape (H2, W2, 3)
    info : AnalogyInfo

    Examples
    --------
    >>> import numpy as np, imgkit
    >>> from imgkit import data
    >>> a = data.photo("astronaut", 48); b = data.photo("coffee", 48)
    >>> a_prime = 1.0 - a                                  # learn "invert"
    >>> bp = imgkit.analogy(a, a_prime, b, seed=0, remap=False)
    >>> bp.shape, bp.dtype
    ((48, 48, 3), dtype('float32'))

    References
    ----------
    .. [1] A. Hertzmann et al., "Image Analogies", SIGGRAPH 2001.
    """
    return _common(
        luminance(a), luminance(a_prime), luminance(b), rgb_to_yiq(b), a_prime, ctx, color,
        transfer=transfer, vote=vote, a_yiq=rgb_to_yiq(a), ap_yiq=rgb_to_yiq(a_prime), kappa=kappa,
        levels=levels, patch_size=patch_size, coarse_size=coarse_size, remap=remap, exact=exact,
        pm_iterations=pm_iterations, filtered_weight=filtered_weight, coarse_weight=coarse_weight, ann=ann,
    )


@register(
    "analogy", task="stylize", family="classical", backend="numba", devices=("cpu", "cuda"),
    reference=_REFERENCE + "; artistic filters without a source photo: A = blurred luminance of A′",
    summary="image analogies with A′ = style, A = its blurred luminance, B = content",
    options=(*_STYLIZE_OPTIONS, Option("blur", 2.0,
                                       "σ (pixels) of the Gaussian blur that makes A from the style",
                               type=float, low=0.0, high=50.0)),
)
def analogy_stylize(
    content: Any, styles: list[Any], *, ctx: RunContext, kappa: float, levels: int | None,
    patch_size: int, coarse_size: int, remap: bool, exact: bool, pm_iterations: int, color: str,
    filtered_weight: float, coarse_weight: float, transfer: str, vote: bool, ann: bool, blur: float,
) -> tuple[Any, AnalogyInfo]:
    """Stylise ``content`` with the image-analogies "artistic filter" set-up.

    With only a style image, the example pair is ``A′ = style`` and ``A`` = the style's
    luminance blurred with σ = ``blur`` (the unfiltered version of the painting that the paper's
    artistic filters need); ``B = content``. ``remap=True`` maps A and A′ with one linear map
    that gives A′ (not A, as in :func:`imgkit.analogy`) the content's luminance mean and standard
    deviation: the blur shrinks A's σ, and the paper's map (by A's σ) would stretch the style's
    contrast by that ratio and saturate the result (measured on the benchmark's 8 style cases at
    128 px: median Gram distance to the style 10.8 with A's statistics, 3.8 with A′'s, 8.1 for
    the unchanged content). By default ``B′`` is synthesised in full colour (``color="copy"``: the
    style's RGB at the source map) with the paper's coherence ``kappa=1``;
    ``color="yiq"`` keeps the content's chroma (a luminance-only filter).

    Parameters
    ----------
    content : float32 ndarray, shape (H, W, 3)
    styles : list of one float32 ndarray, shape (h, w, 3)
    ctx : RunContext
    kappa, levels, patch_size, coarse_size, remap, exact, pm_iterations, color, blur
        See the registered options.

    Returns
    -------
    out : float32 ndarray, shape (H, W, 3)
    info : AnalogyInfo

    References
    ----------
    .. [1] A. Hertzmann et al., "Image Analogies", SIGGRAPH 2001, section 4.4 (artistic filters).
    """
    if len(styles) != 1:
        raise InvalidImageError(
            f"method 'analogy' takes one style image; got {len(styles)}: pass a single array as style"
        )
    style = styles[0]
    yap = luminance(style)
    ya = _blur(yap, blur)
    yb = luminance(content)
    if remap:  # with A′'s statistics: A = blur(A′) has a far smaller σ than A′ (see remap_luminance)
        ya, yap = remap_luminance(ya, yap, yb, by="a_prime")
    return _common(
        ya, yap, yb, rgb_to_yiq(content), style, ctx, color, transfer=transfer, vote=vote,
        a_yiq=rgb_to_yiq(_blur(style, blur)), ap_yiq=rgb_to_yiq(style), kappa=kappa, levels=levels,
        patch_size=patch_size, coarse_size=coarse_size, remap=False, exact=exact,
        pm_iterations=pm_iterations, filtered_weight=filtered_weight, coarse_weight=coarse_weight, ann=ann,
    )


def _blur(y: Any, sigma: float) -> Any:
    return y.copy() if sigma <= 0 else blur(y, sigma)
