"""Benchmark cases: real photos, seeded masks, style pairs and known filters (nothing downloaded).

Every case is rebuilt bit for bit from its fields: photos come from :mod:`skimage.data` through
:func:`imgkit.data.photo` (square centre crop, area-averaged resize), masks from
:func:`imgkit.data.mask` with a seed derived from the image name and mask kind only, so the same
hole (scaled) appears at every size and size comparisons are fair.

Inpainting
    ground truth = the photo itself; the hole is cut from it.
Style transfer
    content photo × style image, both at the case size. No painting ships with the installed
    packages (searched: scikit-image's ``skimage/data``, matplotlib's ``sample_data`` which holds
    only a photo of Grace Hopper and a logo); the styles are the textures ``brick``, ``grass``,
    ``gravel`` and two strongly stylised real images, ``immunohistochemistry`` (stained tissue,
    painterly brown/blue strokes) and ``hubble_deep_field`` (a star field).
Analogies
    a known filter is learned from one photo (A → A′ = filter(A)) and applied to another (B);
    ground truth = filter(B). Filters: Gaussian blur (σ = 2 px, RGB), emboss (relief on the
    luminance, chroma of the input kept, as image analogies model colour), posterise (4 levels per
    RGB channel: a colour filter that luminance-only methods cannot fully learn, on purpose).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ANALOGY_A",
    "FILTERS",
    "Case",
    "DEFAULTS",
    "analogy_cases",
    "apply_filter",
    "build_cases",
    "inpaint_cases",
    "inpaint_pair",
    "style_cases",
]

#: Default images, variants and sizes per task, for full and quick runs.
DEFAULTS: dict[str, dict[str, dict[str, tuple]]] = {
    "inpaint": {
        "full": {
            "images": ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left",
                       "brick", "grass", "gravel"),
            "variants": ("box", "strokes", "thick", "blobs"),
            "sizes": (128, 256, 512),
        },
        "quick": {
            "images": ("astronaut", "brick"),
            "variants": ("box", "strokes", "thick", "blobs"),
            "sizes": (128,),
        },
    },
    "style": {
        "full": {
            "images": ("astronaut", "chelsea", "coffee"),
            "variants": ("immunohistochemistry", "hubble_deep_field", "brick", "gravel"),
            "sizes": (128, 256),
        },
        "quick": {
            "images": ("astronaut",),
            "variants": ("immunohistochemistry", "brick"),
            "sizes": (128,),
        },
    },
    "analogy": {
        "full": {
            "images": ("chelsea", "coffee", "rocket"),
            "variants": ("blur", "emboss", "posterise"),
            "sizes": (128, 256),
        },
        "quick": {
            "images": ("chelsea",),
            "variants": ("blur", "emboss", "posterise"),
            "sizes": (128,),
        },
    },
}

#: The photo the analogy filters are learned from (A); B runs over the task's images.
ANALOGY_A = "astronaut"


def stable_seed(*parts: Any) -> int:
    """A seed that depends on ``parts`` only (CRC-32 of their text), never on Python's hash salt."""
    return zlib.crc32("/".join(map(str, parts)).encode()) & 0x7FFFFFFF


@functools.lru_cache(maxsize=64)
def _photo(name: str, size: int) -> np.ndarray:
    from imgkit import data

    img = data.photo(name, size)
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=64)
def _mask(kind: str, size: int, seed: int) -> np.ndarray:
    from imgkit import data

    m = data.mask(kind, (size, size), seed=seed)
    m.setflags(write=False)
    return m


# --- analogy filters -------------------------------------------------------------------------


def _blur(img: np.ndarray) -> np.ndarray:
    from imgkit._pyramid import blur

    return blur(img, sigma=2.0)


def _emboss(img: np.ndarray) -> np.ndarray:
    from scipy.ndimage import correlate

    from imgkit._color import rgb_to_yiq, yiq_to_rgb

    yiq = rgb_to_yiq(img.astype(np.float32))
    k = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32)  # zero-sum emboss (relief)
    y = correlate(yiq[:, :, 0], k, mode="reflect")
    yiq = yiq.copy()
    yiq[:, :, 0] = 0.5 + 0.5 * y
    return yiq_to_rgb(yiq)


