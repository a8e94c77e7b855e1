"""Pieces shared by the feed-forward style methods (multistyle, arbitrary, johnson).

* ``preserve_color`` — Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
  Factors in Neural Style Transfer" (CVPR 2017), §5: ``"luminance"`` keeps the stylised
  luminance and puts back the content's YIQ chroma; ``"histogram"`` gives the colours the mean
  and covariance of the content's (for a feed-forward network the transfer runs first, so the
  stylised output is matched; methods that read a style image match that image instead).
  ``True`` means ``"luminance"`` and ``False`` ``"none"``.
* :func:`run_tiled` — run an instance-normalised network on an image of any size in
  overlapping tiles, every tile normalised with the statistics of one pass over a mosaic of
  full-resolution crops spread over the image (:func:`imgkit.nets.transformers.normalise`),
  blended with linear ramps over the overlaps, so that tiles join without seams and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidOptionError
from ..registry import Option
from ._common import preserve_mode

__all__ = ["finish", "pad_to_multiple", "preserve_color_option", "preserve_colors", "run_tiled",
           "run_tiled_steps", "tile_options", "torch_threads"]

def preserve_color_option() -> Option:
    """The ``preserve_color`` option (shared by every feed-forward method)."""
    return Option("preserve_color", "none", "keep the content's colours: 'luminance' (or True) keeps the "
                  "stylised luminance with the content's chroma; 'histogram' matches colour statistics",
                  type=(str, bool), check=preserve_mode)


def tile_options(default_tile: int = 1024) -> tuple[Option, ...]:
    """``tile`` and ``tile_overlap`` options for large images."""
    return (
        Option("tile", default_tile, "images with a side longer than this run in overlapping tiles of this "
               "size (normalised with whole-image statistics); 0: never tile",
               type=int, low=0, high=16384),
        Option("tile_overlap", 96, "overlap of neighbouring tiles in pixels (blended linearly)",
               type=int, low=16, high=1024),
    )


def preserve_colors(out: np.ndarray, content: np.ndarray, mode: str) -> np.ndarray:
    """Apply ``preserve_color`` ``mode`` to a stylised ``out`` (H, W, 3) given ``content`` (H, W, 3)."""
    from .._color import match_color, rgb_to_yiq, yiq_to_rgb

    mode = preserve_mode(mode)
    if mode == "luminance":
        yiq = rgb_to_yiq(content)
        yiq[:, :, 0] = rgb_to_yiq(out)[:, :, 0]
        return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)
    if mode == "histogram":
        return np.clip(match_color(out, content), 0.0, 1.0).astype(np.float32)
    return out


def finish(out: np.ndarray, content: np.ndarray, preserve_color: Any, strength: float = 1.0) -> np.ndarray:
    """The last step of a feed-forward method: ``preserve_color`` applied to the stylised ``out``,
    then mixed with ``content`` by ``strength`` (1: stylised only), as contiguous float32."""
    out = preserve_colors(out, content, preserve_color)
    if strength < 1.0:
        out = strength * out + (1.0 - strength) * content
    return np.ascontiguousarray(out, dtype=np.float32)


def pad_to_multiple(x: np.ndarray, multiple: int = 4) -> np.ndarray:
    """``x`` (H, W, C) padded at the bottom and right to multiples of ``multiple`` (a network's
    total stride): reflected, or edge-replicated when a side is ``multiple`` or less."""
    H, W = x.shape[:2]
    ph, pw = (-H) % multiple, (-W) % multiple
    if ph or pw:
        x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect" if min(H, W) > multiple else "edge")
    return x


def torch_threads() -> int | None:
    """torch's intra-op thread count (so onnxruntime uses the cores the caller allowed), or None."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()


def _ramp(n: int, start: int, total: int, overlap: int) -> np.ndarray:
    """Blend weights along one axis of a tile at ``start`` of length ``n`` in an axis of ``total``."""
    w = np.ones(n, dtype=np.float32)
    r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        w[:overlap] = np.minimum(w[:overlap], r)
    if start + n < total:
        w[n - overlap:] = np.minimum(w[n - overlap:], r[::-1])
    return w


def _starts(total: int, tile: int, overlap: int) -> list[int]:
    if total <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, total - tile, step))
    return [*starts, total - tile]


