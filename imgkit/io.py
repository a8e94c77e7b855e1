"""Reading and writing image files (PNG, JPEG, TIFF, BMP, WebP) through OpenCV.

Channels are RGB(A) in memory, as in scikit-image; files keep OpenCV's BGR(A) order on disk.
Writes are atomic: the image goes to a temporary file in the target folder, which is renamed
over the target only when complete, so no reader ever sees a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._image import as_float_image, restore_image, to_numpy
from .errors import ImageFileError, ImageFileNotFoundError, InvalidOptionError

__all__ = ["atomic_write", "load_image", "load_mask", "save_image"]

_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".ppm", ".pgm")


def _cv2():
    import cv2

    if hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)  # decoding errors are reported by imgkit, not printed by OpenCV
    return cv2


def load_image(path: str | os.PathLike[str], *, as_gray: bool = False) -> np.ndarray:
    """Read an image file.

    Parameters
    ----------
    path : str or path-like
        PNG, JPEG, TIFF, BMP, WebP or PNM file.
    as_gray : bool
        Return a 2-D luminance image (same dtype as the file).

    Returns
    -------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8 or uint16 as stored in the file; colour images are RGB or RGBA.

    Raises
    ------
    ImageFileNotFoundError
        The file does not exist.
    ImageFileError
        The file exists but is not a readable image (wrong format, truncated).
    """
    p = Path(path)
    if not p.exists():
        raise ImageFileNotFoundError(f"image file not found: {str(p)!r}")
    if p.is_dir():
        raise ImageFileError(f"{str(p)!r} is a folder, not an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageFileError(f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    cv2 = _cv2()
    img = None
    if data:
        buf = np.frombuffer(data, dtype=np.uint8)
        try:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            img = None
    if img is None or img.size == 0:
        raise ImageFileError(
            f"{str(p)!r} is not a readable image (empty, truncated or an unsupported format; "
            f"expected one of {', '.join(_EXTS)})"
        )
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype.kind == "f":
            img = np.clip(img, 0, 1).astype(np.float32)
        else:
            raise ImageFileError(f"{str(p)!r} has unsupported pixel type {img.dtype}")
    if img.ndim == 3:
        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    if as_gray and img.ndim == 3:
        f = img[..., :3].astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
        img = np.round(f).astype(img.dtype) if img.dtype.kind == "u" else f.astype(img.dtype)
    return np.ascontiguousarray(img)


def load_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a mask file: any nonzero colour channel marks a hole pixel (alpha ignored).

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
    """
    img = load_image(path)
    if img.ndim == 3:
        colour = img[..., :3] if img.shape[2] >= 3 else img[..., :1]
        return colour.any(axis=2)
    return img != 0


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary file keeps ``path``'s extension so format-sniffing writers work. On any
    error the temporary file is removed and ``path`` is left as it was.
    """
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_image(
    path: str | os.PathLike[str], image: Any, *, bit_depth: int = 8
) -> Path:
    """Write an image file atomically (temporary file + rename).

    Parameters
    ----------
    path : str or path-like
        Target file; the extension picks the format (``.png``, ``.jpg``, ``.tif``, ...).
        The folder must exist.
    image : ndarray, shape (H, W) or (H, W, C), C in {1, 3, 4}
        uint8, uint16 or float in [0, 1] (as accepted by :func:`imgkit.inpaint`).
    bit_depth : {8, 16}
        Bits per channel in the file; 16 needs PNG or TIFF.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = Path(path)
    if bit_depth not in (8, 16):
        raise InvalidOptionError(f"bit_depth must be 8 or 16; got {bit_depth!r}")
    ext = p.suffix.lower()
    if ext not in _EXTS:
        raise ImageFileError(
            f"cannot write {str(p)!r}: unknown image extension {p.suffix!r}; "
            f"use one of {', '.join(_EXTS)}"
        )
    if bit_depth == 16 and ext not in (".png", ".tif", ".tiff"):
        raise InvalidOptionError(f"bit_depth=16 needs a .png or .tif file; got {str(p)!r}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageFileNotFoundError(
            f"cannot write {str(p)!r}: folder {str(folder)!r} does not exist; create it first"
        )
    img, alpha, meta = as_float_image(to_numpy(image), "image")
    arr = to_numpy(restore_image(img, alpha, meta))
    scale = 255.0 if bit_depth == 8 else 65535.0
    arr = np.round(arr * scale).astype(np.uint8 if bit_depth == 8 else np.uint16)
    cv2 = _cv2()
    if arr.ndim == 3:
        if arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
        elif arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
        elif arr.shape[2] == 1:
            arr = arr[:, :, 0]

    def write(tmp: str) -> None:
        try:
            ok = cv2.imwrite(tmp, arr)
        except cv2.error as exc:
            raise ImageFileError(f"cannot write {str(p)!r}: {exc}") from None
        if not ok:
            raise ImageFileError(f"cannot write {str(p)!r}: OpenCV refused the format or path")

    try:
        atomic_write(p, write)
    except PermissionError as exc:
        raise ImageFileError(f"cannot write {str(p)!r}: {exc.strerror}") from None
    return p
