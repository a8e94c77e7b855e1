"""Image-file metadata: the EXIF orientation, and EXIF / ICC blocks spliced into JPEG and PNG
bytes (a leaf module: NumPy and the standard library only; :mod:`imgkit.io` uses it)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["ImageMetadata", "apply_orientation", "exif_for_new_pixels", "jpeg_with_metadata",
           "png_with_metadata"]

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImageMetadata:
    """What a file carries besides its pixels, as :func:`load_image` found it.

    Attributes
    ----------
    format : str
        ``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"BMP"``, ``"WEBP"`` or ``"PPM"`` (``""`` if unknown).
    bit_depth : int
        Bits per channel of the decoded pixels (8, 16 or 32 for float TIFFs).
    orientation : int
        The EXIF orientation of the file (1 = upright); already applied to the pixels.
    exif : bytes or None
        The EXIF block (a TIFF structure, without the ``Exif\\0\\0`` prefix) with its orientation
        set to 1, ready to be written next to upright pixels.
    icc_profile : bytes or None
        The embedded ICC colour profile.
    """

    format: str = ""
    bit_depth: int = 8
    orientation: int = 1
    exif: bytes | None = None
    icc_profile: bytes | None = None


def exif_for_new_pixels(tiff: bytes, set_to: int | None = None) -> tuple[int, bytes]:
    """The orientation (tag 274 of IFD0) of a TIFF-structured EXIF block; with ``set_to``, the
    block rewritten for new pixels: orientation ``set_to`` and no thumbnail.

    Camera EXIF carries a small JPEG of the *original* picture (IFD1): kept, it would show what
    was removed from the photo, turned the old way. It is unlinked and its bytes are zeroed.
    Only those bytes change, so maker notes and offsets stay valid. Returns ``(1, tiff)`` for a
    block without the tag or one that cannot be parsed.
    """
    value = 1
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        buf = bytearray(tiff)
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (n,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for i in range(n):
            p = ifd + 2 + 12 * i
            tag, typ, _count = struct.unpack(order + "HHI", tiff[p : p + 8])
            if tag == _ORIENTATION_TAG and typ == 3:  # SHORT
                (v,) = struct.unpack(order + "H", tiff[p + 8 : p + 10])
                value = v if 1 <= v <= 8 else 1
                if set_to is not None:
                    buf[p + 8 : p + 10] = struct.pack(order + "H", set_to)
        if set_to is None:
            return value, tiff
        nxt = ifd + 2 + 12 * n
        (ifd1,) = struct.unpack(order + "I", tiff[nxt : nxt + 4])
        if ifd1:
            (m,) = struct.unpack(order + "H", tiff[ifd1 : ifd1 + 2])
            entries = {}
            for i in range(m):
                p = ifd1 + 2 + 12 * i
                tag, typ, count = struct.unpack(order + "HHI", tiff[p : p + 8])
                if count == 1 and typ in (3, 4):
                    fmt = "H" if typ == 3 else "I"
                    entries[tag] = struct.unpack(order + fmt, tiff[p + 8 : p + 8 + struct.calcsize(fmt)])[0]
            start, length = entries.get(0x0201), entries.get(0x0202)  # JPEGInterchangeFormat(Length)
            if start and length and start + length <= len(buf):
                buf[start : start + length] = bytes(length)
            buf[nxt : nxt + 4] = bytes(4)  # IFD0 is the last IFD now
        return value, bytes(buf)
    except (KeyError, struct.error):
        return value, tiff


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixels into the picture a viewer shows (EXIF orientation 1–8)."""
    if orientation == 2:
        img = img[:, ::-1]
    elif orientation == 3:
        img = img[::-1, ::-1]
    elif orientation == 4:
        img = img[::-1]
    elif orientation == 5:
        img = img.swapaxes(0, 1)
    elif orientation == 6:
        img = np.rot90(img, -1)
    elif orientation == 7:
        img = img[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        img = np.rot90(img, 1)
    return img


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_with_metadata(jpg: bytes, meta: ImageMetadata) -> bytes:
    """Insert APP1 (EXIF) and APP2 (ICC) segments after SOI and the JFIF APP0 segment."""
    extra = b""
    if meta.exif and len(meta.exif) + 8 <= 0xFFFF:
        extra += _segment(0xE1, b"Exif\x00\x00" + meta.exif)
    if meta.icc_profile:
        chunk = 0xFFFF - 2 - 14
        parts = [meta.icc_profile[i : i + chunk] for i in range(0, len(meta.icc_profile), chunk)]
        if len(parts) < 256:
            for i, part in enumerate(parts):
                extra += _segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, len(parts)]) + part)
    if not extra:
        return jpg
    pos = 2
    if jpg[2:4] == b"\xff\xe0":  # keep JFIF APP0 first
        pos = 4 + struct.unpack(">H", jpg[4:6])[0]
    return jpg[:pos] + extra + jpg[pos:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_metadata(png: bytes, meta: ImageMetadata) -> bytes:
    """Insert ``iCCP`` and ``eXIf`` chunks right after IHDR (before any image data)."""
    extra = b""
    if meta.icc_profile:
        extra += _png_chunk(b"iCCP", b"ICC\x00\x00" + zlib.compress(meta.icc_profile))
    if meta.exif:
        extra += _png_chunk(b"eXIf", meta.exif)
    if not extra:
        return png
    pos = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4  # signature + IHDR chunk
    return png[:pos] + extra + png[pos:]
