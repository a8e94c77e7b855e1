"""Checks of the arguments every public door shares (seed, flags, callback, integers).

A small leaf module (it imports only :mod:`imgkit.errors`), so that :mod:`imgkit.api`,
:mod:`imgkit.nnf` and the batch runner check arguments the same way without importing one
another.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import InvalidImageError, InvalidOptionError

__all__ = ["check_callback", "check_flag", "check_int", "check_patch_fits", "check_progress", "check_seed"]


def check_seed(seed: Any) -> int:
    """``seed`` as an int; ``None`` draws a fresh 63-bit seed. Raises
    :class:`~imgkit.errors.InvalidOptionError` for anything but None or an integer ≥ 0."""
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidOptionError(f"seed must be None or a non-negative integer; got {seed!r}")
    return int(seed)


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool; only True/False (Python or NumPy) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidOptionError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_progress(value: Any) -> bool | str:
    """``progress`` as True/False, or ``"log"`` (periodic progress lines on stderr)."""
    if isinstance(value, str) and value == "log":
        return "log"
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidOptionError(f"progress must be True, False or 'log'; got {value!r}")
    return bool(value)


def check_callback(callback: Any) -> Callable[[int, int, dict[str, Any]], Any] | None:
    """``callback`` if it is None or callable."""
    if callback is not None and not callable(callback):
        raise InvalidOptionError(
            f"callback must be None or a callable callback(step, total, state); got {callback!r}"
        )
    return callback


def check_int(value: Any, name: str, lo: int, odd: bool = False) -> int:
    """``value`` as an int ≥ ``lo`` (and odd with ``odd=True``); bools are not integers here."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (
        odd and value % 2 == 0
    ):
        kind = "an odd integer" if odd else "an integer"
        raise InvalidOptionError(f"{name} must be {kind} ≥ {lo}; got {value!r}")
    return int(value)


def check_patch_fits(H: int, W: int, patch_size: int, method: str) -> None:
    """:class:`~imgkit.errors.InvalidImageError` unless a whole ``patch_size`` square patch fits in
    an ``H`` × ``W`` image (patch-copying methods: criminisi, patchmatch)."""
    p = int(patch_size)
    if H < p or W < p:
        raise InvalidImageError(
            f"image is {H}×{W}, smaller than the patch (patch_size={p}): {method} copies whole "
            f"{p}×{p} patches; use a smaller patch_size or a larger image"
        )
