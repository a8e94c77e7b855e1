"""Neural style transfer by image optimisation (Gatys, Ecker & Bethge, CVPR 2016).

The output image ``x`` minimises ``α L_content(x, content) + β L_style(x, styles) + γ L_tv(x)``
where the content loss compares VGG16 features at ``content_layer`` (``relu4_2``), the style
loss compares Gram matrices at ``style_layers`` (``relu1_1 relu2_1 relu3_1 relu4_1 relu5_1``)
and ``L_tv`` is a total-variation smoothness term. Normalisations are those of
:mod:`imgkit.nets.losses` (the paper's style loss exactly; content loss divided by the layer
size so that the weights do not depend on the image size).

Default weights (``content_weight=1``, ``style_weight=5e5``, ``style_layer_weights`` =
``4/N_l²``, ``tv_weight=0``) make the loss half of the common bare PyTorch loop's
``mean((F − P)²) + 1e6 Σ_l mean((G_l − A_l)²)`` with Gram matrices ``F Fᵀ / (C H W)``: the same
minimiser, and, L-BFGS without line search being invariant to a constant factor of the loss,
the same iterates. The earlier defaults (``style_weight=100``, equal ``w_l = 1/5``,
``tv_weight=30``) weighted relu1_1 24× and relu2_1 6× less than that loop relative to the
content term (and relu4_1/relu5_1 2.6× more), so at equal iterations the optimisation stopped
short of the style (``benchmarks/compare_gatys.py``; figures in ``docs/deep_style.md``).

What neural-style users expect besides the paper:

* ``max_size`` — the longest side the optimisation runs at; larger contents are processed at
  that size and the result is upsampled (bilinear) to the content's size.
* ``scales`` — coarse-to-fine: optimise at 1/2^(scales−1) of the working size, upsample the
  result, continue at twice the size, ..., ending at the working size. ``iterations`` steps
  run at *each* scale. Levels where the content's or a style image's shorter side would be
  below the network's minimum (16 px for ``relu5_1``) are skipped.
* ``preserve_color`` — Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer":
  ``"luminance"`` runs the transfer on luminance only (the style's luminance is first matched
  to the content's mean and deviation) and puts the content's YIQ chroma (I, Q, at full
  resolution) back; ``"histogram"`` first gives each style image the colour mean and
  covariance of the content (:func:`imgkit._color.match_color`).
* several style images blended with ``style_weights`` (target Gram matrices ``Σ b_i A_i``);
  ``style_scale`` sizes each style image to ``style_scale ×`` the working content's longest
  side (smaller values give larger brush strokes).
* ``init`` — ``"content"`` (fast, the default), ``"style"`` (the first style image resized) or
  ``"noise"`` (uniform white noise from the run's seed, as in the paper).
* ``optimizer`` — L-BFGS (default, as the paper; no line search, learning rate 1) or Adam
  (learning rate 0.02 on the [0, 1] pixel scale by default).

The image is kept in [0, 1] by clamping it before each loss evaluation (a projection, as the
common PyTorch loop does). Optimising without that constraint and clipping only at the end
lost most of the style on dark styles: the optimum then has many pixels below 0, and the
clipped image's Gram matrices are far from it (astronaut × hubble_deep_field, 128 px, 100
iterations: style drop 28× unclamped against 101× for the clamped reference). On the CPU a
seeded run repeats bit for bit (same machine, same torch thread count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..context import Info
from ..errors import InvalidImageError, InvalidOptionError
from ..nets.layers import CONTENT_LAYER, STYLE_LAYERS, VGG16_LAYERS
from ..registry import REQUIRES_TORCH, Option, register
from ._common import SEQ, check_styles, preserve_mode, weight_list

__all__ = ["GatysInfo", "default_layer_weights", "gatys"]

#: VGG16 channels per block (conv1_x ... conv5_x).
_BLOCK_CHANNELS = {"1": 64, "2": 128, "3": 256, "4": 512, "5": 512}


def default_layer_weights(layers: tuple[str, ...] | list[str]) -> tuple[float, ...]:
    """``w_l = 4 / N_l²`` for VGG16 layers (``N_l`` channels), the default ``style_layer_weights``.

    With :mod:`imgkit.nets.losses`' ``E_l = Σ (G − A)² / 4`` this makes ``w_l E_l`` the *mean*
    squared difference of the Gram matrices' ``N_l²`` entries, the normalisation of the common
    PyTorch implementations (see the module docstring for why it is the default).
    """
    out = []
    for name in layers:
        block = name.removeprefix("relu").removeprefix("conv").removeprefix("pool")[:1]
        out.append(4.0 / _BLOCK_CHANNELS[block] ** 2)
    return tuple(out)


def _layer_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    layers = tuple(value)
    if not layers:
        raise ValueError("must name at least one layer")
    bad = [v for v in layers if not isinstance(v, str) or v not in VGG16_LAYERS]
    if bad:
        raise ValueError(f"names unknown VGG16 layer(s) {bad} (layers: {', '.join(VGG16_LAYERS)})")
    if len(set(layers)) != len(layers):
        raise ValueError("names a layer twice")
    return layers


_OPTIONS = (
    Option("iterations", 200, "optimiser steps at each scale", type=int, low=1, high=100_000),
    Option("optimizer", "lbfgs", "L-BFGS (paper) or Adam", type=str, choices=("lbfgs", "adam")),
    Option("learning_rate", None, "step size; None: 1.0 for L-BFGS, 0.02 for Adam",
           type=float, low=1e-6, high=100.0, nullable=True),
    Option("content_weight", 1.0, "α, weight of the content loss (0: texture synthesis)",
           type=float, low=0.0, high=1e12),
    Option("style_weight", 5e5, "β, weight of the style loss", type=float, low=0.0, high=1e12),
    Option("tv_weight", 0.0, "γ, weight of the total-variation loss", type=float, low=0.0, high=1e12),
    Option("content_layer", CONTENT_LAYER, "VGG16 layer of the content representation",
           type=str, choices=VGG16_LAYERS),
    Option("style_layers", STYLE_LAYERS, "VGG16 layers of the style representation",
           type=SEQ, check=_layer_list),
    Option("style_layer_weights", None, "weight per style layer; None: 4/N_l² (N_l channels: the mean "
           "squared difference of the Gram matrices' entries)",
           type=SEQ, nullable=True, check=weight_list),
    Option("init", "content", "start image", type=str, choices=("content", "style", "noise")),
    Option("max_size", 512, "longest side the optimisation runs at (None: the content's size)",
           type=int, low=16, high=16384, nullable=True),
    Option("scales", 1, "coarse-to-fine levels (each twice the size of the previous)",
           type=int, low=1, high=8),
    Option("style_scale", 1.0, "style images' longest side relative to the content's",
           type=float, low=0.05, high=8.0),
    Option("style_weights", None, "blend weights of several style images; None: equal",
           type=SEQ, nullable=True, check=weight_list),
    Option("preserve_color", "none", "keep the content's colours: luminance-only transfer ('luminance' "
           "or True) or colour matching of the styles ('histogram')", type=(str, bool), check=preserve_mode),
    Option("pooling", "max", "VGG16 pooling: max, or average (the paper's preference)",
           type=str, choices=("max", "avg")),
)


@dataclass(kw_only=True)
class GatysInfo(Info):
    """What a Gatys run did.

    Attributes
    ----------
    loss_total, loss_content, loss_style, loss_tv : ndarray of float64, shape (n,)
        Weighted loss terms (``α L_content`` etc.; they add up to ``loss_total``) of the image
        each optimiser step started from, one entry per step over all scales.
    scale_index : ndarray of int, shape (n,)
        Scale (0 = coarsest) of each entry.
    sizes : list of (int, int)
        Working ``(H, W)`` of each scale.
    style_sizes : list of list of (int, int)
        Size of every style image at each scale.
    iterations_run : int
        Optimiser steps taken in all.
    converged : bool
        L-BFGS stopped early because the gradient vanished.
    """

    loss_total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_content: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_style: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_tv: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sizes: list[tuple[int, int]] = field(default_factory=list)
    style_sizes: list[list[tuple[int, int]]] = field(default_factory=list)
    iterations_run: int = 0
    converged: bool = False


def _fit(shape: tuple[int, int], longest: int) -> tuple[int, int]:
    h, w = shape
    f = longest / max(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


def _scale_sizes(work: tuple[int, int], scales: int, min_side: int) -> list[tuple[int, int]]:
    sizes = []
    for k in range(scales - 1, 0, -1):
        size = (round(work[0] / 2**k), round(work[1] / 2**k))
        if min(size) >= min_side:
            sizes.append(size)
    return [*sizes, work]


def _prepare_colors(content: np.ndarray, styles: list[np.ndarray], mode: str):
    """Network-side content and style images (1 channel for luminance-only transfer)."""
    from .._color import luminance, match_color, match_mean_std

    if mode == "luminance":
        y = luminance(content)
        return y[:, :, None], [match_mean_std(luminance(s), y)[:, :, None] for s in styles]
    if mode == "histogram":
        return content, [match_color(s, content) for s in styles]
    return content, styles


def _with_content_chroma(y: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance ``y`` (H, W) with the YIQ chroma of ``content`` (H, W, 3) → RGB."""
    from .._color import rgb_to_yiq, yiq_to_rgb

    yiq = rgb_to_yiq(content)
    yiq[:, :, 0] = y
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


