"""Array modules for the kernels' public wrappers (kernels import nothing of imgkit, so this is
the kernels' twin of :mod:`imgkit._xp`).

A wrapper's ``device="cpu"`` runs the Numba CPU kernel on NumPy arrays; ``device="cuda"`` runs
the Numba-CUDA twin on CuPy arrays, or on NumPy arrays under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["check_device", "get_xp", "gpu_xp", "is_cupy", "to_numpy"]


def is_cupy(a: Any) -> bool:
    """True for a CuPy array, without importing CuPy."""
    return type(a).__module__.split(".")[0] == "cupy"


def get_xp(a: Any) -> Any:
    """NumPy or CuPy, whichever ``a`` belongs to (CuPy is imported only for a CuPy array)."""
    if is_cupy(a):
        import cupy

        return cupy
    return np


def to_numpy(a: Any) -> np.ndarray:
    """``a`` as a NumPy array (a CuPy array is copied to the host)."""
    if is_cupy(a):
        return a.get()
    return np.asarray(a)


def gpu_xp() -> Any:
    """The array module of the CUDA twins: CuPy on a real GPU, NumPy under the simulator."""
    if numba.config.ENABLE_CUDASIM:
        return np
    import cupy

    return cupy


def check_device(device: str, *arrays: Any) -> None:
    """``ValueError`` unless ``device`` is "cpu" or "cuda", and for CuPy arrays given to "cpu"."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    if device == "cpu" and any(is_cupy(a) for a in arrays):
        raise ValueError("device='cpu' needs NumPy arrays; use .get() on CuPy arrays or device='cuda'")
