"""Benchmark cases: real photos, seeded masks, style pairs and known filters (nothing downloaded).

Every case is rebuilt bit for bit from its fields: photos come from the benchmark corpus
(:func:`imgkit.data.corpus`, one split: ``tune``, ``heldout`` or ``all``; default ``heldout``) or,
with ``--images``, any name :func:`imgkit.data.photo` knows, through :func:`imgkit.data.photo`
(square centre crop, area-averaged resize); masks from
:func:`imgkit.data.mask` with a seed derived from the image name and mask kind only, so the same
hole (scaled) appears at every size and size comparisons are fair.

Inpainting
    ground truth = the photo itself; the hole is cut from it.
Style transfer
    content photo × style image, both at the case size. No painting ships with the installed
    packages (searched: scikit-image's ``skimage/data``, matplotlib's ``sample_data``, the Debian
    wallpaper packages); the style images are the split's natural textures and drawn graphics
    (:data:`STYLE_CATEGORIES`; heldout: gravel, wood, moss, icons), the contents the first photo
    of each other category (heldout: fig, grace_hopper, facade, stream).
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

#: Default variants and sizes per task, for full and quick runs (the photos come from the split:
#: :func:`split_images`).
DEFAULTS: dict[str, dict[str, dict[str, tuple]]] = {
    "inpaint": {
        "full": {"variants": ("box", "strokes", "thick", "blobs", "scribbles"), "sizes": (128, 256, 512)},
        "quick": {"variants": ("box", "strokes", "thick", "blobs", "scribbles"), "sizes": (128,)},
    },
    "style": {
        "full": {"sizes": (128, 256)},
        "quick": {"sizes": (128,)},
    },
    "analogy": {  # images: "<A>+<B>" corpus pairs of the split (analogy_pairs; quick: the first)
        "full": {"variants": ("blur", "emboss", "posterise", "unsharp", "stylization", "pencil", "oil",
                              "edge_preserving"), "sizes": (128, 256)},
        "quick": {"variants": ("blur", "emboss", "posterise", "unsharp", "stylization", "pencil", "oil",
                               "edge_preserving"), "sizes": (128,)},
    },
}

#: Split used when none is given: every reported figure is read from ``heldout``.
DEFAULT_SPLIT = "heldout"

#: ``--quick`` inpaints the first photo (corpus order) of each of these categories of the split:
#: heldout grace_hopper, facade, gravel; tune astronaut, bridge, brick.
QUICK_CATEGORIES = ("people", "architecture", "texture")

#: Corpus categories whose photos serve as style images (natural textures and drawn graphics:
#: no painting ships with the installed packages); the other photos are style contents.
STYLE_CATEGORIES = ("texture", "graphics")

#: The photo A of an analogy case whose image names B only (``--images B``, no ``"<A>+<B>"`` pair).
ANALOGY_A = "astronaut"

#: The corpus split whose pairs are the default analogy cases (claims are read from ``heldout``).
ANALOGY_SPLIT = "heldout"


def _split_entries(split: str) -> list[Any]:
    from imgkit import data

    return list(data.corpus(split))


def _first_per_category(entries: Sequence[Any], categories: Sequence[str]) -> list[str]:
    out = []
    for cat in categories:
        names = [e.name for e in entries if e.category == cat]
        if names:
            out.append(names[0])
    return out


def _round_robin(entries: Sequence[Any]) -> list[str]:
    """Names taken one per category in turn (first of each category, then second, ...), so that any
    prefix of the list (a run cut short, resumed later) stays stratified by category."""
    by: dict[str, list[str]] = {}
    for e in entries:
        by.setdefault(e.category, []).append(e.name)
    out: list[str] = []
    for i in range(max((len(v) for v in by.values()), default=0)):
        out += [v[i] for v in by.values() if i < len(v)]
    return out


def split_images(task: str, split: str, *, quick: bool) -> dict[str, tuple[str, ...]]:
    """The corpus photos of ``task`` for ``split`` (missing ones included: the runner reports them
    as skipped rows).

    Returns ``{"images": ..., "variants": ...}``; ``variants`` only for style (the style images).

    * inpaint: every photo of the split, one category after the other in turn (a run cut short
      stays stratified); quick: the first photo of each of :data:`QUICK_CATEGORIES`.
    * style: styles = the split's :data:`STYLE_CATEGORIES` photos, contents = the first photo of
      each other category; quick: the first content × the first texture and the first graphic.
    * analogy: the split's fixed ``"<A>+<B>"`` pairs (:func:`analogy_pairs`); quick: the first.
    """
    entries = _split_entries(split)
    cats = list(dict.fromkeys(e.category for e in entries))
    if task == "inpaint":
        names = _first_per_category(entries, QUICK_CATEGORIES) if quick else _round_robin(entries)
        return {"images": tuple(names)}
    if task == "style":
        contents = _first_per_category(entries, [c for c in cats if c not in STYLE_CATEGORIES])
        styles = [e.name for e in entries if e.category in STYLE_CATEGORIES]
        if quick:
            contents, styles = contents[:1], _first_per_category(entries, STYLE_CATEGORIES)
        return {"images": tuple(contents), "variants": tuple(styles)}
    if task == "analogy":
        pairs = analogy_pairs(split)
        return {"images": pairs[:1] if quick else pairs}
    raise ValueError(f"unknown task {task!r}")


def split_photos(split: str) -> list[str]:
    """The installed corpus photos of ``split`` (for studies' ``--split``), in corpus order."""
    from imgkit import data

    return [e.name for e in data.corpus(split, available=True)]


def missing_photo(name: str) -> str | None:
    """Why corpus photo ``name`` cannot be loaded here (``None`` if it can, or if it is not a corpus
    name: ``skimage.data`` names always load)."""
    from imgkit import data

    entry = next((e for e in data.corpus("all") if e.name == name), None)
    if entry is None or entry.available:
        return None
    return f"not installed ({entry.package}: run `make corpus`)"


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
    a_image : str
        Analogies only: the photo A the filter is learned from.
    """

    task: str
    image: str
    variant: str
    size: int
    seed: int = field(default=0)
    a_image: str = ANALOGY_A

    def pair(self) -> tuple[str, str]:
        """Analogies: the ``(A, B)`` photo names (an ``"<A>+<B>"`` image, else A = ``a_image``)."""
        return split_pair(self.image) if PAIR_SEP in self.image else (self.a_image, self.image)

    def missing(self) -> str | None:
        """Why this case's photos cannot be loaded here, or ``None``."""
        if self.task == "analogy":
            names = list(self.pair())
        else:
            names = [self.image] + ([self.variant] if self.task == "style" else [])
        for n in names:
            why = missing_photo(n)
            if why:
                return f"photo {n!r} {why}"
        return None

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
            a, b = self.pair()
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


def analogy_cases(images: Sequence[str], filters: Sequence[str], sizes: Sequence[int],
                  a_image: str = ANALOGY_A) -> list[Case]:
    """Analogy cases (B × filter, A = ``a_image``), ordered by size, then B, then filter."""
    for f in filters:
        if f not in FILTERS:
            raise ValueError(f"unknown analogy filter {f!r}; choose from {', '.join(FILTERS)}")
    return [
        Case("analogy", b, f, int(s), stable_seed("analogy", b, f), a_image)
        for s in sorted(sizes) for b in images for f in filters if b != a_image
    ]


def build_cases(
    task: str,
    *,
    quick: bool,
    images: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    split: str = DEFAULT_SPLIT,
) -> list[Case]:
    """The cases of ``task``: photos from ``split`` (:func:`split_images`) unless ``images`` are
    given, variants and sizes from :data:`DEFAULTS` (style images from the split) unless given.

    Analogy images are ``"<A>+<B>"`` pairs (the split's :func:`analogy_pairs`); a given image
    naming B alone learns from :data:`ANALOGY_A`.
    """
    d = DEFAULTS[task]["quick" if quick else "full"]
    picked = split_images(task, split, quick=quick)
    images = tuple(images) if images else picked["images"]
    variants = tuple(variants) if variants else picked.get("variants", d.get("variants"))
    sizes = tuple(sizes) if sizes else d["sizes"]
    if task == "analogy":
        return analogy_cases(images, variants, sizes)
    make = {"inpaint": inpaint_cases, "style": style_cases}[task]
    return make(images, variants, sizes)