def _posterise(img: np.ndarray, levels: int = 4) -> np.ndarray:
    q = np.floor(np.clip(img, 0.0, 1.0) * levels)
    return np.minimum(q, levels - 1) / (levels - 1)


#: Filters of the analogy benchmark: name -> function on float32 RGB in [0, 1].
FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "blur": _blur,
    "emboss": _emboss,
    "posterise": _posterise,
}


def apply_filter(name: str, img: np.ndarray) -> np.ndarray:
    """Apply analogy filter ``name`` (one of :data:`FILTERS`); float32 RGB in [0, 1] out."""
    out = FILTERS[name](np.asarray(img, np.float32))
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _filtered(name: str, image: str, size: int) -> np.ndarray:
    out = apply_filter(name, _photo(image, size))
    out.setflags(write=False)
    return out


# --- cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One benchmark case.

    Attributes
    ----------
    task : {"inpaint", "style", "analogy"}
    image : str
        The photo: the image to inpaint, the style content, or B of an analogy.
    variant : str
        Mask kind (inpaint), style image (style) or filter (analogy).
    size : int
        Side of the square images in pixels.
    seed : int
        Seed of the mask and of every method run on this case.
    """

    task: str
    image: str
    variant: str
    size: int
    seed: int = field(default=0)

    @property
    def id(self) -> str:
        return f"{self.image}-{self.variant}-{self.size}"

    def arrays(self) -> dict[str, np.ndarray]:
        """The case's arrays (read-only views; cached).

        inpaint: ``image``, ``mask``, ``truth``; style: ``content``, ``style``;
        analogy: ``a``, ``a_prime``, ``b``, ``truth``.
        """
        if self.task == "inpaint":
            img = _photo(self.image, self.size)
            return {"image": img, "mask": _mask(self.variant, self.size, self.seed), "truth": img}
        if self.task == "style":
            return {"content": _photo(self.image, self.size), "style": _photo(self.variant, self.size)}
        if self.task == "analogy":
            return {
                "a": _photo(ANALOGY_A, self.size),
                "a_prime": _filtered(self.variant, ANALOGY_A, self.size),
                "b": _photo(self.image, self.size),
                "truth": _filtered(self.variant, self.image, self.size),
            }
        raise ValueError(f"unknown task {self.task!r}")


def inpaint_cases(images: Sequence[str], kinds: Sequence[str], sizes: Sequence[int]) -> list[Case]:
    """Inpainting cases, ordered by size, then image, then mask kind."""
    return [
        Case("inpaint", im, k, int(s), stable_seed("inpaint", im, k))
        for s in sorted(sizes) for im in images for k in kinds
    ]


def inpaint_pair(image: str, kind: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(photo, mask)`` of the benchmark's inpainting case ``image`` × ``kind`` at ``size``
    (read-only, the same arrays as that case's ``image`` and ``mask``)."""
    arrays = inpaint_cases([image], [kind], [size])[0].arrays()
    return arrays["image"], arrays["mask"]


def style_cases(contents: Sequence[str], styles: Sequence[str], sizes: Sequence[int]) -> list[Case]:
    """Style-transfer cases (content × style), ordered by size, then content, then style."""
    return [
        Case("style", c, st, int(s), stable_seed("style", c, st))
        for s in sorted(sizes) for c in contents for st in styles
    ]


def analogy_cases(images: Sequence[str], filters: Sequence[str], sizes: Sequence[int]) -> list[Case]:
    """Analogy cases (B × filter, A = :data:`ANALOGY_A`), ordered by size, then B, then filter."""
    for f in filters:
        if f not in FILTERS:
            raise ValueError(f"unknown analogy filter {f!r}; choose from {', '.join(FILTERS)}")
    return [
        Case("analogy", b, f, int(s), stable_seed("analogy", b, f))
        for s in sorted(sizes) for b in images for f in filters
    ]


def build_cases(
    task: str,
    *,
    quick: bool,
    images: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
) -> list[Case]:
    """The cases of ``task`` with the defaults of :data:`DEFAULTS` unless given."""
    d = DEFAULTS[task]["quick" if quick else "full"]
    images = tuple(images) if images else d["images"]
    variants = tuple(variants) if variants else d["variants"]
    sizes = tuple(sizes) if sizes else d["sizes"]
    make = {"inpaint": inpaint_cases, "style": style_cases, "analogy": analogy_cases}[task]
    return make(images, variants, sizes)
