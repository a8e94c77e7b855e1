"""Naive baselines of the image-analogy benchmark (issue 15 item 4, issue 17).

What a user could write in a few lines instead of Hertzmann's pyramid and coherence; the suite
(:mod:`benchmarks.suite.candidates`), the filter study (``benchmarks/studies/analogy_filters.py``)
and the tests use these functions.

``naive_patch``
    For every pixel of ``B``, the nearest ``5×5`` luminance patch of ``A`` (reflection at the
    borders, plain unweighted SSD), found by projecting every patch on the leading principal
    components of ``A``'s patches (PCA, ``components`` of them) and querying a k-d tree
    (:class:`scipy.spatial.cKDTree`, exact in the PCA space). No pyramid, no coherence, no
    luminance remapping. ``color="yiq"``: ``B′`` takes the luminance of ``A′`` at the match and
    the I and Q of ``B`` (the evaluation's baseline); ``color="rgb"``: ``B′`` copies ``A′``'s RGB
    at the match.
``channel_lut``
    A per-channel look-up table: for each RGB channel ``c``, ``A′_c`` averaged over the pixels
    of ``A`` whose ``A_c`` falls in each of ``bins`` equal bins, empty bins filled by linear
    interpolation between filled ones (constant beyond the ends), applied to ``B_c`` with linear
    interpolation between bin centres. It learns any point-wise per-channel tone curve (the
    posterise levels, a contrast change), nothing spatial.
``unchanged``
    ``B`` itself.
"""

from __future__ import annotations

import numpy as np

__all__ = ["channel_lut", "luminance_patches", "naive_patch", "unchanged"]


def _y(img: np.ndarray) -> np.ndarray:
    from imgkit._color import luminance

    return np.asarray(luminance(np.asarray(img, np.float32)), np.float32)


def luminance_patches(y: np.ndarray, size: int = 5) -> np.ndarray:
    """Every ``size × size`` patch of the 2-D image ``y`` (reflected at the border), flattened.

    Returns
    -------
    float32 ndarray, shape (H * W, size * size)
        Row ``i * W + j`` is the patch centred on pixel ``(i, j)``.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer; got {size!r}")
    h = size // 2
    p = np.pad(np.asarray(y, np.float32), h, mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(p, (size, size))
    return np.ascontiguousarray(win.reshape(-1, size * size))


def naive_patch(
    a: np.ndarray,
    a_prime: np.ndarray,
    b: np.ndarray,
    *,
    color: str = "yiq",
    patch_size: int = 5,
    components: int = 10,
) -> np.ndarray:
    """Nearest-patch analogy: each ``B`` pixel copies ``A′`` at its nearest luminance patch of ``A``.

    Parameters
    ----------
    a, a_prime : float32 ndarray, shape (H, W, 3)
        The example pair, RGB in [0, 1].
    b : float32 ndarray, shape (H2, W2, 3)
    color : {"yiq", "rgb"}
        ``"yiq"``: ``A′``'s luminance at the match with ``B``'s I and Q; ``"rgb"``: ``A′``'s RGB.
    patch_size : int
        Patch side (odd).
    components : int
        PCA dimensions the k-d tree searches (at most ``patch_size²``).

    Returns
    -------
    float32 ndarray, shape (H2, W2, 3), in [0, 1]
    """
    from scipy.spatial import cKDTree

    from imgkit._color import rgb_to_yiq, yiq_to_rgb

    if color not in ("yiq", "rgb"):
        raise ValueError(f"color must be 'yiq' or 'rgb'; got {color!r}")
    a, a_prime, b = (np.asarray(x, np.float32) for x in (a, a_prime, b))
    pa = luminance_patches(_y(a), patch_size)
    pb = luminance_patches(_y(b), patch_size)
    mean = pa.mean(axis=0)
    k = max(1, min(int(components), pa.shape[1]))
    # principal axes of A's patches (eigenvectors of the 25×25 covariance, largest first)
    cov = np.cov((pa - mean).T.astype(np.float64))
    _, vecs = np.linalg.eigh(cov)
    basis = vecs[:, ::-1][:, :k].astype(np.float32)
    tree = cKDTree((pa - mean) @ basis)
    _, idx = tree.query((pb - mean) @ basis, k=1)
    idx = np.asarray(idx, np.int64).reshape(b.shape[:2])
    src = a_prime.reshape(-1, a_prime.shape[2])[idx]
    if color == "rgb":
        out = src
    else:
        yiq = rgb_to_yiq(b).copy()
        yiq[:, :, 0] = _y(a_prime).ravel()[idx]
        out = yiq_to_rgb(yiq)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def channel_lut(a: np.ndarray, a_prime: np.ndarray, b: np.ndarray, *, bins: int = 64) -> np.ndarray:
    """Per-channel tone curve learnt from ``A → A′`` and applied to ``B`` (see the module doc).

    Parameters
    ----------
    a, a_prime : float32 ndarray, shape (H, W, C)
    b : float32 ndarray, shape (H2, W2, C)
    bins : int
        Number of equal bins over [0, 1].

    Returns
    -------
    float32 ndarray, shape (H2, W2, C), in [0, 1]
    """
    a, a_prime, b = (np.asarray(x, np.float32) for x in (a, a_prime, b))
    if a.shape != a_prime.shape or a.ndim != 3 or b.ndim != 3 or b.shape[2] != a.shape[2]:
        raise ValueError(f"a {a.shape}, a_prime {a_prime.shape} and b {b.shape} must be (H, W, C), "
                         "a and a_prime of one shape, b with the same C")
    if bins < 2:
        raise ValueError(f"bins must be ≥ 2; got {bins!r}")
    centres = (np.arange(bins) + 0.5) / bins
    out = np.empty_like(b)
    for c in range(a.shape[2]):
        i = np.clip((a[:, :, c] * bins).astype(np.int64), 0, bins - 1).ravel()
        count = np.bincount(i, minlength=bins)
        total = np.bincount(i, weights=a_prime[:, :, c].ravel().astype(np.float64), minlength=bins)
        filled = count > 0
        curve = np.interp(centres, centres[filled], total[filled] / count[filled])
        out[:, :, c] = np.interp(b[:, :, c], centres, curve)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def unchanged(a: np.ndarray, a_prime: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``B`` unchanged (float32 copy): what doing nothing scores."""
    return np.array(b, np.float32)
