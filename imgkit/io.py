"""Reading and writing image files (PNG, JPEG, TIFF, BMP, WebP, PNM).

Channels are RGB(A) in memory, as in scikit-image; files keep OpenCV's BGR(A) order on disk.

Reading (:func:`load_image`)
    * The header is read first (Pillow): a file that declares more than :data:`MAX_IMAGE_PIXELS`
      pixels is refused *before* any pixel is decoded (a decompression-bomb guard, like
      Pillow's; ``max_pixels=`` or the ``IMGKIT_MAX_IMAGE_PIXELS`` environment variable change it).
    * The EXIF orientation (tag 274, values 1–8, as written by phones and cameras) is applied,
      so the array is the picture as a viewer shows it, and a mask drawn on that picture fits.
    * ``with_metadata=True`` also returns an :class:`ImageMetadata`: format, bit depth, EXIF
      (with its orientation reset to 1, because the pixels are now upright) and ICC profile.
    * Float TIFFs must hold values in [0, 1] (like float arrays given to the API); a float
      file with other values is refused rather than clipped.

Writing (:func:`save_image`)
    * Atomic: the image is encoded in memory and written to a temporary file in the target
      folder, which is renamed over the target only when complete, so no reader ever sees a
      half-written file and a failed write leaves no file.
    * New files get the usual permissions (``0o666`` minus the umask); a replaced file keeps
      its mode.
    * ``metadata=`` (from :func:`load_image`) writes the EXIF block and ICC profile into JPEG
      and PNG outputs (the formats that carry them in a standard way); other formats get the
      pixels only.
    * File names may hold any bytes the OS allows (e.g. Latin-1 names on a UTF-8 system: Python
      passes them as surrogate escapes): OpenCV only encodes to memory, Python writes the file.

:func:`check_output` runs the output checks of :func:`save_image` (extension, bit depth,
folder, existing file) without writing, so that callers can refuse a bad output path *before*
a long computation.
"""

from __future__ import annotations

import os
import secrets
import stat
import struct
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ._image import as_float_image, check_unit_float, restore_image, to_numpy
from ._metadata import (
    ImageMetadata,
    apply_orientation,
    exif_for_new_pixels,
    jpeg_with_metadata,
    png_with_metadata,
)
from .errors import (
    ImageFileError,
    ImageFileNotFoundError,
    ImageTooLargeError,
    InvalidOptionError,
    MaskWarning,
)

__all__ = [
    "MAX_IMAGE_PIXELS",
    "ImageMetadata",
    "atomic_write",
    "check_output",
    "display_path",
    "load_image",
    "load_mask",
    "save_image",
]

_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".ppm", ".pgm")
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
            ".bmp": "BMP", ".webp": "WEBP", ".ppm": "PPM", ".pgm": "PPM"}
_META_FORMATS = ("JPEG", "PNG")  # formats save_image writes EXIF and ICC into

#: Default largest decoded size, in pixels (width × height), that :func:`load_image` accepts:
#: Pillow's decompression-bomb error threshold (about 179 megapixels, e.g. 16 000 × 11 000).
#: Set ``IMGKIT_MAX_IMAGE_PIXELS`` (``0`` = no limit) or assign this attribute to change it.
MAX_IMAGE_PIXELS: int = int(os.environ.get("IMGKIT_MAX_IMAGE_PIXELS", "178956970"))

#: JPEG quality of written files (OpenCV's default).
JPEG_QUALITY = 95



