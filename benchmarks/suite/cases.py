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
    a known filter is learned from one corpus photo (A → A′ = filter(A)) and applied to another
    (B) of the same split; ground truth = filter(B). The pairs are fixed and seeded
    (:func:`analogy_pairs`; case image ``"<A>+<B>"``). The 8 filters of :data:`FILTERS` (issue 15
    item 4) mix luminance-only ones (blur, emboss, unsharp mask) with colour-changing ones
    (posterise, OpenCV's stylization, pencil sketch, oil painting, edge-preserving smoothing).
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
    "analogy_pairs",
    "apply_filter",
    "build_cases",
    "inpaint_cases",
    "inpaint_pair",
    "split_pair",
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
    "analogy": {  # images: "<A>+<B>" corpus pairs, () = analogy_pairs(ANALOGY_SPLIT) (all; quick: 1)
        "full": {
            "images": (),
            "variants": ("blur", "emboss", "posterise", "unsharp", "stylization", "pencil", "oil",
                         "edge_preserving"),
            "sizes": (128, 256),
        },
        "quick": {
            "images": (),
            "variants": ("blur", "emboss", "posterise", "unsharp", "stylization", "pencil", "oil",
                         "edge_preserving"),
            "sizes": (128,),
        },
    },
}

#: The photo A of an analogy case whose image names B only (no ``"<A>+<B>"`` pair).
ANALOGY_A = "astronaut"

#: The corpus split whose pairs are the default analogy cases (claims are read from ``heldout``).
ANALOGY_SPLIT = "heldout"


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


def _unsharp(img: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    from imgkit._pyramid import blur

    return img + amount * (img - blur(img, sigma=sigma))


def _cv2_rgb(fn: Callable[[np.ndarray], np.ndarray], img: np.ndarray) -> np.ndarray:
    """Run an OpenCV photo filter (8-bit BGR in and out) on float RGB."""
    bgr = np.ascontiguousarray(np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)[:, :, ::-1])
    out = fn(bgr)
    return out[:, :, ::-1].astype(np.float32) / 255.0


def _stylization(img: np.ndarray) -> np.ndarray:
    import cv2

    return _cv2_rgb(lambda x: cv2.stylization(x, sigma_s=60, sigma_r=0.45), img)


def _pencil(img: np.ndarray) -> np.ndarray:
    import cv2

    return _cv2_rgb(lambda x: cv2.pencilSketch(x, sigma_s=60, sigma_r=0.07, shade_factor=0.02)[1], img)


def _oil(img: np.ndarray) -> np.ndarray:
    import cv2

    return _cv2_rgb(lambda x: cv2.xphoto.oilPainting(x, 7, 1), img)


def _edge_preserving(img: np.ndarray) -> np.ndarray:
    import cv2

    return _cv2_rgb(lambda x: cv2.edgePreservingFilter(x, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.4),
                    img)


#: Filters of the analogy benchmark (issue 15 item 4): name -> function on float32 RGB in [0, 1].
#: Gaussian blur (σ = 2 px, RGB); emboss (3×3 relief on the luminance, the input's chroma kept);
#: posterise (4 levels per RGB channel); unsharp mask (σ = 2 px, amount 1, RGB);
#: ``cv2.stylization`` (σ_s 60, σ_r 0.45); ``cv2.pencilSketch`` colour output (σ_s 60, σ_r 0.07,
#: shade 0.02); ``cv2.xphoto.oilPainting`` (size 7, dynRatio 1); ``cv2.edgePreservingFilter``
#: (recursive, σ_s 60, σ_r 0.4). The OpenCV filters run on 8-bit BGR (their API).
FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "blur": _blur,
    "emboss": _emboss,
    "posterise": _posterise,
    "unsharp": _unsharp,
    "stylization": _stylization,
    "pencil": _pencil,
    "oil": _oil,
    "edge_preserving": _edge_preserving,
}


def apply_filter(name: str, img: np.ndarray) -> np.ndarray:
    """Apply analogy filter ``name`` (one of :data:`FILTERS`); float32 RGB in [0, 1] out."""
    out = FILTERS[name](np.asarray(img, np.float32))
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


#: Separator of the two photo names of an analogy pair, ``"<A>+<B>"`` (A, A′ = f(A) from the
#: first photo, B from the second).
PAIR_SEP = "+"


def analogy_pairs(split: str = "heldout") -> tuple[str, ...]:
    """Fixed, seeded ``"<A>+<B>"`` pairs of distinct corpus photos of ``split`` for the analogy cases.

    The split's photographs (the ``graphics`` entries left out; only installed photos), shuffled
    with a seed that depends on the split name only, then paired consecutively: every photo is
    used once, as A or as B (``tune``: 13 pairs, ``heldout``: 7 pairs with the full corpus).
    """
    from imgkit import data

    names = sorted(p.name for p in data.corpus(split, available=True) if p.category != "graphics")
    order = np.random.default_rng(stable_seed("analogy-pairs", split)).permutation(len(names))
    names = [names[i] for i in order]
    return tuple(f"{names[i]}{PAIR_SEP}{names[i + 1]}" for i in range(0, len(names) - 1, 2))


def split_pair(image: str) -> tuple[str, str]:
    """``(A, B)`` photo names of an analogy case's ``image`` (``"<A>+<B>"``; a single name is B,
    with A = :data:`ANALOGY_A`)."""
    a, sep, b = image.partition(PAIR_SEP)
    return (a, b) if sep else (ANALOGY_A, image)


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
            a, b = split_pair(self.image)
            return {
                "a": _photo(a, self.size),
                "a_prime": _filtered(self.variant, a, self.size),
                "b": _photo(b, self.size),
                "truth": _filtered(self.variant, b, self.size),
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
    if task == "analogy" and not images:
        images = analogy_pairs(ANALOGY_SPLIT)[: 1 if quick else None]
    variants = tuple(variants) if variants else d["variants"]
    sizes = tuple(sizes) if sizes else d["sizes"]
    make = {"inpaint": inpaint_cases, "style": style_cases, "analogy": analogy_cases}[task]
    return make(images, variants, sizes)
