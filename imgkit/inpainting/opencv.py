"""OpenCV's inpainting baselines: Telea and Navier–Stokes (``cv2.inpaint``), frequency-selective
reconstruction and shift-maps (``cv2.xphoto.inpaint``).

Conventions handled here so callers do not have to:

* ``cv2.inpaint`` marks the hole with nonzero mask pixels (as imgkit does). It takes 8-bit
  3-channel or 32-bit float 1-channel images; imgkit runs it per channel in float32 on the
  0..255 scale (OpenCV's float path assumes that scale: values in [0, 1] give garbage), which
  gives the same fill as the 8-bit colour call (both methods treat channels independently,
  with an order that depends on the mask only) without quantising to 8 bits.
* ``cv2.xphoto.inpaint`` marks the *known* pixels with nonzero mask pixels (the opposite of
  imgkit), and writes its result into a preallocated ``dst``. FSR takes 8-bit grey or BGR
  images (float input gives a wrong result); shift-map expects CIE Lab for colour images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..registry import Option, register

_RADIUS = Option("radius", 3.0, "neighbourhood radius (pixels) of each inpainted point",
                 type=float, low=1.0, high=64.0)


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def _cv_inpaint(image: np.ndarray, mask: np.ndarray, radius: float, flag: int) -> np.ndarray:
    import cv2

    h, w = mask.shape
    # OpenCV's Telea yields NaN on 1-pixel-high images: replicate edges up to 3 pixels, crop
    py, px = (1, 1) if h < 3 else (0, 0), (1, 1) if w < 3 else (0, 0)
    if py != (0, 0) or px != (0, 0):
        image = np.pad(image, (py, px, (0, 0)), mode="edge")
        mask = np.pad(mask, (py, px), mode="edge")
    m = mask.astype(np.uint8)
    out = np.empty_like(image)
    for c in range(image.shape[2]):
        # float input must be on the 0..255 scale: OpenCV's float path assumes it
        chan = np.ascontiguousarray(image[:, :, c]) * np.float32(255.0)
        out[:, :, c] = cv2.inpaint(chan, m, radius, flag) / np.float32(255.0)
    return out[py[0] : out.shape[0] - py[1], px[0] : out.shape[1] - px[1]]


def _cv_method(name: str, flag: str, reference: str, summary: str) -> Callable[..., Any]:
    """Register ``cv2.inpaint`` with the flag ``cv2.<flag>`` as inpainting method ``name``."""

    def method(image, mask, *, ctx, radius):
        import cv2

        return _cv_inpaint(image, mask, radius, getattr(cv2, flag)), None

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``cv2.inpaint`` with ``{flag}`` (see the module docstring)."
    return register(name, task="inpaint", family="classical", backend="opencv", reference=reference,
                    summary=summary, options=(_RADIUS,))(method)


telea = _cv_method(
    "telea", "INPAINT_TELEA",
    reference="A. Telea, 'An Image Inpainting Technique Based on the Fast Marching Method', "
              "J. Graphics Tools 9(1), 2004 (cv2.inpaint, INPAINT_TELEA)",
    summary="fast-marching diffusion fill; smooth, blurs texture, very fast",
)
ns = _cv_method(
    "ns", "INPAINT_NS",
    reference="M. Bertalmio, A. L. Bertozzi, G. Sapiro, 'Navier-Stokes, Fluid Dynamics, and "
              "Image and Video Inpainting', CVPR 2001 (cv2.inpaint, INPAINT_NS)",
    summary="Navier–Stokes isophote transport; smooth, blurs texture, very fast",
)


def _xphoto(image: np.ndarray, mask: np.ndarray, algorithm: int, lab: bool) -> np.ndarray:
    import cv2

    known = (~mask).astype(np.uint8)  # xphoto: nonzero = valid pixel, zero = to inpaint
    grey = image.shape[2] == 1
    src = _to_u8(image[:, :, 0] if grey else image)
    if not grey:
        src = cv2.cvtColor(src, cv2.COLOR_RGB2LAB if lab else cv2.COLOR_RGB2BGR)
    dst = np.zeros_like(src)
    cv2.xphoto.inpaint(src, known, dst, algorithm)
    if grey:
        return (dst.astype(np.float32) / 255.0)[:, :, None]
    dst = cv2.cvtColor(dst, cv2.COLOR_LAB2RGB if lab else cv2.COLOR_BGR2RGB)
    return dst.astype(np.float32) / 255.0


_FSR_REF = ("J. Seiler, M. Jonscher, M. Schöberl, A. Kaup, 'Resampling Images to a Regular Grid "
            "from a Non-Regular Subset of Pixel Positions Using Frequency Selective "
            "Reconstruction', IEEE TIP 2015; N. Genser et al., ICIP 2018 "
            "(cv2.xphoto.inpaint, {})")


def _xphoto_method(name: str, algorithm: str, lab: bool, reference: str, summary: str) -> Callable[..., Any]:
    """Register ``cv2.xphoto.inpaint`` with ``cv2.xphoto.<algorithm>`` (on CIE Lab with ``lab``)
    as inpainting method ``name``."""

    def method(image, mask, *, ctx):
        import cv2

        return _xphoto(image, mask, getattr(cv2.xphoto, algorithm), lab=lab), None

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``cv2.xphoto.inpaint`` with ``{algorithm}`` (see the module docstring)."
    return register(name, task="inpaint", family="classical", backend="opencv", reference=reference,
                    summary=summary)(method)


fsr_fast = _xphoto_method(
    "fsr_fast", "INPAINT_FSR_FAST", lab=False, reference=_FSR_REF.format("INPAINT_FSR_FAST"),
    summary="frequency-selective reconstruction, fast preset; good on thin masks",
)
fsr_best = _xphoto_method(
    "fsr_best", "INPAINT_FSR_BEST", lab=False, reference=_FSR_REF.format("INPAINT_FSR_BEST"),
    summary="frequency-selective reconstruction, best preset; high quality, slow",
)
shiftmap = _xphoto_method(
    "shiftmap", "INPAINT_SHIFTMAP", lab=True,
    reference="K. He, J. Sun, 'Statistics of Patch Offsets for Image Completion', ECCV 2012 "
              "(cv2.xphoto.inpaint, INPAINT_SHIFTMAP)",
    summary="graph-cut shift-map completion with dominant patch offsets (in CIE Lab)",
)
