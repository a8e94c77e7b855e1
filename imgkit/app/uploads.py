"""Checks on uploaded image files, made before the pixels are decoded.

The browser sends bytes, never paths. An upload is accepted when

* it is not empty and not larger than :attr:`Limits.max_bytes`;
* its header names a supported format (PNG, JPEG, WebP, BMP, TIFF: the formats the CLI reads),
  whatever the file name or the declared content type says;
* its header's width × height is at most :attr:`Limits.max_pixels` (a decompression bomb, a
  small file that decodes to gigapixels, is refused before it is decoded).

Only then is the file decoded, by :func:`imgkit.io.load_image` / :func:`imgkit.io.load_mask`,
the readers of the CLI, so the app and ``imgkit inpaint`` see the same pixels.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImageFileError, ImgkitError, MaskWarning

__all__ = ["FORMATS", "Limits", "UnsupportedUpload", "UploadRejected", "UploadTooLarge",
           "decode_image", "decode_mask", "sniff"]

#: Pillow's format name -> file extension given to the decoder.
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}


class UploadRejected(ImageFileError):
    """An uploaded file was refused; ``status`` is the HTTP status the server answers with."""

    status = 400


class UploadTooLarge(UploadRejected):
    """The file, or the image it decodes to, is over the server's limit."""

    status = 413


class UnsupportedUpload(UploadRejected):
    """The file is not an image of a supported type."""

    status = 415


@dataclass(frozen=True)
class Limits:
    """Upload limits of the server.

    Attributes
    ----------
    max_bytes : int
        Largest file accepted, in bytes (default 20 MiB).
    max_pixels : int
        Largest decoded image accepted, width × height (default 16 megapixels).
    """

    max_bytes: int = 20 * 2**20
    max_pixels: int = 16_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")


def sniff(data: bytes, field: str, limits: Limits) -> tuple[str, int, int]:
    """Check an upload's size, type and pixel count from its header; nothing is decoded.

    Parameters
    ----------
    data : bytes
        The file's contents.
    field : str
        The form field, named in error messages (``"image"``, ``"mask"``, ...).
    limits : Limits

    Returns
    -------
    (format, width, height)
        Pillow's format name (a key of :data:`FORMATS`) and the header's size.

    Raises
    ------
    UploadTooLarge, UnsupportedUpload, UploadRejected
    """
    if not data:
        raise UploadRejected(f"{field}: the uploaded file is empty; choose an image file")
    if len(data) > limits.max_bytes:
        raise UploadTooLarge(
            f"{field}: the file is {len(data) / 2**20:.1f} MiB, over this server's limit of "
            f"{limits.max_bytes / 2**20:.1f} MiB; use a smaller file"
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning; the limit below is ours (and usually lower)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt, (width, height) = im.format, im.size
    except Image.DecompressionBombError:
        raise UploadTooLarge(
            f"{field}: the image header declares more pixels than this server accepts "
            f"({limits.max_pixels / 1e6:g} megapixels at most)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnsupportedUpload(
            f"{field}: not an image file of a supported type (expected PNG, JPEG, WebP, BMP or TIFF)"
        ) from None
    if fmt not in FORMATS:
        raise UnsupportedUpload(
            f"{field}: {fmt} files are not supported; use PNG, JPEG, WebP, BMP or TIFF"
        )
    if width * height > limits.max_pixels:
        raise UploadTooLarge(
            f"{field}: the image is {width}×{height} = {width * height / 1e6:.1f} megapixels, over "
            f"this server's limit of {limits.max_pixels / 1e6:g} megapixels; resize it first"
        )
    return fmt, width, height


def _read(data: bytes, field: str, limits: Limits, as_mask: bool) -> np.ndarray:
    from ..io import load_image, load_mask

    fmt, _, _ = sniff(data, field, limits)
    with tempfile.TemporaryDirectory(prefix="imgkit-upload-") as tmp:
        path = Path(tmp) / f"upload{FORMATS[fmt]}"
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                # the reader's mask warnings (empty, nearly all hole, JPEG-like greys) speak of a
                # file the browser user never named; the app checks the painted mask itself
                warnings.simplefilter("ignore", MaskWarning)
                return load_mask(path) if as_mask else load_image(path)
        except ImgkitError:
            # the reader's message names the temporary file: say it for the form field
            raise UploadRejected(
                f"{field}: the {fmt} file cannot be decoded (truncated or damaged?)"
            ) from None


def decode_image(data: bytes, field: str, limits: Limits) -> np.ndarray:
    """Check and decode an uploaded image.

    Returns
    -------
    ndarray, shape (H, W) or (H, W, C)
        uint8 or uint16 as stored, RGB(A), as :func:`imgkit.io.load_image` gives. An alpha
        channel that is fully opaque (as in images a browser canvas exports) is dropped.
    """
    img = _read(data, field, limits, as_mask=False)
    if img.ndim == 3 and img.shape[2] == 4:
        top = 1.0 if img.dtype.kind == "f" else np.iinfo(img.dtype).max
        if bool((img[:, :, 3] == top).all()):
            img = np.ascontiguousarray(img[:, :, :3])
    return img


def decode_mask(data: bytes, field: str, limits: Limits) -> np.ndarray:
    """Check and decode an uploaded mask: nonzero colour marks the hole (alpha is ignored).

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    return _read(data, field, limits, as_mask=True)
