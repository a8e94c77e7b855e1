"""Test photos, the benchmark photo corpus and seeded hole masks.

Shared by the demo, the tests, the benchmark suite and the training commands. Small test photos
come from :mod:`skimage.data` (installed with scikit-image). The benchmark corpus
(:data:`CORPUS`, :func:`corpus`) adds real photographs that ship inside installable packages
(scikit-image, matplotlib, Debian wallpaper packages): nothing is downloaded, and photos whose
package is not installed are reported as such. Masks are drawn with a seed so every case can be
rebuilt bit for bit.

>>> from imgkit import data
>>> img = data.photo("astronaut", size=64)
>>> img.shape, img.dtype
((64, 64, 3), dtype('float32'))
>>> m = data.mask("box", (64, 64))
>>> round(float(m.mean()), 2)
0.12
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import InvalidOptionError

__all__ = ["CORPUS", "MASK_KINDS", "PHOTOS", "SPLITS", "TEXTURES", "CorpusPhoto", "corpus", "mask", "photo"]

#: Colour photographs in :mod:`skimage.data`.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
#: Grey textures in :mod:`skimage.data` (returned as RGB by :func:`photo`).
TEXTURES = ("brick", "grass", "gravel")
#: Kinds of hole masks :func:`mask` draws.
MASK_KINDS = ("box", "strokes", "thick", "blobs", "scribbles")

_OTHER = ("camera", "moon", "coins", "cat", "retina", "colorwheel", "motorcycle_left")
# Images that skimage.data returns as part of a tuple (name -> loader).
_LOADERS = {"motorcycle_left": lambda sk: sk.stereo_motorcycle()[0]}


def photo(name: str, size: int | tuple[int, int] | None = 128, *, rgb: bool = True) -> np.ndarray:
    """A real photo from :mod:`skimage.data`, centre-cropped to square and resized.

    Parameters
    ----------
    name : str
        One of :data:`PHOTOS`, :data:`TEXTURES` or ``camera``, ``moon``, ``coins``, ``cat``,
        ``retina``, ``colorwheel``, ``motorcycle_left`` (left view of the stereo pair), or the
        name of a :data:`CORPUS` photo (its package must be installed; large photos are
        centre-cropped and area-resized with OpenCV and kept in a small in-process cache).
    size : int or (int, int) or None
        Output side (square centre crop, then area-averaged resize), or ``(H, W)`` for a
        resize without cropping; ``None`` keeps the original.
    rgb : bool
        Turn grey images into 3-channel RGB.

    Returns
    -------
    ndarray, float32 in [0, 1], shape (size, size, 3) (or (H, W) for grey with ``rgb=False``)
    """
    from skimage import data as skdata
    from skimage.transform import resize

    if name not in PHOTOS + TEXTURES + _OTHER:
        if name in _CORPUS_BY_NAME:
            return _corpus_photo(name, size, rgb)
        raise InvalidOptionError(
            f"unknown photo {name!r}; choose one of {', '.join(PHOTOS + TEXTURES + _OTHER)} "
            f"or a corpus photo ({', '.join(_CORPUS_BY_NAME)})"
        )
    img = _LOADERS[name](skdata) if name in _LOADERS else getattr(skdata, name)()
    img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
    if img.ndim == 3:
        img = img[:, :, :3]
    if size is not None:
        img, shape = _crop_for(img, size)
        img = resize(img, shape, anti_aliasing=True, preserve_range=True).astype(np.float32)
    if rgb and img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(np.clip(img, 0.0, 1.0))


def _crop_for(img: np.ndarray, size) -> tuple[np.ndarray, tuple[int, int]]:
    """The square centre crop of ``img`` and the output shape for an int ``size``; the image
    unchanged and ``size`` itself for an ``(H, W)`` size."""
    if not isinstance(size, int):
        return img, tuple(size)
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return img[top : top + s, left : left + s], (size, size)


def _stroke_mask(shape, rng, n, width_range, length_range, max_turns=6):
    import cv2

    h, w = shape
    m = np.zeros(shape, np.uint8)
    s = min(h, w)
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        width = int(max(1, round(rng.uniform(*width_range) * s)))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(rng.integers(2, max_turns + 1)):
            length = rng.uniform(*length_range) * s
            angle += rng.uniform(-np.pi / 2, np.pi / 2)
            nx = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, width, lineType=cv2.LINE_8)
            x, y = nx, ny
    return m.astype(bool)


def _blob_mask(shape, rng, area):
    import cv2

    h, w = shape
    m = np.zeros(shape, np.uint8)
    # A star-shaped object: radius varying smoothly with angle (a few low harmonics).
    k = np.arange(1, 5)
    amp = rng.uniform(0.05, 0.25, size=k.size) / k
    phase = rng.uniform(0, 2 * np.pi, size=k.size)
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    rel = 1.0 + (amp[:, None] * np.cos(k[:, None] * t + phase[:, None])).sum(0)
    aspect = rng.uniform(0.7, 1.3)
    base_area = 0.5 * np.sum(rel**2) * (2 * np.pi / t.size) * aspect
    r0 = np.sqrt(area * h * w / base_area)
    rx, ry = r0 * rel * np.sqrt(aspect), r0 * rel / np.sqrt(aspect)
    cx = rng.uniform(0.3, 0.7) * w
    cy = rng.uniform(0.3, 0.7) * h
    pts = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


def mask(kind: str, shape: tuple[int, int], *, seed: int = 0, area: float | None = None) -> np.ndarray:
    """A seeded hole mask of one of five kinds.

    Parameters
    ----------
    kind : {"box", "strokes", "thick", "blobs", "scribbles"}
        ``box``: a centred rectangle (default 12 % of the area). ``strokes``: thin random
        scribbles (1–2 % of the side wide). ``thick``: a few wide strokes in the spirit of
        LaMa's thick masks (7–11 % of the side wide). ``blobs``: one compact object-like shape
        (default 8 % of the area). ``scribbles``: dense thin scribbles, as a user scribbles
        over text, wires or scratches: wiggly lines 1–5 px wide at 256 px (scaling with the
        image) until the hole covers a fraction drawn in [0.10, 0.25].
    shape : (int, int)
        ``(H, W)``.
    seed : int
        Seed of the random drawing.
    area : float, optional
        Target hole fraction for ``box``, ``blobs`` and ``scribbles``.

    Returns
    -------
    ndarray of bool, shape (H, W); True marks the hole.
    """
    if kind not in MASK_KINDS:
        raise InvalidOptionError(f"mask kind must be one of {list(MASK_KINDS)}; got {kind!r}")
    h, w = int(shape[0]), int(shape[1])
    rng = np.random.default_rng(seed)
    if kind == "box":
        frac = 0.12 if area is None else float(area)
        bh, bw = max(1, round(h * np.sqrt(frac))), max(1, round(w * np.sqrt(frac)))
        m = np.zeros((h, w), bool)
        top, left = (h - bh) // 2, (w - bw) // 2
        m[top : top + bh, left : left + bw] = True
        return m
    if kind == "strokes":
        return _stroke_mask((h, w), rng, n=6, width_range=(0.01, 0.02), length_range=(0.1, 0.3))
    if kind == "thick":
        return _stroke_mask((h, w), rng, n=3, width_range=(0.07, 0.11),
                            length_range=(0.1, 0.25), max_turns=3)
    if kind == "scribbles":
        return _scribble_mask((h, w), rng, area)
    return _blob_mask((h, w), rng, 0.08 if area is None else float(area))


def _scribble_mask(shape, rng, area):
    """Dense thin scribbles: wiggly 1–5 px lines (at 256 px; widths scale with the image)
    added one at a time until the hole covers the target fraction (drawn in [0.10, 0.25])."""
    import cv2

    h, w = shape
    s = min(h, w)
    scale = s / 256.0
    target = rng.uniform(0.10, 0.25) if area is None else float(area)
    m = np.zeros(shape, np.uint8)
    for _ in range(400):
        if m.mean() >= target:
            break
        width = max(1, round(float(rng.uniform(1.0, 5.0)) * scale))
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, 2 * np.pi)
        pts = [(x, y)]
        for _ in range(rng.integers(4, 16)):
            angle += rng.normal(0.0, 0.9)
            step = rng.uniform(0.02, 0.08) * s
            x = float(np.clip(x + step * np.cos(angle), 0, w - 1))
            y = float(np.clip(y + step * np.sin(angle), 0, h - 1))
            pts.append((x, y))
        cv2.polylines(m, [np.round(np.array(pts)).astype(np.int32)], False, 1, width,
                      lineType=cv2.LINE_8)
    return m.astype(bool)


# --------------------------------------------------------------------------------------------
# The benchmark corpus
# --------------------------------------------------------------------------------------------

#: The two parts of the corpus: choose defaults on ``tune``, read every claim from ``heldout``.
SPLITS = ("tune", "heldout")

_PLASMA = ("plasma-workspace-wallpapers", "GPL-2+ (KDE Visual Design Group)")
_MATE = ("mate-backgrounds", "GPL-2+")
_LOMIRI16 = ("lomiri-wallpapers-16.04", "CC-BY-4.0")
_LOMIRI16SA = ("lomiri-wallpapers-16.04", "CC-BY-SA-4.0")
_LOMIRI20 = ("lomiri-wallpapers-20.04", "CC-BY-SA-3.0")
_SKIMAGE = ("scikit-image", "see skimage.data (public domain / CC0)")


@dataclass(frozen=True)
class CorpusPhoto:
    """One photo of the benchmark corpus.

    Attributes
    ----------
    name : str
        Short name used on the command line (``--images NAME``) and in result tables.
    package : str
        The package that ships the file (PyPI or Debian).
    licence : str
        The file's licence as its package states it.
    category : str
        What it shows: ``smooth`` (smooth objects and surfaces), ``people`` (faces, people,
        animals), ``architecture`` (buildings and man-made clutter), ``texture`` (natural
        texture), ``nature`` (landscapes and plants) or ``graphics`` (drawn, not photographed).
    split : {"tune", "heldout"}
        Fixed for good: defaults are chosen on ``tune`` and claims read from ``heldout``.
    source : str
        A file path (a glob; the largest match is used), or ``skimage:NAME`` /
        ``matplotlib:FILE`` for files inside those Python packages.
    """

    name: str
    package: str
    licence: str
    category: str
    split: str
    source: str

    def path(self) -> str | None:
        """The file on this machine, or ``None`` when its package is not installed."""
        return _corpus_path(self.source)

    @property
    def available(self) -> bool:
        """Whether the photo can be loaded here."""
        return self.source.startswith("skimage:") or self.path() is not None


def _p(name, pkg, category, split, source):
    return CorpusPhoto(name, pkg[0], pkg[1], category, split, source)


_W = "/usr/share/wallpapers/{}/contents/images/*"
_B = "/usr/share/backgrounds/"

#: The corpus: 42 photographs (≥ 512 px on the short side) and 2 graphics, with a fixed split
#: (28 ``tune``, 16 ``heldout``) stratified by category. Never add the example photos of
#: Debian's ``opencv-doc`` package: they are reserved for independent evaluation.
CORPUS: tuple[CorpusPhoto, ...] = (
    # smooth objects and surfaces
    _p("aqua", _MATE, "smooth", "tune", _B + "mate/nature/Aqua.jpg"),
    _p("lamps", _LOMIRI16SA, "smooth", "tune", _B + "free_by_Peter_Nerlich.jpg"),
    _p("darkest_hour", _PLASMA, "smooth", "tune", _W.format("DarkestHour")),
    _p("fallen_leaf", _PLASMA, "smooth", "tune", _W.format("FallenLeaf")),
    _p("cold_ripple", _PLASMA, "smooth", "tune", _W.format("ColdRipple")),
    _p("fig", _LOMIRI16, "smooth", "heldout", _B + "Picture_0B_by_freespace.jpg"),
    _p("kite", _PLASMA, "smooth", "heldout", _W.format("Kite")),
    _p("summer_night", _PLASMA, "smooth", "heldout", _W.format("summer_1am")),
    # faces, people, animals
    _p("astronaut", _SKIMAGE, "people", "tune", "skimage:astronaut"),
    _p("camera", _SKIMAGE, "people", "tune", "skimage:camera"),
    _p("dogs", _LOMIRI16, "people", "tune", _B + "friends_by_Aitzol_Berasategi.jpg"),
    _p("grace_hopper", ("matplotlib", "public domain (US Navy photo)"), "people", "heldout",
       "matplotlib:grace_hopper.jpg"),
    _p("nuthatch", _LOMIRI20, "people", "heldout", _B + "Kleiber_by_Lukas_Baubkus.jpg"),
    # architecture and man-made clutter
    _p("bridge", _LOMIRI16SA, "architecture", "tune", _B + "Bridge_by_Sander_Klootwijk.jpg"),
    _p("boats", _PLASMA, "architecture", "tune", _W.format("EveningGlow")),
    _p("brushes", _LOMIRI16, "architecture", "tune", _B + "Picture_1A_by_freespace.jpg"),
    _p("facade", _PLASMA, "architecture", "heldout", _W.format("Grey")),
    _p("wine_room", _LOMIRI16, "architecture", "heldout", _B + "Wine_by_Jakkub_Mede.jpg"),
    # natural texture
    _p("brick", _SKIMAGE, "texture", "tune", "skimage:brick"),
    _p("grass", _SKIMAGE, "texture", "tune", "skimage:grass"),
    _p("paper", _LOMIRI16SA, "texture", "tune", _B + "analogpattern_by_Peter_Nerlich.jpg"),
    _p("meadow", _MATE, "texture", "tune", _B + "mate/nature/GreenMeadow.jpg"),
    _p("dune_grass", _MATE, "texture", "tune", _B + "mate/nature/Dune.jpg"),
    _p("jetty", _PLASMA, "texture", "tune", _W.format("BytheWater")),
    _p("leaf_veins", _MATE, "texture", "tune", _B + "mate/nature/Blinds.jpg"),
    _p("gravel", _SKIMAGE, "texture", "heldout", "skimage:gravel"),
    _p("wood", _MATE, "texture", "heldout", _B + "mate/nature/Wood.jpg"),
    _p("moss", _PLASMA, "texture", "heldout", _W.format("OneStandsOut")),
    # landscapes and plants
    _p("forest_path", _PLASMA, "nature", "tune", _W.format("Path")),
    _p("dragonfly", _LOMIRI16SA, "nature", "tune", _B + "Dragonfly_by_Bolly.jpg"),
    _p("mountains", _LOMIRI16, "nature", "tune", _B + "picosdeeuropa_by_Aitzol_Berasategi.jpg"),
    _p("sunset", _LOMIRI16, "nature", "tune", _B + "sunset_by_Aitzol_Berasategi.jpg"),
    _p("storm", _MATE, "nature", "tune", _B + "mate/nature/Storm.jpg"),
    _p("dandelion_seeds", _MATE, "nature", "tune", _B + "mate/nature/TwoWings.jpg"),
    _p("ladybird", _MATE, "nature", "tune", _B + "mate/nature/LadyBird.jpg"),
    _p("red_flower", _MATE, "nature", "tune", _B + "mate/nature/Garden.jpg"),
    _p("orange_flower", _MATE, "nature", "tune", _B + "mate/nature/FreshFlower.jpg"),
    _p("stream", _LOMIRI16, "nature", "heldout", _B + "life_by_Aitzol_Berasategi.jpg"),
    _p("ridge", _LOMIRI16, "nature", "heldout", _B + "aitzgorri_by_Aitzol_Berasategi.jpg"),
    _p("dandelion", ("lomiri-wallpapers-16.04", "CC0-1.0"), "nature", "heldout",
       _B + "seeding_by_Clements_Engelhardt.jpg"),
    _p("yellow_flower", _MATE, "nature", "heldout", _B + "mate/nature/YellowFlower.jpg"),
    _p("raindrops", _MATE, "nature", "heldout", _B + "mate/nature/RainDrops.jpg"),
    # drawn, not photographed: text, icons, flat colour
    _p("konqui", _PLASMA, "graphics", "tune", _W.format("FlyingKonqui")),
    _p("icons", ("gnome-backgrounds", "CC-BY-SA-3.0"), "graphics", "heldout",
       _B + "gnome/pixels-l.webp"),
)

#: Debian packages the corpus reads (``make corpus`` installs them).
CORPUS_DEBIAN_PACKAGES = ("plasma-workspace-wallpapers", "mate-backgrounds",
                          "lomiri-wallpapers", "gnome-backgrounds")


def _corpus_path(source: str) -> str | None:
    import glob
    import os

    if source.startswith("skimage:"):
        return None
    if source.startswith("matplotlib:"):
        try:
            import matplotlib
        except ImportError:
            return None
        f = os.path.join(matplotlib.get_data_path(), "sample_data", source.split(":", 1)[1])
        return f if os.path.isfile(f) else None
    files = sorted(f for f in glob.glob(source) if os.path.isfile(f))
    if not files:
        return None
    return max(files, key=os.path.getsize)


def corpus(split: str = "all", *, available: bool = False) -> tuple[CorpusPhoto, ...]:
    """The benchmark corpus, or one split of it.

    Parameters
    ----------
    split : {"all", "tune", "heldout"}
        Which part. Tune defaults on ``tune``; read claims from ``heldout``.
    available : bool
        Keep only photos whose package is installed here.

    Returns
    -------
    tuple of CorpusPhoto

    Examples
    --------
    >>> from imgkit import data
    >>> len(data.corpus("tune")), len(data.corpus("heldout"))
    (28, 16)
    """
    if split not in ("all", *SPLITS):
        raise InvalidOptionError(f"split must be one of 'all', 'tune', 'heldout'; got {split!r}")
    out = tuple(p for p in CORPUS if split == "all" or p.split == split)
    return tuple(p for p in out if p.available) if available else out


_CORPUS_BY_NAME = {p.name: p for p in CORPUS}


def _load_corpus(entry: CorpusPhoto) -> np.ndarray:
    """Full-resolution float32 image of a corpus entry (RGB or grey)."""
    import cv2

    if entry.source.startswith("skimage:"):
        from skimage import data as skdata

        img = getattr(skdata, entry.source.split(":", 1)[1])()
    else:
        path = entry.path()
        if path is None:
            from .errors import MissingDependencyError

            raise MissingDependencyError(
                f"corpus photo {entry.name!r} needs the package {entry.package!r}, which is not "
                f"installed (Debian: apt-get install {entry.package}; or run `make corpus`)"
            )
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"cannot decode corpus photo {entry.name!r} from {path}")
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


@lru_cache(maxsize=32)
def _corpus_resized(name: str, size) -> np.ndarray:
    import cv2

    img = _load_corpus(_CORPUS_BY_NAME[name])
    img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 65535.0 if img.dtype == np.uint16
                                    else 1.0)
    if size is not None:
        img, shape = _crop_for(img, size)
        if img.shape[0] >= shape[0] and img.shape[1] >= shape[1]:
            img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
        else:
            img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    img = np.ascontiguousarray(np.clip(img, 0.0, 1.0), dtype=np.float32)
    img.setflags(write=False)
    return img


def _corpus_photo(name: str, size, rgb: bool) -> np.ndarray:
    key = size if size is None or isinstance(size, int) else (int(size[0]), int(size[1]))
    img = np.array(_corpus_resized(name, key), dtype=np.float32)
    if rgb and img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img
