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
from ._checks import check_progress as _check_progress
from ._checks import check_seed as _check_seed
from ._image import ImageMeta, as_float_image, as_mask, restore_image, to_gray, to_rgb
from ._xp import is_cupy, to_numpy, to_xp
from .context import Info, RunContext
from .device import array_module, resolve_device
from .errors import InvalidImageError, NoSourceError
from .registry import DEFAULT_METHODS, REGION_OPTIONS, MethodSpec, get_method

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
    progress = _check_progress(progress)
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
    method: str = DEFAULT_METHODS["inpaint"],
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
    progress : bool or "log"
        Show a progress bar (tqdm); ``"log"``: instead print a progress line on stderr every
        ``IMGKIT_PROGRESS_INTERVAL`` seconds (default 10), for logs and pipes.
    return_info : bool
        Also return an :class:`~imgkit.context.Info` record (method-specific fields).
    callback : callable, optional
        ``callback(step, total, state)`` after each step; returning ``True`` stops early.
    **options
        Method options (see ``list_methods``); unknown or out-of-range options raise
        :class:`~imgkit.errors.InvalidOptionError`. Every inpainting method also accepts:

        ``region`` : {"auto", "crop", "full"}
            ``"crop"`` fills each group of nearby holes on its bounding box plus a context
            margin, at full resolution, and pastes the fill back into the hole only, so a
            24-megapixel photo with a small hole costs about what the crop costs. When the boxes
            would cover more than half the image (or a box is too small for the method's
            patches) the whole image is used. ``"auto"``: ``"crop"`` on images over 1 megapixel,
            ``"full"`` below (small images are cheap, and exemplar methods find more to copy in
            the whole image). Default ``"auto"`` for exemplar methods (criminisi, patchmatch)
            and deep methods, ``"full"`` for the others.
        ``region_margin`` : int or None
            Context margin in pixels around each hole's bounding box (default None: the
            hole's longer side, at least 64).
        ``mask_dilate`` : int
            Grow the hole by a disk of this radius (pixels) first (default 0).
        ``mask_feather`` : int
            Fill this many more pixels around the hole and blend the fill in over that band,
            with weight ``1 - d / (mask_feather + 1)`` at distance ``d`` from the hole
            (default 0: hard edge). Known pixels farther out stay exact.

    Returns
    -------
    out : ndarray, same shape as ``image``, float32 in [0, 1]
        Known pixels are exactly the (float-converted) input pixels (outside the feather band
        when ``mask_feather`` is set).
    info : Info
        Only with ``return_info=True``; ``info.regions`` lists the boxes the method worked on.

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
    region = {k: opts.pop(k) for k in REGION_OPTIONS}
    info: Info | None = None
    if not bool(hole.any()):
        out = img.copy()
    else:
        out, info = _inpaint_regions(spec, ctx, img, hole, opts, **region)
    result = restore_image(out, alpha, meta, clip=False)  # fills are clipped, known pixels in [0, 1]
    if return_info:
        info = _finish(spec, ctx, {**opts, **region}, info, t0)
        return result, info
    return result


