"""LaMa inpainting (Suvorov et al., WACV 2022) from the TorchScript checkpoint the LaMa
ecosystem distributes.

imgkit does not ship or download LaMa's weights. Give the path of ``big-lama.pt`` (the
TorchScript export used by IOPaint / lama-cleaner, about 200 MB) with ``weights=PATH`` or the
environment variable ``IMGKIT_LAMA_WEIGHTS``. It is published at
https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt
(MD5 ``e3aa4aaa15225a33ec84f9f4bc47e500``).

The checkpoint's calling contract (as IOPaint calls it, ``iopaint/model/lama.py`` and
``iopaint/model/base.py``)::

    out = model(image, mask)
    # image: (1, 3, H, W) float32 RGB in [0, 1]
    # mask:  (1, 1, H, W) float32, 1 = hole, 0 = known
    # out:   (1, 3, H, W) float32 RGB in [0, 1] (IOPaint multiplies by 255 and clips)
    # H and W multiples of 8: IOPaint pads the bottom and right with numpy's "symmetric"
    # mode (the edge pixel repeated) and crops the result back

imgkit follows it exactly: same padding, crop, clip to [0, 1] and composite of the known
pixels. A grey image is replicated to three channels and the result turned back to grey
(BT.709 luminance, which returns the grey value for equal channels). Images whose longer side
exceeds ``max_size`` (default 1280, IOPaint's ``hd_strategy_resize_limit``) are reduced
(anti-aliased), inpainted, and the fill is upsampled bilinearly: LaMa was trained at 256² and
generalises to about 2k, but memory and CPU time grow with the area. ``max_size=None``
always runs at full size.

Errors: no path given, or a missing file → :class:`~imgkit.errors.WeightsNotFoundError` (says
which file and where to get it); a file that is not a TorchScript archive (random bytes, a
plain pickle, a ``torch.save`` state dict) or a module that does not follow the contract
above (wrong output shape, fails on the inputs) → :class:`~imgkit.errors.WeightsFormatError`.

References
----------
.. [1] R. Suvorov, E. Logacheva, A. Mashikhin, A. Remizova, A. Ashukha, A. Silvestrov,
   N. Kong, H. Goka, K. Park, V. Lempitsky, "Resolution-robust Large Mask Inpainting with
   Fourier Convolutions", WACV 2022. Code: github.com/advimman/lama.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..context import Info
from ..errors import WeightsFormatError, WeightsNotFoundError
from ..nets._files import cached_load, model_file
from ..registry import REQUIRES_TORCH, Option, register

#: Environment variable naming the checkpoint when ``weights`` is not given.
ENV_VAR = "IMGKIT_LAMA_WEIGHTS"
#: Where the TorchScript checkpoint is published (nothing is downloaded by imgkit).
WEIGHTS_URL = "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt"
#: Height and width of the network input must be multiples of this.
PAD_MOD = 8

_CACHE: dict[tuple[str, int, int, str], Any] = {}


@dataclass(kw_only=True)
class LaMaInfo(Info):
    """What a LaMa run did.

    Attributes
    ----------
    weights : str
        Absolute path of the checkpoint used.
    work_shape : (int, int)
        ``(h, w)`` given to the network before padding; ``scale`` is ``h / H``.
    padded_shape : (int, int)
        ``(h, w)`` after padding to a multiple of 8.
    scale : float
    """

    weights: str = ""
    work_shape: tuple[int, int] = (0, 0)
    padded_shape: tuple[int, int] = (0, 0)
    scale: float = 1.0


def resolve_weights(weights: str | os.PathLike[str] | None) -> Path:
    """The checkpoint path from the option or :data:`ENV_VAR`; raises if it is missing."""
    source = "weights"
    if weights is None:
        env = os.environ.get(ENV_VAR, "").strip()
        if not env:
            raise WeightsNotFoundError(
                f"method 'lama' needs the LaMa TorchScript checkpoint big-lama.pt, and none was "
                f"given: pass weights='/path/to/big-lama.pt' (CLI: --weights PATH) or set the "
                f"environment variable {ENV_VAR}. imgkit downloads nothing; get the file from "
                f"{WEIGHTS_URL}"
            )
        weights, source = env, f"environment variable {ENV_VAR}"
    return model_file(weights, "LaMa checkpoint",
                      f"expected the TorchScript file big-lama.pt, published at {WEIGHTS_URL}", source)


def _first_sentence(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].split(". ")[0] if text else type(exc).__name__


def load_model(path: Path, device: Any) -> Any:
    """Load (and cache, one per file version and device) a TorchScript checkpoint; one model is
    kept in memory (big-lama.pt is about 200 MB)."""
    return cached_load(_CACHE, path, device, _load_torchscript, keep=1)


def _load_torchscript(path: Path, device: Any) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            # PyTorch ≥ 2.10 marks TorchScript deprecated; big-lama.pt is only published as
            # TorchScript, so loading it is the point of this method
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.load", category=DeprecationWarning)
            model = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError/ValueError/... for non-archives
        raise WeightsFormatError(
            f"LaMa checkpoint {str(path)!r} is not a TorchScript archive ({_first_sentence(exc)}); "
            f"expected "
            f"big-lama.pt, the TorchScript export from {WEIGHTS_URL} (a training checkpoint "
            f"or a state dict saved with torch.save will not do)"
        ) from None
    return model.eval()


def pad_to_modulo(x: np.ndarray, mod: int = PAD_MOD) -> np.ndarray:
    """Pad the bottom and right of ``(H, W, ...)`` to multiples of ``mod``, mirroring with the
    edge pixel repeated (numpy ``symmetric``), as IOPaint's ``pad_img_to_modulo``."""
    h, w = x.shape[:2]
    widths = [(0, -h % mod), (0, -w % mod)] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, widths, mode="symmetric")


