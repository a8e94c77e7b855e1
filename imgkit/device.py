"""Device resolution: where a method runs and which array module (``xp``) it uses.

``device`` is one of ``"auto"``, ``"cpu"`` or ``"cuda"``:

* ``"cpu"`` always works.
* ``"cuda"`` runs on an NVIDIA GPU. Numba kernels need Numba-CUDA, a visible CUDA device and
  CuPy (``pip install 'imgkit[gpu]'``); torch methods need a CUDA build of PyTorch. When that
  is missing, :class:`~imgkit.errors.DeviceUnavailableError` says what is missing; imgkit
  never falls back to the CPU silently.
* ``"auto"`` picks ``"cuda"`` when the method supports it and the GPU is usable, else ``"cpu"``.
  A CuPy input array makes ``"auto"`` prefer the GPU as well.

Testing mode: with ``NUMBA_ENABLE_CUDASIM=1`` (Numba's CUDA simulator), ``device="cuda"`` is
accepted for Numba methods and runs their CUDA kernels in the simulator on NumPy arrays
(``xp = numpy``). ``"auto"`` never picks the simulator: it is far too slow for real work.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

import numpy as np

from .errors import DeviceUnavailableError, InvalidOptionError

__all__ = ["DEVICES", "array_module", "cuda_simulator", "gpu_status", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def cuda_simulator() -> bool:
    """True when Numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@functools.cache
def _numba_gpu() -> tuple[bool, str]:
    if cuda_simulator():
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1): kernels run on the CPU"
    try:
        from numba import cuda
    except Exception as exc:  # pragma: no cover - numba always ships numba.cuda
        return False, f"numba.cuda cannot be imported ({exc}); install 'imgkit[gpu]'"
    try:
        ok = bool(cuda.is_available())
    except Exception as exc:  # pragma: no cover - driver errors
        return False, f"Numba found no usable CUDA driver ({exc})"
    if not ok:
        return False, (
            "Numba found no CUDA GPU (numba.cuda.is_available() is False): no NVIDIA GPU or "
            "driver on this machine; use device='cpu'"
        )
    try:
        import cupy  # noqa: F401
    except Exception as exc:
        return False, f"CuPy cannot be imported ({exc}); install it with pip install 'imgkit[gpu]'"
    return True, "CUDA GPU via Numba-CUDA and CuPy"


@functools.cache
def _torch_gpu() -> tuple[bool, str]:
    try:
        import torch
    except Exception as exc:
        return False, f"PyTorch cannot be imported ({exc}); install 'imgkit[deep]'"
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        return False, (
            f"PyTorch {torch.__version__} ({build}) sees no CUDA GPU "
            f"(torch.cuda.is_available() is False); use device='cpu'"
        )
    return True, f"CUDA GPU via PyTorch ({torch.cuda.get_device_name(0)})"


def gpu_status(backend: str) -> tuple[bool, str]:
    """Whether a GPU is usable for ``backend`` ("numba" or "torch"), and why (not)."""
    if backend == "torch":
        return _torch_gpu()
    if backend == "numba":
        return _numba_gpu()
    return False, f"backend {backend!r} has no GPU implementation"


def resolve_device(
    device: str, *, devices: tuple[str, ...], backend: str, method: str, prefer_gpu: bool = False
) -> str:
    """Turn the ``device`` argument into ``"cpu"`` or ``"cuda"`` for one method.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        What the caller asked for.
    devices : tuple of str
        Devices the method implements.
    backend : str
        ``"numba"`` or ``"torch"`` for methods with a GPU path.
    method : str
        Method name, for messages.
    prefer_gpu : bool
        The input already lives on the GPU (CuPy).
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise InvalidOptionError(
            f"device must be one of {', '.join(map(repr, DEVICES))}; got {device!r}"
        )
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        if "cuda" not in devices:
            raise DeviceUnavailableError(
                f"method {method!r} has no CUDA implementation (it runs on: "
                f"{', '.join(devices)}); use device='cpu' or 'auto'"
            )
        ok, why = gpu_status(backend)
        if not ok:
            raise DeviceUnavailableError(f"device='cuda' requested for {method!r} but {why}")
        return "cuda"
    # auto
    if "cuda" not in devices or (cuda_simulator() and backend == "numba"):
        return "cpu"
    ok, _ = gpu_status(backend)
    if ok and (prefer_gpu or backend in ("numba", "torch")):
        return "cuda"
    return "cpu"


def array_module(device: str, backend: str = "numba") -> ModuleType:
    """The array module (NumPy or CuPy) that array-level code runs on for ``device``."""
    if device == "cuda" and backend == "numba" and not cuda_simulator():
        import cupy

        return cupy
    return np