def _cv2():
    import cv2

    if hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)  # decoding errors are reported by imgkit, not printed by OpenCV
    return cv2


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text: bytes that are not UTF-8 (surrogate escapes) become ``\\xNN``."""
    s = os.fspath(path)
    if isinstance(s, bytes):
        s = os.fsdecode(s)
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _q(path: Path | str) -> str:
    return repr(display_path(path))


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------


_PIL_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "PPM")


def _pil_open(data: bytes) -> Any:
    """Pillow's header parser for the formats imgkit reads, or None.

    The plugin's factory is called directly: :func:`PIL.Image.open` would apply Pillow's own
    size guard first, and imgkit applies its own (configurable) limit with the real size.
    """
    import io

    from PIL import Image

    Image.preinit()
    prefix = data[:16]
    for fmt in _PIL_FORMATS:
        if fmt not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[fmt]
        ok = not accept or accept(prefix)
        if not ok or isinstance(ok, str):
            continue
        try:
            return factory(io.BytesIO(data), "")
        except (SyntaxError, IndexError, TypeError, ValueError, OSError, struct.error):
            continue
    return None


def _header(data: bytes, p: Path, max_pixels: int) -> ImageMetadata | None:
    """Size check and metadata from the header alone (Pillow decodes no pixels here).

    None when Pillow does not know the file (OpenCV may still decode it).
    """
    im = _pil_open(data)
    if im is None:
        return None
    with im:
        w, h = im.size
        if max_pixels and w * h > max_pixels:
            raise ImageTooLargeError(
                f"{_q(p)} declares {w}x{h} = {w * h} pixels, over the limit of {max_pixels} "
                f"(a decompression-bomb guard, checked before decoding); if the file is trusted, "
                f"raise the limit (load_image(..., max_pixels=N), imgkit.io.MAX_IMAGE_PIXELS or "
                f"IMGKIT_MAX_IMAGE_PIXELS; 0 = no limit)"
            )
        fmt = im.format or ""
        icc = im.info.get("icc_profile") or None
        exif = None
        orientation = 1
        raw = im.info.get("exif") if fmt != "TIFF" else None  # a TIFF's tags are its own IFD
        if isinstance(raw, bytes) and raw:
            if raw.startswith(b"Exif\x00\x00"):
                raw = raw[6:]
            orientation, exif = exif_for_new_pixels(raw, set_to=1)
    return ImageMetadata(format=fmt, orientation=orientation, exif=exif, icc_profile=icc)


def _check_float(img: np.ndarray, p: Path) -> np.ndarray:
    check_unit_float(img, _q(p), ImageFileError,
                     "rescale it (e.g. divide 0-255 data by 255) or save it as 8- or 16-bit integers")
    return img.astype(np.float32, copy=False)


def load_image(
    path: str | os.PathLike[str],
    *,
    as_gray: bool = False,
    max_pixels: int | None = None,
    with_metadata: bool = False,
) -> Any:
    """Read an image file, upright (EXIF orientation applied).

    Parameters
    ----------
    path : str or path-like
        PNG, JPEG, TIFF, BMP, WebP or PNM file. Any file name the OS allows.
    as_gray : bool
        Return a 2-D luminance image (same dtype as the file).
    max_pixels : int, optional
        Refuse files declaring more pixels (width × height) than this, before decoding;
        default :data:`MAX_IMAGE_PIXELS`; ``0`` disables the check.
    with_metadata : bool
        Also return the file's :class:`ImageMetadata` (format, EXIF, ICC profile).

    Returns
    -------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8 or uint16 as stored in the file (float32 in [0, 1] for float TIFFs); colour
        images are RGB or RGBA.
    metadata : ImageMetadata
        Only with ``with_metadata=True``.

    Raises
    ------
    ImageFileNotFoundError
        The file does not exist.
    ImageTooLargeError
        The file declares more than ``max_pixels`` pixels.
    ImageFileError
        The file exists but is not a readable image (wrong format, truncated), or holds float
        values outside [0, 1].
    """
    p = Path(path)
    if max_pixels is None:
        max_pixels = MAX_IMAGE_PIXELS
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 0:
        raise InvalidOptionError(f"max_pixels must be None or an integer ≥ 0; got {max_pixels!r}")
    if not p.exists():
        raise ImageFileNotFoundError(f"image file not found: {_q(p)}")
    if p.is_dir():
        raise ImageFileError(f"{_q(p)} is a folder, not an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageFileError(f"cannot read {_q(p)}: {exc.strerror or exc}") from None
    meta = _header(data, p, int(max_pixels)) if data else None
    cv2 = _cv2()
    img = None
    if data:
        buf = np.frombuffer(data, dtype=np.uint8)
        del data
        try:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            img = None
    if img is None or img.size == 0:
        raise ImageFileError(
            f"{_q(p)} is not a readable image (empty, truncated or an unsupported format; "
            f"expected one of {', '.join(_EXTS)})"
        )
    if max_pixels and img.shape[0] * img.shape[1] > max_pixels:  # a format Pillow did not know
        raise ImageTooLargeError(
            f"{_q(p)} is {img.shape[1]}x{img.shape[0]} pixels, over the limit of {max_pixels}; "
            f"raise it with load_image(..., max_pixels=N) if the file is trusted"
        )
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype.kind == "f":
            img = _check_float(img, p)
        else:
            raise ImageFileError(f"{_q(p)} has unsupported pixel type {img.dtype}")
    if img.ndim == 3:
        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    if meta is None:
        meta = ImageMetadata(format=_FORMATS.get(p.suffix.lower(), ""))
    if meta.orientation != 1:
        img = apply_orientation(img, meta.orientation)
    meta = replace(meta, bit_depth=img.dtype.itemsize * 8)
    if as_gray and img.ndim == 3:
        f = img[..., :3].astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
        img = np.round(f).astype(img.dtype) if img.dtype.kind == "u" else f.astype(img.dtype)
    img = np.ascontiguousarray(img)
    return (img, meta) if with_metadata else img


def load_mask(
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    invert: bool = False,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read a mask file: a pixel is a hole where any colour channel is above the threshold.

    Alpha is ignored. Suspicious masks give a :class:`~imgkit.errors.MaskWarning` (one line):
    an empty mask, a mask covering more than 60 % of the image (an inverted mask?), and a mask
    with many grey levels between black and white (JPEG compression noise grows the hole:
    save masks as PNG, or pass a threshold).

    Parameters
    ----------
    path : str or path-like
        Mask image file, same size as its image.
    threshold : float in [0, 1), optional
        A pixel is a hole where its value exceeds ``threshold`` × the format's maximum (255 for
        8-bit files). Default: any nonzero value (threshold 0).
    invert : bool
        Swap hole and known pixels (for masks painted black on white).
    max_pixels : int, optional
        As in :func:`load_image`.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
    """
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0.0 <= threshold < 1.0):
        raise InvalidOptionError(f"mask threshold must be a number in [0, 1); got {threshold!r}")
    img = load_image(path, max_pixels=max_pixels)
    if img.ndim == 3:
        img = img[..., :3] if img.shape[2] >= 3 else img[..., :1]
        level = img.max(axis=2)
    else:
        level = img
    top = 1.0 if level.dtype.kind == "f" else float(np.iinfo(level.dtype).max)
    mask = level > (threshold or 0.0) * top
    if invert:
        mask = ~mask
    for msg in _mask_warnings(level, mask, top, threshold, invert):
        warnings.warn(f"mask {_q(path)}: {msg}", MaskWarning, stacklevel=2)
    return mask


