"""Small PyTorch helpers shared by the deep methods (imported only when one runs).

Arrays cross here: NumPy (or CuPy) ``(H, W, C)`` float32 ↔ torch ``(1, C, H, W)`` float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._xp import is_cupy

__all__ = ["deterministic", "torch_device", "to_tensor", "from_tensor", "generator", "require_torch",
           "resize_tensor"]


def require_torch():
    """Import torch or raise :class:`~imgkit.errors.MissingDependencyError` with the fix."""
    try:
        import torch
    except ImportError as exc:
        from .errors import MissingDependencyError

        raise MissingDependencyError(
            f"this method needs PyTorch ({exc}); install it with pip install torch==2.13.0 "
            f"(CPU) and then pip install 'imgkit[deep]'"
        ) from None
    return torch


def torch_device(device: Any, method: str = "PyTorch code") -> Any:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device`` → ``torch.device``.

    A string is resolved as every ``device`` argument of imgkit is
    (:func:`imgkit.device.resolve_device` with the torch backend): another string raises
    :class:`~imgkit.errors.InvalidOptionError`, ``"cuda"`` without a usable GPU
    :class:`~imgkit.errors.DeviceUnavailableError`, naming ``method`` and the reason.
    A CUDA device gets an explicit index (the current device), so equal devices are equal
    cache keys.
    """
    torch = require_torch()
    if isinstance(device, str):
        from .device import resolve_device

        device = resolve_device(device, devices=("cpu", "cuda"), backend="torch", method=method)
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def to_tensor(img: Any, device: Any) -> Any:
    """``(H, W, C)`` NumPy/CuPy float array → ``(1, C, H, W)`` float32 tensor on ``device``."""
    torch = require_torch()
    if is_cupy(img):
        t = torch.from_dlpack(img.astype(np.float32))
    else:
        t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
    return t.permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def from_tensor(t: Any, xp: Any = np) -> Any:
    """``(1, C, H, W)`` tensor → ``(H, W, C)`` float32 array of module ``xp``."""
    t = t.detach()[0].permute(1, 2, 0).contiguous().float()
    if xp is np:
        return t.cpu().numpy()
    return xp.from_dlpack(t)


def generator(seed: int, device: Any) -> Any:
    """A seeded ``torch.Generator`` on ``device`` (every random draw of a run goes through it)."""
    torch = require_torch()
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) % (2**63))
    return g


@contextmanager
def deterministic(device: Any) -> Iterator[None]:
    """Run a block with reproducible kernels on ``device``, restoring the global flags after.

    On the CPU this switches on ``torch.use_deterministic_algorithms`` (an op without a
    deterministic CPU kernel then raises instead of drifting). On CUDA it asks cuDNN for
    deterministic, non-benchmarked convolutions; a few CUDA backward kernels (reflection
    padding, nearest upsampling) still use atomics, so GPU runs may differ in the last bits.
    """
    torch = require_torch()
    cudnn = torch.backends.cudnn
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             cudnn.deterministic, cudnn.benchmark)
    try:
        if torch.device(device).type == "cpu":
            torch.use_deterministic_algorithms(True)
        else:
            cudnn.deterministic, cudnn.benchmark = True, False
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        cudnn.deterministic, cudnn.benchmark = saved[2], saved[3]


def resize_tensor(t: Any, size: tuple[int, int]) -> Any:
    """Bilinear resize of a ``(B, C, H, W)`` tensor to ``size`` = (H', W').

    Pixel centres are aligned (``align_corners=False``, as :func:`imgkit._pyramid.resize`);
    when shrinking, the filter is widened to the output pixel spacing (``antialias=True``)
    so that large reductions average instead of aliasing.
    """
    import torch.nn.functional as F

    size = (int(size[0]), int(size[1]))
    if tuple(t.shape[-2:]) == size:
        return t
    shrink = size[0] < t.shape[-2] or size[1] < t.shape[-1]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrink)
