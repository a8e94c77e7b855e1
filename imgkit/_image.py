"""Image and mask validation and conversion, done once at the door.

Every public entry point converts its inputs here, so method modules see one layout only:
a float32 array of shape ``(H, W, C)`` with values in [0, 1] (``C`` is 1 or 3; an alpha
channel is split off and passed through untouched) and a boolean ``(H, W)`` hole mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._xp import get_xp, is_cupy, to_numpy
from .errors import InvalidImageError, InvalidMaskError

__all__ = [
    "ImageMeta", "as_float_image", "as_mask", "check_unit_float", "is_cupy", "restore_image", "to_numpy",
]

_FIX_DTYPE = (
    "convert it with skimage.util.img_as_float(image) or image.astype(np.float32) / max_value"
)


@dataclass(frozen=True)
class ImageMeta:
    """What is needed to give an output the input's layout back."""

    shape: tuple[int, ...]
    dtype: np.dtype
    has_alpha: bool
    on_gpu: bool

    @property
    def channels(self) -> int:
        """Channel count of the original image (1 for a 2-D image)."""
        return 1 if len(self.shape) == 2 else self.shape[2]


def _as_array(x: Any, name: str, what: str) -> Any:
    if is_cupy(x):
        return x
    if isinstance(x, (str, bytes)):
        raise InvalidImageError(
            f"{name} must be an array, got a {type(x).__name__} {x!r}; "
            f"to read {what} from a file use imgkit.load_image(path)"
        )
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InvalidImageError(
            f"{name} could not be converted to an array ({exc}); expected an H×W or H×W×C array"
        ) from None


def as_float_image(image: Any, name: str = "image") -> tuple[Any, Any, ImageMeta]:
    """Validate ``image`` and convert it to float32 ``(H, W, C)`` in [0, 1].

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C) with C in {1, 3, 4}
        uint8, uint16 or floating point in [0, 1]. A CuPy array stays on the GPU.
    name : str
        Argument name used in error messages.

    Returns
    -------
    colour : ndarray, shape (H, W, 1) or (H, W, 3), float32
        The image without its alpha channel (same array module as the input).
    alpha : ndarray, shape (H, W), float32, or None
        The alpha channel of an RGBA image, converted to [0, 1].
    meta : ImageMeta
        The input's shape, dtype and device, for :func:`restore_image`.
    """
    arr = _as_array(image, name, "an image")
    dtype = np.dtype(arr.dtype)
    if dtype == np.bool_:
        raise InvalidImageError(
            f"{name} has dtype bool; images must be uint8, uint16 or float in [0, 1] "
            f"(a boolean array is a mask: pass it as `mask`, or use image.astype(np.float32))"
        )
    if dtype.kind not in "uif":
        raise InvalidImageError(
            f"{name} has dtype {dtype}; images must be uint8, uint16 or float in [0, 1]"
        )
    if dtype.kind == "i" or (dtype.kind == "u" and dtype not in (np.uint8, np.uint16)):
        raise InvalidImageError(
            f"{name} has dtype {dtype}; integer images must be uint8 or uint16 "
            f"(or float in [0, 1]); {_FIX_DTYPE}"
        )
    if arr.size == 0:
        raise InvalidImageError(
            f"{name} is empty (shape {tuple(arr.shape)}); expected an H×W or H×W×C array "
            f"with H, W ≥ 1"
        )
    if arr.ndim not in (2, 3):
        hint = ""
        if arr.ndim == 4:
            hint = "; imgkit takes one image per call: loop over the batch or use imgkit.batch"
        raise InvalidImageError(
            f"{name} has {arr.ndim} dimensions (shape {tuple(arr.shape)}); expected a 2-D H×W "
            f"(grey) or 3-D H×W×C array with C in {{1, 3, 4}}{hint}"
        )
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        hint = ""
        if arr.shape[0] in (1, 3, 4):
            hint = "; for a channels-first array use np.moveaxis(image, 0, -1)"
        raise InvalidImageError(
            f"{name} has {arr.shape[2]} channels (shape {tuple(arr.shape)}); expected channels "
            f"last with C in {{1, 3, 4}} (grey, RGB, RGBA){hint}"
        )
    xp = get_xp(arr)
    if dtype.kind == "f":
        check_unit_float(arr, name, InvalidImageError,
                         "replace NaN with np.nan_to_num(image), rescale (image / 255 for 0–255 data) "
                         "or np.clip(image, 0, 1)")
        out = arr.astype(np.float32, copy=True)
    else:
        out = arr.astype(np.float32)
        xp.divide(out, np.float32(np.iinfo(dtype).max), out=out)  # in place: big photos
    if out.ndim == 2:
        out = out[:, :, None]
    alpha = None
    has_alpha = out.shape[2] == 4
    if has_alpha:
        alpha = out[:, :, 3].copy()
        out = out[:, :, :3].copy()
    meta = ImageMeta(shape=tuple(arr.shape), dtype=dtype, has_alpha=has_alpha, on_gpu=is_cupy(arr))
    return out, alpha, meta