def _mask_warnings(level: np.ndarray, mask: np.ndarray, top: float, threshold: float | None,
                   invert: bool) -> list[str]:
    out = []
    frac = float(mask.mean())
    if frac == 0.0:
        out.append("it marks no pixel as hole, so the output is a copy of the input")
    elif frac > 0.6:
        out.append(f"it marks {frac:.0%} of the image as hole (more than 60 %); if the hole is "
                   f"painted black on white, invert it (--invert-mask / invert=True)")
    if threshold is None:
        # Grey levels strictly between black and white on more than a sliver of the pixels:
        # a JPEG-compressed (or anti-aliased) mask, where every faint pixel counts as hole.
        grey = (level > 0) & (level < top)
        n_grey = int(grey.sum())
        if n_grey > max(16, 0.002 * level.size):
            out.append(f"{n_grey} pixels ({n_grey / level.size:.1%}) are grey, neither black nor "
                       f"white (a JPEG-saved mask?); every nonzero pixel counts as hole, which grows "
                       f"it: save masks as PNG or pass a threshold (--mask-threshold 0.5)")
    return out


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _probe_writable(folder: Path) -> str | None:
    """None if a file can be created in ``folder``; else the reason (works for root too)."""
    name = folder / f".imgkit-probe-{secrets.token_hex(6)}"
    try:
        fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None


def check_output(
    path: str | os.PathLike[str], *, bit_depth: int = 8, overwrite: bool = True, probe: bool = True
) -> Path:
    """Check that :func:`save_image` can write ``path``, without writing it.

    Checks the extension (a known image format), the bit depth (16 needs PNG or TIFF), that the
    folder exists and accepts new files, that ``path`` is not a folder, and, with
    ``overwrite=False``, that it does not exist yet. With ``probe`` (default), a file is
    created and removed in the folder to be sure it accepts new files (permissions, read-only
    file systems, quotas), which no metadata check can tell for every user, root included.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ImageFileError, ImageFileNotFoundError, InvalidOptionError
        What is wrong, naming the path.
    """
    p = Path(path)
    if isinstance(bit_depth, bool) or bit_depth not in (8, 16):
        raise InvalidOptionError(f"bit_depth must be 8 or 16; got {bit_depth!r}")
    ext = p.suffix.lower()
    if ext not in _EXTS:
        raise ImageFileError(
            f"cannot write {_q(p)}: unknown image extension {p.suffix!r}; "
            f"use one of {', '.join(_EXTS)}"
        )
    if bit_depth == 16 and ext not in (".png", ".tif", ".tiff"):
        raise InvalidOptionError(f"bit_depth=16 needs a .png or .tif file; got {_q(p)}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageFileNotFoundError(
            f"cannot write {_q(p)}: folder {_q(folder)} does not exist; create it first"
        )
    if p.is_dir():
        raise ImageFileError(f"cannot write {_q(p)}: it is a folder")
    if p.exists() and not overwrite:
        raise ImageFileError(f"output {_q(p)} already exists; pass --overwrite to replace it")
    why = _probe_writable(folder) if probe else None
    if why is not None:
        raise ImageFileError(f"cannot write {_q(p)}: folder {_q(folder)} does not accept new files ({why})")
    return p


