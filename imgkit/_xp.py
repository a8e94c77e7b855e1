"""Which array module an array belongs to, and moving arrays between them (NumPy ↔ CuPy).

The one place imgkit asks "is this a CuPy array?" (the kernels have their own twin,
:mod:`imgkit.kernels._xp`, since kernels import nothing of imgkit). CuPy is imported only
when a CuPy array is met or asked for. The array module that a *device* runs on is
:func:`imgkit.device.array_module`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["get_xp", "is_cupy", "to_numpy", "to_xp"]


def is_cupy(x: Any) -> bool:
    """True for a CuPy array, without importing CuPy."""
    return type(x).__module__.split(".")[0] == "cupy"


def get_xp(x: Any) -> Any:
    """NumPy or CuPy, whichever ``x`` belongs to (NumPy for anything that is not CuPy)."""
    if is_cupy(x):
        import cupy

        return cupy
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a NumPy array (copying a CuPy array to the host)."""
    if is_cupy(x):
        return x.get()
    return np.asarray(x)


def to_xp(x: Any, xp: Any) -> Any:
    """``x`` as an array of module ``xp``: NumPy (a CuPy array is copied to the host) or CuPy."""
    if xp is np:
        return to_numpy(x)
    return xp.asarray(x)
