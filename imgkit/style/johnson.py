"""Johnson et al.'s feed-forward style transfer, from a user's checkpoint.

J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016: one transformer network per style, trained with VGG perceptual
losses. No weights ship with imgkit (the published ones cannot be redistributed here); pass
``weights=path.pth``, a checkpoint in the layout of the widely used PyTorch
``fast_neural_style`` example (``conv1..3``, ``in1..5``, ``res1..5``, ``deconv1..3``; see
:class:`imgkit.nets.transformers.JohnsonNet`): pixels in 0–255, reflection padding,
nearest-upsample-then-convolve decoder, affine instance norms.

Loading is safe: ``torch.load(..., weights_only=True)`` rebuilds tensors only and refuses any
other pickled object before it is called. The ``running_mean`` / ``running_var`` /
``num_batches_tracked`` entries that checkpoints saved by old PyTorch versions carry for the
instance norms are dropped (instance norm uses each image's own statistics); every other key
must match the layout exactly. The widths of ``conv1..3`` are read from the checkpoint.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..context import Info
from ..errors import WeightsFormatError, WeightsNotFoundError
from ..registry import REQUIRES_TORCH, Option, register
from ._feedforward import finish, preserve_color_option, run_tiled_steps, tile_options

__all__ = ["ENV_VAR", "JohnsonInfo", "johnson", "load_johnson"]

#: Environment variable naming the default checkpoint.
ENV_VAR = "IMGKIT_JOHNSON_WEIGHTS"

_DROP = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")

_OPTIONS = (
    Option("weights", None, "path of a fast_neural_style checkpoint (.pth/.model state dict; "
           "default: $IMGKIT_JOHNSON_WEIGHTS)",
           type=(str, Path), nullable=True),
    Option("strength", 1.0, "mix of the stylised image with the content (1: stylised only)",
           type=float, low=0.0, high=1.0),
    preserve_color_option(),
    *tile_options(),
)


@dataclass(kw_only=True)
class JohnsonInfo(Info):
    """What a Johnson run did.

    Attributes
    ----------
    weights : str
        The checkpoint used.
    channels : tuple of int
        Widths of ``conv1..3`` read from it.
    dropped_keys : list of str
        Running-statistics entries ignored.
    tiles : int
        Tiles the image ran in (1: whole).
    """

    weights: str = ""
    channels: tuple[int, ...] = ()
    dropped_keys: list[str] = field(default_factory=list)
    tiles: int = 1


def load_johnson(path: str | Path, device: Any = "cpu") -> tuple[Any, list[str]]:
    """Build a :class:`~imgkit.nets.transformers.JohnsonNet` from checkpoint ``path``.

    Returns
    -------
    net : JohnsonNet
        In eval mode, on ``device``, gradients off.
    dropped : list of str
        Keys that were ignored (running statistics of the instance norms).

    Raises
    ------
    WeightsNotFoundError
        No file at ``path``.
    WeightsFormatError
        Not a state dict of tensors (or it holds anything else ``weights_only`` refuses), or
        its keys or shapes do not match the layout.
    """
    import pickle

    import torch

    from ..nets.transformers import JohnsonNet

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"johnson weights {str(path)!r} not found; pass weights=<checkpoint.pth> "
                                   f"(a fast_neural_style state dict)")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of plain pickles
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, ImportError) as exc:
        raise WeightsFormatError(
            f"cannot read {str(path)!r} as a PyTorch state dict with weights_only=True (tensors only, "
            f"no code): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsFormatError(f"{str(path)!r} does not hold a state dict (name -> tensor); got "
                                 f"{type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    dropped = sorted(k for k in state if _DROP.search(k))
    state = {k: v for k, v in state.items() if k not in dropped}
    try:
        channels = tuple(int(state[f"conv{i}.conv2d.weight"].shape[0]) for i in (1, 2, 3))
    except KeyError:
        raise WeightsFormatError(
            f"{str(path)!r} lacks conv1/2/3.conv2d.weight: not a fast_neural_style TransformerNet "
            f"checkpoint (keys: {sorted(state)[:8]}...)") from None
    net = JohnsonNet(channels)
    want = net.state_dict()
    missing = sorted(set(want) - set(state))
    extra = sorted(set(state) - set(want))
    shapes = [f"{k}: {tuple(state[k].shape)} != {tuple(want[k].shape)}" for k in want
              if k in state and state[k].shape != want[k].shape]
    if missing or extra or shapes:
        raise WeightsFormatError(
            f"{str(path)!r} does not match the fast_neural_style layout: missing {missing[:6]}, "
            f"unexpected {extra[:6]}, wrong shapes {shapes[:4]}")
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval().requires_grad_(False).to(device), dropped


_CACHE: dict[tuple[str, float, int, Any], tuple[Any, list[str]]] = {}


@register(
    "johnson",
    task="stylize",
    family="deep",
    reference="J. Johnson, A. Alahi, L. Fei-Fei, 'Perceptual Losses for Real-Time Style Transfer and "
              "Super-Resolution', ECCV 2016 (PyTorch fast_neural_style checkpoint layout)",
    summary="one feed-forward network per style, loaded from a user's fast_neural_style checkpoint",
    options=_OPTIONS,
    devices=("cpu", "cuda"),
    backend="torch",
    requires=(REQUIRES_TORCH,),
)
def johnson(
    content: np.ndarray,
    styles: list[np.ndarray],
    *,
    ctx: Any,
    weights: str | Path | None,
    strength: float,
    preserve_color: Any,
    tile: int,
    tile_overlap: int,
) -> tuple[np.ndarray, JohnsonInfo]:
    """Stylise ``content`` with a Johnson et al. network (see the module docstring).

    Parameters
    ----------
    content : ndarray, shape (H, W, 3), float32 in [0, 1]
    styles : list of ndarray
        Not used (the style is in the weights).
    ctx : RunContext

    Returns
    -------
    out : ndarray, shape (H, W, 3), float32 in [0, 1]
    info : JohnsonInfo
    """
    if weights is None:
        weights = os.environ.get(ENV_VAR) or None
    if weights is None:  # missing weights, as for lama: benchmarks report the method as skipped
        raise WeightsNotFoundError(
            f"method 'johnson' needs option 'weights': the path of a fast_neural_style checkpoint "
            f"(e.g. weights='mosaic.pth', or set ${ENV_VAR}); none ships with imgkit")
    from .._torch import from_tensor, require_torch, to_tensor, torch_device

    require_torch()
    dev = torch_device(ctx.device)
    path = Path(weights)
    with ctx.timer("setup"):
        stat = path.stat() if path.is_file() else None
        key = (str(path.resolve()), stat.st_mtime if stat else 0.0, stat.st_size if stat else 0, dev)
        if key not in _CACHE:
            _CACHE.clear()  # one checkpoint at a time
            _CACHE[key] = load_johnson(path, dev)
        net, dropped = _CACHE[key]
    widths = tuple(int(getattr(net, f"conv{i}").conv2d.weight.shape[0]) for i in (1, 2, 3))
    info = JohnsonInfo(weights=str(path), dropped_keys=list(dropped), channels=widths)
    x = to_tensor(content, dev) * 255.0
    y = run_tiled_steps(ctx, "johnson", lambda t, stats: net(t, stats), x, tile=tile, overlap=tile_overlap,
                        info=info)
    out = np.clip(from_tensor(y) / 255.0, 0.0, 1.0)
    return finish(out, content, preserve_color, strength), info