def _inpaint_regions(spec: MethodSpec, ctx: RunContext, img: Any, hole: Any, opts: dict[str, Any], *,
                     region: str, region_margin: int | None, mask_dilate: int,
                     mask_feather: int) -> tuple[Any, Info | None]:
    """Dilate, plan boxes, run the method on each, paste back (feathered); see :mod:`._region`."""
    from ._region import AUTO_MIN_PIXELS, dilate, feather_weights, plan_boxes

    xp = ctx.xp
    H, W = hole.shape
    img = to_xp(img, xp)  # on the method's device (the door's own copy: filled in place below)
    hole_h = to_numpy(hole)
    work = dilate(hole_h, mask_dilate)        # the hole the caller wants filled
    fill = dilate(work, mask_feather)         # what the method fills (work + feather band)
    if bool(fill.all()):
        grown = " once grown by mask_dilate/mask_feather" if (mask_dilate or mask_feather) else ""
        raise NoSourceError(
            f"mask covers every pixel of the image{grown}: there are no known pixels to fill the "
            f"hole from; the mask must leave part of the image known (0 / False)"
        )
    crop = region == "crop" or (region == "auto" and H * W > AUTO_MIN_PIXELS)
    boxes = plan_boxes(fill, region_margin) if crop else None
    full = boxes is None
    if full:
        boxes = [(0, H, 0, W)]
    # options holding per-pixel arrays (e.g. patchmatch's source_mask) are cropped with the image
    per_pixel = [k for k, v in opts.items()
                 if hasattr(v, "shape") and tuple(getattr(v, "shape", ())[:2]) == (H, W)]
    infos: list[Info | None] = []
    fills = []
    for y0, y1, x0, x1 in boxes:
        win = (slice(y0, y1), slice(x0, x1))
        fill_c = fill[win]
        crop_opts = {k: (v[win] if k in per_pixel else v) for k, v in opts.items()}
        img_c = img if full else xp.ascontiguousarray(img[win])
        try:
            res, inf = spec.func(to_xp(img_c, xp), to_xp(fill_c, xp), ctx=ctx, **crop_opts)
        except NoSourceError:
            if full:
                raise
            # the box's context is too small for this method's patches: use the whole image
            return _inpaint_regions(spec, ctx, img, hole, opts, region="full", region_margin=None,
                                    mask_dilate=mask_dilate, mask_feather=mask_feather)
        res = xp.clip(xp.asarray(res), 0.0, 1.0)
        if mask_feather:
            w = xp.asarray(feather_weights(work[win], mask_feather))[:, :, None]
            res = w * res + (1.0 - w) * img_c
        fills.append((win, xp.asarray(fill_c)[:, :, None], res))
        infos.append(inf)
    # paste back only once every box succeeded; img is the door's own float copy, so the
    # fills go into it in place (a 24-megapixel photo is not copied again)
    out = img
    for win, sel, res in fills:
        out[win] = xp.where(sel, res, out[win]).astype(np.float32)
    info = next((i for i in infos if i is not None), None)
    if info is None:
        info = Info()
    info.regions = list(boxes)
    info.region_infos = infos if len(infos) > 1 else []
    return out, info


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


def _run_rgb(spec: MethodSpec, inputs: list[Any], alpha: Any, meta: ImageMeta, options: dict[str, Any],
             **door: Any) -> Any:
    """What :func:`stylize` and :func:`analogy` share: check the options, run the method on its
    RGB inputs moved to ``ctx.xp`` (an input that is a list: each of its images), and give the
    result the layout of the input (``meta``, ``alpha``), with the info record if asked."""
    ctx, opts, return_info = _prepare(spec, options, **door)
    t0 = time.perf_counter()
    xp = ctx.xp
    args = [[to_xp(s, xp) for s in x] if isinstance(x, list) else to_xp(x, xp) for x in inputs]
    out, info = spec.func(*args, ctx=ctx, **opts)
    result = _restore_colour(out, alpha, meta)
    if return_info:
        return result, _finish(spec, ctx, opts, info, t0)
    return result


def stylize(
    content: Any,
    style: Any = None,
    method: str = DEFAULT_METHODS["stylize"],
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
    style : ndarray or sequence of ndarray, optional
        One style image, or several (methods that blend styles take ``style_weights``).
        Methods with built-in styles (``multistyle``, ``johnson``) do not need one.
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
    styles = [] if style is None else _style_inputs(style)
    on_gpu = meta.on_gpu or any(is_cupy(s) for s in styles)
    return _run_rgb(spec, [to_rgb(img), styles], alpha, meta, options, on_gpu=on_gpu, device=device,
                    seed=seed, progress=progress, return_info=return_info, callback=callback)


def analogy(
    a: Any,
    a_prime: Any,
    b: Any,
    method: str = DEFAULT_METHODS["analogy"],
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
    return _run_rgb(spec, [to_rgb(a_img), to_rgb(ap_img), to_rgb(b_img)], alpha, meta, options,
                    on_gpu=on_gpu, device=device, seed=seed, progress=progress,
                    return_info=return_info, callback=callback)