def atomic_write(path: Path, write: Any, *, before_replace: Any = None) -> None:
    """Create a temporary file beside ``path``, call ``write(fd)`` on it, rename it over ``path``.

    The temporary file is created with mode ``0o666`` minus the umask (as ``open()`` would), or
    with the mode of the file it replaces. ``before_replace()``, if given, runs just before the
    rename; raising there aborts the write. On any error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        keep_mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        keep_mode = None
    for _ in range(100):
        tmp = folder / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise ImageFileError(f"cannot create a temporary file beside {_q(path)}")
    try:
        try:
            write(fd)
            if keep_mode is not None:
                os.fchmod(fd, keep_mode)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _encode(arr: np.ndarray, ext: str, p: Path) -> bytes:
    cv2 = _cv2()
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    try:
        ok, buf = cv2.imencode(ext, arr, params)
    except cv2.error as exc:
        raise ImageFileError(f"cannot write {_q(p)}: {exc}") from None
    if not ok:
        raise ImageFileError(f"cannot write {_q(p)}: OpenCV refused the format")
    return buf.tobytes()


def _plain_float(arr: np.ndarray) -> bool:
    """A float32 (H, W) or (H, W, C) array with C in {1, 3, 4} (OpenCV can take it directly)."""
    return (arr.dtype == np.float32 and arr.size > 0 and
            (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))))


def save_image(
    path: str | os.PathLike[str],
    image: Any,
    *,
    bit_depth: int = 8,
    metadata: ImageMetadata | None = None,
    before_replace: Any = None,
) -> Path:
    """Write an image file atomically (encode in memory, temporary file, rename).

    Parameters
    ----------
    path : str or path-like
        Target file; the extension picks the format (``.png``, ``.jpg``, ``.tif``, ...).
        The folder must exist. Any file name the OS allows.
    image : ndarray, shape (H, W) or (H, W, C), C in {1, 3, 4}
        uint8, uint16 or float in [0, 1] (as accepted by :func:`imgkit.inpaint`).
    bit_depth : {8, 16}
        Bits per channel in the file; 16 needs PNG or TIFF.
    metadata : ImageMetadata, optional
        EXIF and ICC profile to embed (from ``load_image(..., with_metadata=True)``); written
        into JPEG and PNG files, ignored for other formats.
    before_replace : callable, optional
        Called just before the temporary file is renamed over ``path``; raising there aborts
        the write and leaves no file (the batch runner uses it to honour a stop request).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = check_output(path, bit_depth=bit_depth, probe=False)  # the write itself says if it cannot
    ext = p.suffix.lower()
    arr = to_numpy(image)
    if bit_depth == 8 and arr.dtype == np.uint8:
        arr = np.ascontiguousarray(arr)
    elif _plain_float(arr):
        # a float32 result in [0, 1] (what imgkit returns): one pass each to check and to convert,
        # no float copies of a big photo (as_float_image + restore_image would make two)
        lo, hi = float(arr.min()), float(arr.max())  # NaN propagates; ±inf falls outside
        if not (0.0 <= lo and hi <= 1.0):
            as_float_image(arr, "image")  # raises the usual message (NaN, inf, range)
        if bit_depth == 8:
            arr = _cv2().convertScaleAbs(np.ascontiguousarray(arr), alpha=255.0)  # rounds half to even
        else:
            arr = np.rint(arr * np.float32(65535.0)).astype(np.uint16)
    else:
        img, alpha, meta = as_float_image(arr, "image")
        arr = to_numpy(restore_image(img, alpha, meta))
        del img, alpha
        arr *= 255.0 if bit_depth == 8 else 65535.0
        np.round(arr, out=arr)
        arr = arr.astype(np.uint8 if bit_depth == 8 else np.uint16)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        as_float_image(arr, "image")  # raises the usual message
    cv2 = _cv2()
    if arr.ndim == 3:
        if arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
        elif arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
        elif arr.shape[2] == 1:
            arr = arr[:, :, 0]
    data = _encode(arr, ext, p)
    del arr
    fmt = _FORMATS[ext]
    if metadata is not None and fmt in _META_FORMATS:
        data = jpeg_with_metadata(data, metadata) if fmt == "JPEG" else png_with_metadata(data, metadata)

    def write(fd: int) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    try:
        atomic_write(p, write, before_replace=before_replace)
    except PermissionError as exc:
        raise ImageFileError(f"cannot write {_q(p)}: {exc.strerror}") from None
    except OSError as exc:
        if isinstance(exc, ImageFileError):
            raise
        raise ImageFileError(f"cannot write {_q(p)}: {exc.strerror or exc}") from None
    return p