def as_mask(mask: Any, shape: tuple[int, int], name: str = "mask", image_name: str = "image") -> Any:
    """Validate ``mask`` and return it as a boolean ``(H, W)`` array (True = hole).

    Parameters
    ----------
    mask : array_like, shape (H, W)
        bool or numeric; nonzero marks a hole pixel. An ``(H, W, 1)`` array is accepted.
    shape : tuple of int
        ``(H, W)`` of the image the mask belongs to.
    """
    arr = _as_array(mask, name, "a mask")
    dtype = np.dtype(arr.dtype)
    if dtype.kind not in "biuf":
        raise InvalidMaskError(
            f"{name} has dtype {dtype}; masks must be bool or numeric (nonzero = hole)"
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 3:
            hint = "; for a colour mask image use mask.any(axis=-1)"
        raise InvalidMaskError(
            f"{name} has shape {tuple(arr.shape)}; expected a 2-D H×W array matching "
            f"{image_name} (H, W) = {tuple(shape)}{hint}"
        )
    if tuple(arr.shape) != tuple(shape):
        raise InvalidMaskError(
            f"{name} shape {tuple(arr.shape)} does not match {image_name} shape "
            f"(H, W) = {tuple(shape)}; the mask must have the image's height and width"
        )
    xp = get_xp(arr)
    if dtype.kind == "f" and not bool(xp.isfinite(arr).all()):
        raise InvalidMaskError(f"{name} contains NaN or infinite values; use 0 (known) and 1 (hole)")
    return arr != 0


def restore_image(out: Any, alpha: Any, meta: ImageMeta, *, clip: bool = True) -> Any:
    """Give a float32 ``(H, W, C)`` result the layout of the original image.

    Values are clipped to [0, 1] (``clip=False``: the caller guarantees it, and a float32
    ``out`` may be returned as is, without a copy), the alpha channel is put back, a 2-D input
    gives a 2-D output and a CuPy input gives a CuPy output.
    """
    xp = get_xp(out)
    out = (xp.clip(out, 0.0, 1.0) if clip else out).astype(np.float32, copy=False)
    channels = meta.channels - (1 if meta.has_alpha else 0)
    if out.shape[2] != channels:
        out = _match_channels(out, channels)
    if meta.has_alpha:
        out = xp.concatenate([out, xp.asarray(alpha)[:, :, None]], axis=2)
    if len(meta.shape) == 2:
        out = out[:, :, 0]
    out = xp.ascontiguousarray(out)
    if meta.on_gpu and not is_cupy(out):
        import cupy

        out = cupy.asarray(out)
    elif not meta.on_gpu and is_cupy(out):
        out = to_numpy(out)
    return out


def check_unit_float(arr: Any, what: str, error: type[Exception], fix: str) -> None:
    """Raise ``error`` (naming ``what``, ending with the hint ``fix``) unless the float array
    ``arr`` (NumPy or CuPy) is finite with every value in [0, 1]: imgkit's float images."""
    xp = get_xp(arr)
    finite = xp.isfinite(arr)
    if not bool(finite.all()):
        bad = int(arr.size - int(finite.sum()))
        raise error(f"{what} contains {bad} NaN or infinite value(s); float images must be finite "
                    f"values in [0, 1]: {fix}")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise error(f"{what} is a float image with values in [{lo:g}, {hi:g}]; float images must lie "
                    f"in [0, 1]: {fix}")


_LUMA = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, as skimage.color.rgb2gray


def _match_channels(img: Any, channels: int) -> Any:
    xp = get_xp(img)
    if channels == img.shape[2]:
        return img
    if channels == 1:
        w = xp.asarray(_LUMA, dtype=np.float32)
        return (img @ w)[:, :, None].astype(np.float32)
    if img.shape[2] == 1:
        return xp.repeat(img, channels, axis=2)
    raise InvalidImageError(f"cannot convert a {img.shape[2]}-channel image to {channels} channels")


def to_rgb(img: Any) -> Any:
    """(H, W, 1) or (H, W, 3) float image → (H, W, 3)."""
    return _match_channels(img, 3)


def to_gray(img: Any) -> Any:
    """(H, W, 3) float image → (H, W, 1) luminance (BT.709 weights, as scikit-image)."""
    return _match_channels(img, 1)