def _mosaic(x: Any, size: int, multiple: int, grid: int = 4) -> Any:
    """An image of ``grid × grid`` full-resolution crops (``size / grid`` px, at least 128) spread over ``x``.

    The statistics of a network's features on it estimate those of the whole image at full
    resolution (a downscaled copy would not: it holds other frequencies).
    """
    import torch

    H, W = x.shape[-2:]
    crop = max(128, size // grid)  # smaller crops are dominated by their borders
    ch = max(multiple, min(H, crop) // multiple * multiple)
    cw = max(multiple, min(W, crop) // multiple * multiple)
    gy, gx = min(grid, max(1, H // ch)), min(grid, max(1, W // cw))
    ys = np.linspace(0, H - ch, gy).round().astype(int)
    xs = np.linspace(0, W - cw, gx).round().astype(int)
    rows = [torch.cat([x[..., y:y + ch, c:c + cw] for c in xs], dim=-1) for y in ys]
    return torch.cat(rows, dim=-2)


def run_tiled(
    net: Callable[[Any, Any], Any],
    x: Any,
    *,
    tile: int,
    overlap: int,
    multiple: int = 4,
    stats_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> Any:
    """Run ``net(x, stats)`` on ``x`` (1, C, H, W) whole or in tiles; returns (1, C', H, W).

    Parameters
    ----------
    net : callable
        ``net(tensor, stats) -> tensor`` of the same H, W (``stats``: ``None`` or a dict, see
        :func:`imgkit.nets.transformers.normalise`).
    x : Tensor, shape (1, C, H, W)
    tile : int
        Longest side processed in one pass (0: always whole). Larger images are cut in tiles
        of ``tile × tile`` overlapping by ``overlap``.
    overlap : int
    multiple : int
        Inputs are reflect-padded to a multiple of this (the network's total stride).
    stats_size : int, optional
        Side of the mosaic of full-resolution crops (4 × 4 crops spread over the image)
        whose pass sets the normalisation statistics of every tile (default ``tile``).
    progress : callable, optional
        ``progress(done, total)`` after each tile.
    """
    import torch
    import torch.nn.functional as F

    def padded(t: Any, stats: Any) -> Any:
        h, w = t.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            t = F.pad(t, (0, pw, 0, ph), mode=mode)
        return net(t, stats)[..., :h, :w]

    H, W = x.shape[-2:]
    if tile <= 0 or max(H, W) <= tile:
        out = padded(x, None)
        if progress is not None:
            progress(1, 1)
        return out
    if overlap * 2 >= tile:
        raise InvalidOptionError(f"option 'tile_overlap'={overlap} must be less than half of option "
                                 f"'tile'={tile}; lower tile_overlap or raise tile")
    stats: dict = {}
    padded(_mosaic(x, stats_size or tile, multiple), stats)  # records every layer's statistics
    ys, xs = _starts(H, tile, overlap), _starts(W, tile, overlap)
    acc = None
    wsum = torch.zeros((1, 1, H, W), dtype=x.dtype, device=x.device)
    total, done = len(ys) * len(xs), 0
    for y0 in ys:
        th = min(tile, H)
        wy = _ramp(th, y0, H, overlap)
        for x0 in xs:
            tw = min(tile, W)
            wx = _ramp(tw, x0, W, overlap)
            out = padded(x[..., y0:y0 + th, x0:x0 + tw], stats)
            if acc is None:
                acc = torch.zeros((1, out.shape[1], H, W), dtype=out.dtype, device=out.device)
            wt = torch.from_numpy(np.outer(wy, wx)).to(out.device, out.dtype)[None, None]
            acc[..., y0:y0 + th, x0:x0 + tw] += out * wt
            wsum[..., y0:y0 + th, x0:x0 + tw] += wt
            done += 1
            if progress is not None:
                progress(done, total)
    return acc / wsum


def run_tiled_steps(ctx: Any, desc: str, net: Callable[[Any, Any], Any], x: Any, *, tile: int, overlap: int,
                    info: Any) -> Any:
    """:func:`run_tiled` in inference mode under ``ctx``'s progress bar (one step per tile, the
    total set once known, also as ``info.tiles``) and its ``"stylise"`` timer."""
    import torch

    with ctx.steps(1, desc=desc, unit="tile") as bar, ctx.timer("stylise"), torch.inference_mode():
        def progress(done: int, total: int) -> None:
            bar.total = info.tiles = total
            if bar._bar is not None:
                bar._bar.total = total
            bar.update(1, {"tile": done, "tiles": total})

        return run_tiled(net, x, tile=tile, overlap=overlap, multiple=4, progress=progress)