@register(
    "lama", task="inpaint", family="deep", backend="torch", devices=("cpu", "cuda"),
    requires=(REQUIRES_TORCH,),
    reference="R. Suvorov et al., 'Resolution-robust Large Mask Inpainting with Fourier "
              "Convolutions', WACV 2022 (TorchScript big-lama.pt as used by IOPaint)",
    summary="pretrained Fourier-convolution network; large holes in one pass (needs weights=)",
    options=(
        Option("weights", None, f"path of big-lama.pt (default: ${ENV_VAR})",
               type=(str, os.PathLike), nullable=True, check=os.fspath),
        Option("max_size", 1280, "longest side given to the network; larger images are reduced "
               "and the fill upsampled (None: full size)", type=int, low=8, high=100_000,
               nullable=True),
    ),
)
def lama(image, mask, *, ctx, weights, max_size):
    """LaMa inpainting of ``image`` (H, W, C) where ``mask`` is True.

    References
    ----------
    .. [1] R. Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier
       Convolutions", WACV 2022.
    """
    from .._pyramid import reduce_with_mask, resize
    from .._torch import from_tensor, require_torch, to_tensor, torch_device

    torch = require_torch()
    path = resolve_weights(weights)
    dev = torch_device(ctx.device)
    H, W, C = image.shape
    with ctx.timer("load"):
        model = load_model(path, dev)
    with ctx.timer("prepare"):
        work, hole, scale = reduce_with_mask(image, mask, max_size)
        h, w = hole.shape
        rgb = np.repeat(work, 3, axis=2) if C == 1 else work
        x = pad_to_modulo(np.ascontiguousarray(rgb, np.float32))
        m = pad_to_modulo(hole[:, :, None].astype(np.float32))
        ph, pw = x.shape[:2]
    with ctx.timer("network"), torch.inference_mode():
        try:
            out = model(to_tensor(x, dev), to_tensor(m, dev))
        except Exception as exc:
            raise WeightsFormatError(
                f"the TorchScript module in {str(path)!r} failed on LaMa's inputs (image "
                f"1×3×{ph}×{pw}, mask 1×1×{ph}×{pw}, float32): {type(exc).__name__}: {_first_sentence(exc)}; "
                f"expected LaMa's big-lama.pt ({WEIGHTS_URL})"
            ) from None
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, 3, ph, pw):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise WeightsFormatError(
                f"the TorchScript module in {str(path)!r} returned {got}; LaMa's contract is a "
                f"(1, 3, {ph}, {pw}) image for a (1, 3, {ph}, {pw}) input; expected big-lama.pt "
                f"({WEIGHTS_URL})"
            )
        fill = from_tensor(out.float())[:h, :w]
    fill = np.clip(np.nan_to_num(fill, nan=0.0), 0.0, 1.0)
    if C == 1:
        from .._image import to_gray

        fill = to_gray(fill)
    if scale != 1.0:
        with ctx.timer("upsample"):
            fill = resize(fill, (H, W))
    info = LaMaInfo(weights=str(path), work_shape=(h, w), padded_shape=(ph, pw), scale=float(scale))
    return fill, info