@register(
    "gatys",
    task="stylize",
    family="deep",
    reference="L. A. Gatys, A. S. Ecker, M. Bethge, 'Image Style Transfer Using Convolutional "
              "Neural Networks', CVPR 2016; colour preservation: L. A. Gatys et al., "
              "'Preserving Color in Neural Artistic Style Transfer', arXiv:1606.05897, 2016",
    summary="optimise the image to match VGG16 content features and style Gram matrices",
    options=_OPTIONS,
    devices=("cpu", "cuda"),
    backend="torch",
    requires=(REQUIRES_TORCH,),
)
def gatys(
    content: np.ndarray,
    styles: list[np.ndarray],
    *,
    ctx: Any,
    iterations: int,
    optimizer: str,
    learning_rate: float | None,
    content_weight: float,
    style_weight: float,
    tv_weight: float,
    content_layer: str,
    style_layers: tuple[str, ...],
    style_layer_weights: tuple[float, ...] | None,
    init: str,
    max_size: int | None,
    scales: int,
    style_scale: float,
    style_weights: tuple[float, ...] | None,
    preserve_color: str,
    pooling: str,
) -> tuple[np.ndarray, GatysInfo]:
    """Gatys et al. neural style transfer (see the module docstring for the options).

    Parameters
    ----------
    content : ndarray, shape (H, W, 3), float32 in [0, 1]
    styles : list of ndarray, shapes (h_i, w_i, 3), float32 in [0, 1]
    ctx : RunContext

    Returns
    -------
    out : ndarray, shape (H, W, 3), float32 in [0, 1]
    info : GatysInfo

    References
    ----------
    L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using Convolutional Neural
    Networks", CVPR 2016, pp. 2414–2423.
    L. A. Gatys, M. Bethge, A. Hertzmann, E. Shechtman, "Preserving Color in Neural Artistic
    Style Transfer", arXiv:1606.05897, 2016.
    """
    check_styles("gatys", styles, style_weights)
    style_layers = tuple(style_layers)
    if style_layer_weights is None:
        style_layer_weights = default_layer_weights(style_layers)
    elif len(style_layer_weights) != len(style_layers):
        raise InvalidOptionError(
            f"option 'style_layer_weights' has {len(style_layer_weights)} entries for "
            f"{len(style_layers)} style layers {list(style_layers)}; give one weight per layer"
        )
    if content_weight == 0 and style_weight == 0 and tv_weight == 0:
        raise InvalidOptionError(
            "content_weight, style_weight and tv_weight are all 0: there is nothing to optimise; "
            "give at least style_weight > 0"
        )
    preserve_color = preserve_mode(preserve_color)
    blend = None
    if style_weights is not None:
        blend = [w / sum(style_weights) for w in style_weights]

    from .._torch import require_torch

    torch = require_torch()
    with torch.inference_mode(False), torch.enable_grad():
        return _run(
            content, styles, ctx=ctx, torch=torch, iterations=iterations, optimizer=optimizer,
            learning_rate=learning_rate, content_weight=content_weight, style_weight=style_weight,
            tv_weight=tv_weight, content_layer=content_layer, style_layers=style_layers,
            style_layer_weights=style_layer_weights, init=init, max_size=max_size, scales=scales,
            style_scale=style_scale, blend=blend, preserve_color=preserve_color, pooling=pooling,
        )


