"""Run the shipped (or a user's) context-encoder inpainting network on one image: the shared
piece behind ``method="context_encoder"`` and PatchMatch's ``init="network"``.

Region: with ``region="auto"`` the network sees the hole's bounding box plus a margin of
``max(64, the box's longer side)`` pixels on each side (clipped to the image), so a small hole
in a large photo costs what its crop costs; ``"full"`` runs on the whole image. A region whose
longer side exceeds ``max_size`` is reduced (anti-aliased) and the fill upsampled bilinearly:
the network was trained on scenes of 128–512 px. Known pixels are kept exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..context import Info
from ..errors import WeightsNotFoundError
from ._files import cached_load, model_file

__all__ = ["DEFAULT_WEIGHTS", "ContextEncoderInfo", "network_fill", "resolve_weights"]

#: The shipped model file (package data).
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "models" / "context_encoder.pt"

_CACHE: dict[tuple[str, int, int, str], Any] = {}


@dataclass(kw_only=True)
class ContextEncoderInfo(Info):
    """What a context-encoder run did.

    Attributes
    ----------
    weights : str
        Absolute path of the model file used.
    region : (int, int, int, int)
        ``(top, left, bottom, right)`` of the part of the image the network saw.
    work_shape : (int, int)
        ``(h, w)`` given to the network (after any reduction by ``max_size``).
    scale : float
        ``work height / region height``.
    """

    weights: str = ""
    region: tuple[int, int, int, int] = (0, 0, 0, 0)
    work_shape: tuple[int, int] = (0, 0)
    scale: float = 1.0


def resolve_weights(weights: str | os.PathLike[str] | None) -> Path:
    """The model file: ``weights`` or the shipped :data:`DEFAULT_WEIGHTS`; raises if missing."""
    if weights is None:
        if not DEFAULT_WEIGHTS.is_file():
            raise WeightsNotFoundError(
                f"the shipped context-encoder model {str(DEFAULT_WEIGHTS)!r} is missing from this "
                f"installation (package data not installed?); reinstall imgkit, or pass "
                f"weights='model.pt' from `imgkit train inpaint --photos DIR -o model.pt`"
            )
        return DEFAULT_WEIGHTS
    return model_file(weights, "weights: context-encoder model",
                      "expected a model file written by `imgkit train inpaint ... -o model.pt` (or leave "
                      "weights unset for the shipped one)")


def _load(path: Path, device: Any) -> Any:
    from .inpaint_net import load_model

    return cached_load(_CACHE, path, device, load_model, keep=4)


def _region(hole: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(hole)
    t, b, l, r = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    m = max(64, b - t, r - l)
    H, W = hole.shape
    return max(0, t - m), max(0, l - m), min(H, b + m), min(W, r + m)


def network_fill(
    image: np.ndarray, hole: np.ndarray, *, weights: str | os.PathLike[str] | None = None,
    device: str = "cpu", region: str = "auto", max_size: int | None = 1024, ctx: Any = None,
) -> tuple[np.ndarray, ContextEncoderInfo]:
    """The network's fill of ``image`` (H, W, C), C in {1, 3}, float32; known pixels kept exactly.

    Shared by :func:`context_encoder` and by PatchMatch's ``init="network"``.
    """
    from contextlib import nullcontext

    from .._image import to_gray
    from .._pyramid import reduce_with_mask, resize
    from .._torch import require_torch, torch_device

    torch = require_torch()
    timer = ctx.timer if ctx is not None else (lambda name: nullcontext())
    path = resolve_weights(weights)
    dev = torch_device(device)
    image = np.asarray(image, np.float32)
    H, W, C = image.shape
    with timer("load"):
        net = _load(path, dev)
    t, l, b, r = _region(hole) if region == "auto" else (0, 0, H, W)
    sub, sub_hole = image[t:b, l:r], hole[t:b, l:r]
    with timer("prepare"):
        work, work_hole, scale = reduce_with_mask(sub, sub_hole, max_size)
        rgb = np.repeat(work, 3, axis=2) if C == 1 else work
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(dev)
        m = torch.from_numpy(np.ascontiguousarray(work_hole, np.float32))[None, None].to(dev)
    with timer("network"), torch.inference_mode():
        y = net(x, m)[0].permute(1, 2, 0).float().cpu().numpy()
    if C == 1:
        y = to_gray(y)
        y = y[:, :, None] if y.ndim == 2 else y
    if scale != 1.0:
        with timer("upsample"):
            y = resize(y, sub_hole.shape)
            y = y[:, :, None] if y.ndim == 2 else y
    out = image.copy()
    h3 = sub_hole[:, :, None]
    out[t:b, l:r] = np.where(h3, np.clip(y, 0.0, 1.0), sub)
    info = ContextEncoderInfo(weights=str(path), region=(t, l, b, r), work_shape=work_hole.shape,
                              scale=float(scale))
    return out, info
