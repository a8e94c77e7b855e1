"""Nearest-neighbour fields between two images (PatchMatch), and their classic colour picture.

:func:`nnf` is the public door to the PatchMatch engine in :mod:`imgkit.kernels.patchmatch`,
the engine that image completion (``inpaint(..., method="patchmatch")``) and image analogies
build on. :func:`nnf_to_rgb` (defined in :mod:`imgkit._viz`, re-exported here) draws a field the way
optical flow is drawn, for teaching.

>>> import numpy as np, imgkit
>>> from imgkit import data
>>> src = data.photo("astronaut", 64)
>>> tgt = src[5:45, 9:49]                      # a crop: every patch is in the source, shifted
>>> off = imgkit.nnf(tgt, src, patch_size=7, seed=0)
>>> off.shape, off.dtype
((40, 40, 2), dtype('int32'))
>>> bool((off[10:30, 10:30] == (5, 9)).all())
True
>>> imgkit.nnf_to_rgb(off).shape
(40, 40, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_int as _check_int
from ._checks import check_seed as _check_seed
from ._image import as_float_image, as_mask, to_rgb
from ._viz import nnf_to_rgb
from ._xp import get_xp, to_xp
from .device import array_module, resolve_device
from .errors import InvalidImageError, InvalidOptionError, NoSourceError

__all__ = ["nnf", "nnf_to_rgb"]


def nnf(
    target: Any,
    source: Any,
    patch_size: int = 7,
    iterations: int = 5,
    seed: int | None = None,
    device: str = "auto",
    target_mask: Any = None,
    source_mask: Any = None,
    return_distances: bool = False,
) -> Any:
    """PatchMatch nearest-neighbour field from ``target`` patches to ``source`` patches.

    For every target pixel, the offset to the centre of a similar ``patch_size`` × ``patch_size``
    source patch (approximately the most similar: PatchMatch's propagation + random search,
    ``iterations`` times). Patches are compared in RGB by their mean squared difference; target
    patches are clipped at the target border, source patches always lie wholly inside the source
    (see :mod:`imgkit.kernels.patchmatch` for the exact definition).

    Parameters
    ----------
    target, source : array_like, shape (H, W[, C]) and (H', W'[, C'])
        Images as everywhere in imgkit (uint8, uint16 or float in [0, 1]; C in {1, 3, 4});
        an alpha channel is ignored, a grey image is compared with an RGB one as grey-as-RGB.
        ``source`` must be at least ``patch_size`` in both directions.
    patch_size : int
        Odd patch side.
    iterations : int
        PatchMatch iterations (5 is the paper's usual choice).
    seed : int or None
        Seed of the random initialisation and search; ``None`` draws one. The same seed gives
        the same bytes on the same device.
    device : {"auto", "cpu", "cuda"}
        ``"cpu"``: banded parallel Numba kernel; ``"cuda"``: the jump-flood CUDA twin.
    target_mask : array_like of bool, shape (H, W), optional
        Target pixels to solve (True); the others get offset ``(0, 0)`` and distance NaN.
    source_mask : array_like of bool, shape (H', W'), optional
        Source pixels that may be copied from (True). A source patch is used only if all its
        pixels are allowed.
    return_distances : bool
        Also return the patch distance of every entry.

    Returns
    -------
    offsets : ndarray, int32, shape (H, W, 2)
        ``(dy, dx)`` = source centre − target pixel (CuPy when the target is CuPy).
    distances : ndarray, float32, shape (H, W)
        Only with ``return_distances=True``: mean over the patch of the squared RGB difference.

    Raises
    ------
    InvalidImageError
        Bad images; a source smaller than the patch.
    InvalidMaskError
        Masks of the wrong shape or dtype.
    InvalidOptionError
        Bad ``patch_size``, ``iterations``, ``seed``, ``device`` or flags.
    NoSourceError
        ``source_mask`` leaves no whole source patch.
    DeviceUnavailableError
        ``device="cuda"`` without a usable GPU.

    References
    ----------
    .. [1] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
       Correspondence Algorithm for Structural Image Editing", ACM Trans. Graphics (SIGGRAPH)
       28(3), 2009.
    """
    P = _check_int(patch_size, "patch_size", 1, odd=True)
    iterations = _check_int(iterations, "iterations", 0)
    seed = _check_seed(seed)
    if not isinstance(return_distances, (bool, np.bool_)):
        raise InvalidOptionError(f"return_distances must be True or False; got {return_distances!r}")
    t, _, tmeta = as_float_image(target, "target")
    s, _, _ = as_float_image(source, "source")
    if s.shape[0] < P or s.shape[1] < P:
        raise InvalidImageError(
            f"source is {s.shape[0]}×{s.shape[1]}, smaller than patch_size={P}: no whole source "
            f"patch fits; use a larger source or a smaller patch_size"
        )
    if t.shape[2] != s.shape[2]:
        t, s = to_rgb(t), to_rgb(s)
    dev = resolve_device(
        device, devices=("cpu", "cuda"), backend="numba", method="nnf", prefer_gpu=tmeta.on_gpu
    )
    xp = array_module(dev, "numba")
    t, s = to_xp(t, xp), to_xp(s, xp)
    solve = None
    if target_mask is not None:
        solve = to_xp(as_mask(target_mask, t.shape[:2], "target_mask", "target"), xp)
    usable = xp.ones(s.shape[:2], dtype=bool)
    if source_mask is not None:
        usable = to_xp(as_mask(source_mask, s.shape[:2], "source_mask", "source"), xp)

    from .kernels import patchmatch as pm

    valid = pm.valid_centres(usable, P)
    if not bool(valid.any()):
        raise NoSourceError(
            f"source_mask leaves no whole {P}×{P} source patch (need a {P}×{P} block of allowed "
            f"pixels inside the {s.shape[0]}×{s.shape[1]} source); allow more pixels or use a "
            f"smaller patch_size"
        )
    field, dist = pm.patchmatch(
        t, s, P, solve=solve, valid=valid, iterations=iterations, seed=seed, device=dev
    )
    H, W = t.shape[:2]
    offsets = field - xp.stack(xp.meshgrid(xp.arange(H), xp.arange(W), indexing="ij"), axis=-1)
    offsets = offsets.astype(np.int32)
    if solve is not None:
        offsets[~solve] = 0
        dist[~solve] = np.nan
    out_xp = get_xp(target)  # results on the caller's array module
    offsets, dist = to_xp(offsets, out_xp), to_xp(dist, out_xp)
    return (offsets, dist) if return_distances else offsets