def _run(content, styles, *, ctx, torch, iterations, optimizer, learning_rate, content_weight,
         style_weight, tv_weight, content_layer, style_layers, style_layer_weights, init,
         max_size, scales, style_scale, blend, preserve_color, pooling):
    from .._torch import from_tensor, resize_tensor, to_tensor, torch_device
    from ..nets.encoder import get_encoder
    from ..nets.losses import GatysCriterion

    dev = torch_device(ctx.device)
    info = GatysInfo()
    with ctx.timer("setup"):
        encoder = get_encoder("vgg16", dev, pooling)
        crit = GatysCriterion(
            encoder, content_layer=content_layer, style_layers=style_layers,
            style_layer_weights=style_layer_weights, content_weight=content_weight,
            style_weight=style_weight, tv_weight=tv_weight,
        )
    min_side = max(encoder.downscale(name) for name in crit.layers)

    H, W = content.shape[:2]
    work = (H, W) if max_size is None or max(H, W) <= max_size else _fit((H, W), max_size)
    if min(work) < min_side:
        raise InvalidImageError(
            f"content of shape {content.shape} is too small: at its working size {work} the "
            f"shorter side is below {min_side} px, the least that VGG16 layer(s) {list(crit.layers)} "
            f"need; use a larger content image or max_size, or shallower layers"
        )

    def style_sizes(h: int, w: int) -> list[tuple[int, int]]:
        return [_fit(s.shape[:2], max(1, round(style_scale * max(h, w)))) for s in styles]

    # coarse levels where the content or a style image would be too small are skipped
    sizes = [sz for sz in _scale_sizes(work, scales, min_side)
             if sz == work or min(min(s) for s in style_sizes(*sz)) >= min_side]
    too_small = [(i, s) for i, s in enumerate(style_sizes(*work)) if min(s) < min_side]
    if too_small:
        i, size = too_small[0]
        raise InvalidOptionError(
            f"style_scale={style_scale!r} makes style image {i} {size} at the working size {work}: "
            f"below the {min_side} px that layers {list(crit.layers)} need; increase style_scale "
            f"or max_size"
        )
    info.sizes = sizes

    net_content, net_styles = _prepare_colors(content, styles, preserve_color)
    luminance_only = preserve_color == "luminance"
    content_t = to_tensor(net_content, dev)
    styles_t = [to_tensor(s, dev) for s in net_styles]

    def rgb(t):  # the network always sees three channels
        return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t

    def as_image(t):  # current estimate at its working size, RGB float32 (H, W, 3)
        img = np.clip(from_tensor(t), 0.0, 1.0)
        if luminance_only:
            small = from_tensor(resize_tensor(to_tensor(content, dev), t.shape[-2:]))
            return _with_content_chroma(img[:, :, 0], np.clip(small, 0.0, 1.0))
        return img

    totals, contents, style_terms, tvs, scale_idx = [], [], [], [], []
    x = None
    stop = False
    with ctx.steps(iterations * len(sizes), desc="gatys", unit="it") as bar:
        for k, (h, w) in enumerate(sizes):
            with ctx.timer("targets"):
                c_k = resize_tensor(content_t, (h, w))
                s_k = [resize_tensor(s, size) for s, size in zip(styles_t, style_sizes(h, w))]
                info.style_sizes.append([tuple(s.shape[-2:]) for s in s_k])
                crit.set_content(rgb(c_k))
                crit.set_styles([rgb(s) for s in s_k], blend)
                if x is None:
                    if init == "content":
                        x0 = c_k.clone()
                    elif init == "style":
                        x0 = resize_tensor(s_k[0], (h, w)).clone()
                    else:
                        noise = ctx.rng(0).random((h, w, c_k.shape[1]), dtype=np.float32)
                        x0 = to_tensor(noise, dev)
                else:
                    x0 = resize_tensor(x.detach(), (h, w))
                x = x0.detach().contiguous().requires_grad_(True)
                del c_k, s_k

            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS([x], lr=learning_rate or 1.0, max_iter=1, history_size=100,
                                        tolerance_grad=1e-9, tolerance_change=0.0)
            else:
                opt = torch.optim.Adam([x], lr=learning_rate or 0.02)
            last: dict[str, Any] = {}

            def closure(x=x, opt=opt, last=last):
                with torch.no_grad():  # projection onto [0, 1] before each evaluation
                    x.clamp_(0.0, 1.0)
                opt.zero_grad(set_to_none=True)
                losses = crit(rgb(x))
                losses["total"].backward()
                last.update(losses)
                return losses["total"]

            converged = False
            with ctx.timer("optimise"):
                for it in range(iterations):
                    if optimizer == "lbfgs":
                        n_before = opt.state[x].get("n_iter", 0) if x in opt.state else 0
                        opt.step(closure)
                        # L-BFGS returns without a step when the gradient has vanished
                        converged = opt.state[x].get("n_iter", 0) == n_before
                    else:
                        closure()
                        opt.step()
                    vals = [float(last[key].detach()) for key in ("total", "content", "style", "tv")]
                    if not np.isfinite(vals[0]):
                        raise FloatingPointError(
                            f"the Gatys loss became {vals[0]} at scale {k}, step {it}; lower "
                            f"learning_rate or the loss weights, or use optimizer='adam'"
                        )
                    totals.append(vals[0])
                    contents.append(vals[1])
                    style_terms.append(vals[2])
                    tvs.append(vals[3])
                    scale_idx.append(k)
                    state: dict[str, Any] = {
                        "scale": k, "size": (h, w), "iteration": it, "loss": vals[0],
                        "content": vals[1], "style": vals[2], "tv": vals[3],
                    }
                    if ctx.callback is not None:
                        state["image"] = as_image(x.detach())
                    bar.set_postfix(loss=f"{vals[0]:.4g}")
                    if bar.update(1, state):
                        stop = True
                        break
                    if converged:
                        bar.update(iterations - it - 1)  # the skipped steps of this scale
                        break
            info.converged = converged
            if stop:
                break

    with ctx.timer("finish"):
        out_t = x.detach().clamp(0.0, 1.0)
        if tuple(out_t.shape[-2:]) != (H, W):
            out_t = resize_tensor(out_t, (H, W)).clamp(0.0, 1.0)
        out = from_tensor(out_t)
        out = _with_content_chroma(out[:, :, 0], content) if luminance_only else out

    info.stopped = stop
    info.loss_total = np.asarray(totals, dtype=np.float64)
    info.loss_content = np.asarray(contents, dtype=np.float64)
    info.loss_style = np.asarray(style_terms, dtype=np.float64)
    info.loss_tv = np.asarray(tvs, dtype=np.float64)
    info.scale_index = np.asarray(scale_idx, dtype=np.int64)
    info.iterations_run = len(totals)
    return np.ascontiguousarray(out, dtype=np.float32), info
