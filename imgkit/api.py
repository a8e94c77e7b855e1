"""The public doors: :func:`inpaint`, :func:`stylize` and :func:`analogy`.

Each validates and converts its inputs once, resolves the device and the options, runs the
method and gives the result the layout of the input back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._checks import check_callback as _check_callback
from ._checks import check_flag as _check_flag
from ._checks import check_seed as _check_seed
from ._image import ImageMeta, as_float_image, as_mask, is_cupy, restore_image, to_gray, to_rgb
from .context import Info, RunContext
from .device import array_module, resolve_device
from .errors import InvalidImageError, NoSourceError
from .registry import MethodSpec, get_method

__all__ = ["analogy", "inpaint", "stylize"]

Callback = Callable[[int, int, dict[str, Any]], Any]


def _prepare(
    spec: MethodSpec,
    options: dict[str, Any],
    *,
    device: str,
    seed: Any,
    progress: Any,
    return_info: Any,
    callback: Any,
    on_gpu: bool,
) -> tuple[RunContext, dict[str, Any], bool]:
    opts = spec.check_options(options)
    seed = _check_seed(seed)
    progress = _check_flag(progress, "progress")
    return_info = _check_flag(return_info, "return_info")
    callback = _check_callback(callback)
    dev = resolve_device(
        device, devices=spec.devices, backend=spec.backend, method=spec.name, prefer_gpu=on_gpu
    )
    spec.ensure_available()
    ctx = RunContext(
        method=spec.name,
        device=dev,
        xp=array_module(dev, spec.backend),
        seed=seed,
        progress=progress,
        callback=callback,
        return_info=return_info,
    )
    return ctx, opts, return_info


def _to_xp(x: Any, xp: Any) -> Any:
    if xp is np:
        return x.get() if is_cupy(x) else x
    return xp.asarray(x)


def _finish(
    spec: MethodSpec,
    ctx: RunContext,
    opts: dict[str, Any],
    info: Info | None,
    t0: float,
) -> Info:
    if info is None:
        info = Info()
    info.method, info.task, info.device = spec.name, spec.task, ctx.device
    info.seed, info.options = ctx.seed, dict(opts)
    info.timings.update(ctx.timings)
    info.timings["total"] = time.perf_counter() - t0
    return info


def inpaint(
    image: Any,
    mask: Any,
    method: str = "criminisi",
    *,
    device: str = "auto",
    seed: int | None = None,
    progress: bool = False,
    return_info: bool = False,
    callback: Callback | None = None,
    **options: Any,
) -> Any:
    """Fill the masked hole of an image.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C in {1, 3, 4}
        uint8, uint16 or float in [0, 1]. An alpha channel is passed through untouched.
        A CuPy array gives a CuPy result.
    mask : ndarray, shape (H, W)
        bool or numeric; nonzero marks the hole.
    method : str
        A method of :func:`imgkit.list_methods` ``("inpaint")``.
    device : {"auto", "cpu", "cuda"}
        Where to run; ``"cuda"`` without a usable GPU raises
        :class:`~imgkit.errors.DeviceUnavailableError`.
    seed : int, optional
        Seed of every random choice; the same call twice gives the same bytes on a device.
    progress : bool
        Show a progress bar.
    return_info : bool
        Also return an :class:`~imgkit.context.Info` record (method-specific fields).
    callback : callable, optional
        ``callback(step, total, state)`` after each step; returning ``True`` stops early.
    **options
        Method options (see ``list_methods``); unknown or out-of-range options raise
        :class:`~imgkit.errors.InvalidOptionError`.

    Returns
    -------
    out : ndarray, same shape as ``image``, float32 in [0, 1]
        Known pixels are exactly the (float-converted) input pixels.
    info : Info
        Only with ``return_info=True``.

    Examples
    --------
    >>> import numpy as np, imgkit
    >>> img = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))
    >>> mask = np.zeros((32, 32), bool); mask[12:20, 12:20] = True
    >>> out = imgkit.inpaint(img, mask, method="telea")
    >>> out.shape, out.dtype
    ((32, 32), dtype('float32'))
    >>> bool(np.abs(out - img).max() < 0.1)
    True
    """
    spec = get_method(method, "inpaint")
    img, alpha, meta = as_float_image(image, "image")
    hole = as_mask(mask, img.shape[:2], "mask", "image")
    ctx, opts, return_info = _prepare(
        spec, options, device=device, seed=seed, progress=progress,
        return_info=return_info, callback=callback, on_gpu=meta.on_gpu,
    )
    t0 = time.perf_counter()
    n_hole = int(hole.sum())
    if n_hole == 0:
        out, info = img.copy(), None
    else:
        if n_hole == hole.size:
            raise NoSourceError(
                "mask covers every pixel of the image: there are no known pixels to fill the "
                "hole from; the mask must leave part of the image known (0 / False)"
            )
        xp = ctx.xp
        img_d, hole_d = _to_xp(img, xp), _to_xp(hole, xp)
        out, info = spec.func(img_d, hole_d, ctx=ctx, **opts)
        out = xp.where(hole_d[:, :, None], xp.clip(out, 0.0, 1.0), img_d).astype(np.float32)
    result = restore_image(out, alpha, meta)
    if return_info:
        return result, _finish(spec, ctx, opts, info, t0)
    return result


def _style_inputs(style: Any) -> list[Any]:
    if isinstance(style, (list, tuple)):
        if len(style) == 0:
            raise InvalidImageError("style is an empty list; give one style image or several")
        return [to_rgb(as_float_image(s, f"style[{i}]")[0]) for i, s in enumerate(style)]
    return [to_rgb(as_float_image(style, "style")[0])]


def _restore_colour(out: Any, alpha: Any, meta: ImageMeta) -> Any:
    """Outputs of style methods are RGB; give grey inputs a grey result."""
    if meta.channels - (1 if meta.has_alpha else 0) == 1:
        out = to_gray(out)
    return restore_image(out, alpha, meta)


def stylize(
    content: Any,
    style: Any,
    method: str = "gatys",
    *,
    device: str = "auto",
    seed: int | None = None,
    progress: bool = False,
    return_info: bool = False,
    callback: Callback | None = None,
    **options: Any,
) -> Any:
    """Render ``content`` in the look of ``style``.

    Parameters
    ----------
    content : ndarray, shape (H, W) or (H, W, C), C in {1, 3, 4}
        The image to re-render (uint8, uint16 or float in [0, 1]); its alpha is passed through.
    style : ndarray or sequence of ndarray
        One style image, or several (methods that blend styles take ``style_weights``).
    method : str
        A method of :func:`imgkit.list_methods` ``("stylize")``.
    device, seed, progress, return_info, callback, **options
        As in :func:`imgkit.inpaint`.

    Returns
    -------
    out : ndarray, same shape as ``content``, float32 in [0, 1]
    info : Info
        Only with ``return_info=True``.
    """
    spec = get_method(method, "stylize")
    img, alpha, meta = as_float_image(content, "content")
    styles = _style_inputs(style)
    on_gpu = meta.on_gpu or any(is_cupy(s) for s in styles)
    ctx, opts, return_info = _prepare(
        spec, options, device=device, seed=seed, progress=progress,
        return_info=return_info, callback=callback, on_gpu=on_gpu,
    )
    t0 = time.perf_counter()
    xp = ctx.xp
    out, info = spec.func(
        _to_xp(to_rgb(img), xp), [_to_xp(s, xp) for s in styles], ctx=ctx, **opts
    )
    result = _restore_colour(out, alpha, meta)
    if return_info:
        return result, _finish(spec, ctx, opts, info, t0)
    return result


def analogy(
    a: Any,
    a_prime: Any,
    b: Any,
    method: str = "hertzmann",
    *,
    device: str = "auto",
    seed: int | None = None,
    progress: bool = False,
    return_info: bool = False,
    callback: Callback | None = None,
    **options: Any,
) -> Any:
    """Learn the filter ``a → a_prime`` from an example pair and apply it to ``b``.

    Parameters
    ----------
    a, a_prime : ndarray, shape (H, W) or (H, W, C)
        The example pair; same height and width.
    b : ndarray, shape (H2, W2) or (H2, W2, C)
        The image to filter; its alpha is passed through.
    method : str
        A method of :func:`imgkit.list_methods` ``("analogy")``.
    device, seed, progress, return_info, callback, **options
        As in :func:`imgkit.inpaint`.

    Returns
    -------
    b_prime : ndarray, same shape as ``b``, float32 in [0, 1]
    info : Info
        Only with ``return_info=True``.
    """
    spec = get_method(method, "analogy")
    a_img, _, a_meta = as_float_image(a, "a")
    ap_img, _, ap_meta = as_float_image(a_prime, "a_prime")
    if a_img.shape[:2] != ap_img.shape[:2]:
        raise InvalidImageError(
            f"a_prime shape {ap_meta.shape} does not match a shape {a_meta.shape}: the example "
            f"pair must have the same height and width"
        )
    b_img, alpha, meta = as_float_image(b, "b")
    on_gpu = meta.on_gpu or a_meta.on_gpu or ap_meta.on_gpu
    ctx, opts, return_info = _prepare(
        spec, options, device=device, seed=seed, progress=progress,
        return_info=return_info, callback=callback, on_gpu=on_gpu,
    )
    t0 = time.perf_counter()
    xp = ctx.xp
    out, info = spec.func(
        _to_xp(to_rgb(a_img), xp), _to_xp(to_rgb(ap_img), xp), _to_xp(to_rgb(b_img), xp),
        ctx=ctx, **opts,
    )
    result = _restore_colour(out, alpha, meta)
    if return_info:
        return result, _finish(spec, ctx, opts, info, t0)
    return result
