"""Image analogies (imgkit/style/analogy.py, kernels/analogy.py).

* Learning known filters from real photos (A = photo, A′ = filter(A), B = another photo): a
  Gaussian blur (σ = 2) to ≥ 28 dB on luminance -- B′ takes I and Q from B by the paper's design,
  so the filter is learnt on Y -- and an emboss, far better than returning B.
* Texture by numbers: each region of B′ copies from the texture of the matching region of A′
  (checked on the source map).
* Exact mode equals the brute-force NumPy reference (benchmarks/reference/naive_analogy.py) bit for bit.
* CUDA twin under the simulator: given the same inputs (and the same approximate field), its
  source map, coherence map and B′ equal the CPU kernel's exactly; the whole method in exact mode
  gives the same result on both devices.
"""

from __future__ import annotations

import numpy as np
import pytest
from imgkit.kernels import analogy as ak
from scipy.ndimage import convolve
from skimage.filters import gaussian

import imgkit
from benchmarks.reference import naive_analogy as nv
from imgkit import data
from imgkit._color import luminance
from imgkit.errors import InvalidImageError, InvalidOptionError
from imgkit.style._hertzmann import FILTERED, feature_kernels, features


def _psnr(x, y) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(x, np.float64) - y) ** 2)))


def _blur(img):
    return gaussian(img, sigma=2, channel_axis=-1).astype(np.float32)


_RELIEF = np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], np.float32) / 2


def _emboss(img):
    e = np.clip(0.5 + convolve(luminance(img), _RELIEF, mode="reflect"), 0, 1).astype(np.float32)
    return np.repeat(e[:, :, None], 3, axis=2)


# --- learning known filters ----------------------------------------------------------------------


@pytest.mark.parametrize("a_name,b_name", [("astronaut", "coffee"), ("chelsea", "astronaut")])
def test_learns_gaussian_blur(a_name, b_name):
    a, b = data.photo(a_name, 96), data.photo(b_name, 96)
    bp = imgkit.analogy(a, _blur(a), b, seed=0, kappa=0.25)
    truth = _blur(b)
    assert bp.shape == b.shape and bp.dtype == np.float32
    assert _psnr(luminance(bp), luminance(truth)) >= 28.0
    assert _psnr(bp, truth) >= _psnr(b, truth) + 4.0  # RGB too: a clear win over returning B


def test_learns_emboss():
    a, b = data.photo("astronaut", 64), data.photo("coffee", 64)
    bp = imgkit.analogy(a, _emboss(a), b, seed=0, kappa=0.0, remap=False)
    truth = luminance(_emboss(b))
    y = luminance(bp)
    assert _psnr(y, truth) >= _psnr(luminance(b), truth) + 6.0  # returning B unchanged
    assert _psnr(y, truth) >= _psnr(np.full_like(y, 0.5), truth) + 1.0  # the flat grey of a relief
    relief = np.corrcoef((y - 0.5).ravel(), (truth - 0.5).ravel())[0, 1]
    assert relief >= 0.5  # the relief itself is learnt, not just its mean


def test_approximate_close_to_exact():
    a, b = data.photo("astronaut", 32), data.photo("coffee", 32)
    truth = luminance(_blur(b))
    p_exact = _psnr(luminance(imgkit.analogy(a, _blur(a), b, seed=0, kappa=0.5, exact=True)), truth)
    p_approx = _psnr(luminance(imgkit.analogy(a, _blur(a), b, seed=0, kappa=0.5)), truth)
    assert p_approx >= p_exact - 1.0


def test_linear_transfer_learns_a_linear_filter():
    # A′ = a 3×3 relief of A's luminance: the transfer's coefficients are that kernel (the
    # correlation taps, centred in the 5×5 window), and B′ is f(B) up to the tiny ridge term
    from scipy.ndimage import correlate

    from imgkit.style._hertzmann import learn_transfer, transfer

    a, b = luminance(data.photo("astronaut", 48)), luminance(data.photo("coffee", 40))
    k = np.array([[-2, -1, 0], [-1, 0.5, 1], [0, 1, 2]], np.float32) / 4

    def f(y):
        return correlate(y, k, mode="nearest").astype(np.float32)

    rng = np.random.default_rng(0)
    m = np.stack([rng.integers(2, 46, (48, 48)), rng.integers(2, 46, (48, 48))], axis=2).astype(np.int32)
    coef = learn_transfer(a, f(a), m, ridge=1e-6)
    expect = np.zeros((5, 5))
    expect[1:4, 1:4] = k
    np.testing.assert_allclose(coef.reshape(5, 5), expect, atol=2e-3)
    s = np.stack([rng.integers(0, 48, (40, 40)), rng.integers(0, 48, (40, 40))], axis=2).astype(np.int32)
    for vote in (False, True):
        out = transfer(f(a), a, b, s, coef, vote=vote)
        inner = (slice(3, -3), slice(3, -3))  # away from the border, where the padding differs
        assert _psnr(out[inner], f(b)[inner]) >= 45.0
        copy = transfer(f(a), a, b, s, None, vote=vote)
        assert _psnr(copy[inner], f(b)[inner]) <= 30.0  # the plain copy from random sources cannot


def test_auto_transfer_keeps_a_linear_filter_and_drops_an_unpredictable_one():
    # transfer="auto": the fit is shrunk by a factor chosen by cross-validation on A's two halves;
    # a linear filter keeps its coefficients, an A′ that no function of A's neighbourhood predicts
    # (independent noise) is shrunk to the plain copy
    from scipy.ndimage import correlate

    from imgkit.style._hertzmann import learn_transfer

    a = luminance(data.photo("astronaut", 48))
    k = np.array([[-2, -1, 0], [-1, 0.5, 1], [0, 1, 2]], np.float32) / 4
    rng = np.random.default_rng(1)
    m = np.stack([rng.integers(2, 46, (48, 48)), rng.integers(2, 46, (48, 48))], axis=2).astype(np.int32)
    m[:, :24, 1] = rng.integers(24, 48, (48, 24))  # like half_matches: q's source in the other half
    m[:, 24:, 1] = rng.integers(0, 24, (48, 24))
    lin = correlate(a, k, mode="nearest").astype(np.float32)
    full = learn_transfer(a, lin, m, ridge=1e-6)
    np.testing.assert_allclose(learn_transfer(a, lin, m, ridge=1e-6, shrink=True), full, rtol=1e-3, atol=1e-6)
    # the shrink factor itself: a relation that holds on both halves is kept (λ = 1), one that
    # reverses between the halves is dropped (λ = 0), a noisy one is shrunk in between
    from imgkit.style._hertzmann import _cv_shrink

    X = rng.normal(size=(2000, 25))
    c = rng.normal(size=25)
    fold = np.arange(2000) < 1000
    parts = [(X[f].T @ X[f], X[f].T @ (X[f] @ c)) for f in (fold, ~fold)]
    assert _cv_shrink(X, X @ c, fold, parts, 1e-6) == pytest.approx(1.0, abs=1e-6)
    flip = np.where(fold, 1.0, -1.0) * (X @ c)
    parts = [(X[f].T @ X[f], X[f].T @ flip[f]) for f in (fold, ~fold)]
    assert _cv_shrink(X, flip, fold, parts, 1e-6) == 0.0
    noisy = X @ c + 3.0 * rng.normal(size=2000) * np.linalg.norm(c)
    parts = [(X[f].T @ X[f], X[f].T @ noisy[f]) for f in (fold, ~fold)]
    assert 0.3 < _cv_shrink(X, noisy, fold, parts, 1e-6) < 0.99


def test_ann_candidates_are_the_exact_nearest_neighbours_without_approximation():
    # all principal components, eps = 0, a query at every pixel: the k-d tree returns an exact
    # nearest neighbour of the weighted features (away from B's border, where it reflects)
    from imgkit.style._hertzmann import ann_matches, feature_kernels

    ya = luminance(data.photo("astronaut", 20))
    yb = luminance(data.photo("coffee", 16))
    _, k = feature_kernels(5, 3, False)
    pad = 2
    S = np.pad(ya, pad, mode="symmetric")[:, :, None].astype(np.float32)
    T = yb[:, :, None].astype(np.float32)
    nnf = ann_matches(T, S, k, ya.shape, pad, components=25, eps=0.0, stride=1)
    w = k[:, :, 0]
    for qy in range(2, 14):
        for qx in range(2, 14):
            tb = yb[qy - 2 : qy + 3, qx - 2 : qx + 3]
            d = np.array([[np.sum(w * (tb - S[py - 2 : py + 3, px - 2 : px + 3, 0]) ** 2)
                           for px in range(pad, pad + 20)] for py in range(pad, pad + 20)])
            got = np.sum(w * (tb - S[nnf[qy, qx, 0] - 2 : nnf[qy, qx, 0] + 3, nnf[qy, qx, 1] - 2 :
                                    nnf[qy, qx, 1] + 3, 0]) ** 2)
            assert got <= d.min() * (1 + 1e-4) + 1e-7


def test_defaults_beat_the_paper_settings_on_emboss():
    a, b = data.photo("astronaut", 64), data.photo("coffee", 64)
    truth = _emboss(b)
    new, info = imgkit.analogy(a, _emboss(a), b, seed=0, return_info=True)
    paper = imgkit.analogy(a, _emboss(a), b, seed=0, remap=True, kappa=1.0, filtered_weight=1.0,
                           transfer="copy", vote=False)
    assert _psnr(luminance(new), luminance(truth)) >= _psnr(luminance(paper), luminance(truth)) + 5.0
    assert len(info.transfer_coef) == 1 and info.transfer_coef[0].shape == (25,)


def test_defaults_beat_the_naive_baseline_on_learned_filters():
    # the point of the pyramid and the learnt transfer (issue 17): better than a nearest-patch lookup
    from benchmarks.reference import analogy_baselines as ab
    from benchmarks.suite.cases import apply_filter

    a, b = data.photo("astronaut", 48), data.photo("coffee", 48)
    for name, margin in (("emboss", 5.0), ("blur", 1.0)):
        ap, truth = apply_filter(name, a), apply_filter(name, b)
        ours = imgkit.analogy(a, ap, b, seed=0)
        naive = ab.naive_patch(a, ap, b)
        ours_y, naive_y = _psnr(luminance(ours), luminance(truth)), _psnr(luminance(naive), luminance(truth))
        assert ours_y >= naive_y + margin, (name, ours_y, naive_y)


def test_color_learn_follows_a_colour_change():
    # A′ = A with its colours inverted in I and Q (hue rotated by 180°), luminance kept: "yiq" keeps
    # B's colours, "learn" learns the change; on a chroma-keeping filter both agree
    from imgkit._color import rgb_to_yiq, yiq_to_rgb

    def swap(img):
        yiq = rgb_to_yiq(img).copy()
        yiq[:, :, 1:] *= -1
        return np.clip(yiq_to_rgb(yiq), 0, 1).astype(np.float32)

    a, b = data.photo("astronaut", 48), data.photo("coffee", 48)
    learn, info = imgkit.analogy(a, swap(a), b, seed=0, color="learn", return_info=True)
    keep = imgkit.analogy(a, swap(a), b, seed=0, color="yiq")
    assert _psnr(learn, swap(b)) >= _psnr(keep, swap(b)) + 5.0
    assert len(info.transfer_coef) == 3
    # this file's emboss is grey (chroma dropped): learnt; the benchmark's keeps B's chroma: both agree
    grey_learn = imgkit.analogy(a, _emboss(a), b, seed=0, color="learn")
    grey_keep = imgkit.analogy(a, _emboss(a), b, seed=0, color="yiq")
    assert _psnr(grey_learn, _emboss(b)) >= _psnr(grey_keep, _emboss(b)) + 5.0
    from benchmarks.suite.cases import apply_filter

    e_a, e_b = apply_filter("emboss", a), apply_filter("emboss", b)
    e_learn = imgkit.analogy(a, e_a, b, seed=0, color="learn")
    e_keep = imgkit.analogy(a, e_a, b, seed=0, color="yiq")
    assert abs(_psnr(e_learn, e_b) - _psnr(e_keep, e_b)) <= 1.5


# --- baselines (benchmarks/reference/analogy_baselines.py) ---------------------------------------


def test_naive_baseline_is_the_nearest_patch():
    from benchmarks.reference import analogy_baselines as ab

    a, b = data.photo("astronaut", 20), data.photo("coffee", 16)
    a_prime = _emboss(a)
    pa, pb = ab.luminance_patches(luminance(a)), ab.luminance_patches(luminance(b))
    best = np.argmin(((pb[:, None, :] - pa[None, :, :]) ** 2).sum(axis=2), axis=1)  # brute force
    out = ab.naive_patch(a, a_prime, b, color="rgb", components=25)  # all components: exact search
    np.testing.assert_allclose(out.reshape(-1, 3), a_prime.reshape(-1, 3)[best], atol=1e-6)
    y = ab.naive_patch(a, a_prime, b, color="yiq", components=25)
    inside = ((y > 0) & (y < 1)).all(axis=2).ravel()  # not clipped back into the RGB cube
    assert inside.mean() > 0.5
    np.testing.assert_allclose(luminance(y).ravel()[inside], luminance(a_prime).ravel()[best][inside],
                               atol=2e-3)
    from imgkit._color import rgb_to_yiq

    np.testing.assert_allclose(rgb_to_yiq(y)[:, :, 1:].reshape(-1, 2)[inside],
                               rgb_to_yiq(b)[:, :, 1:].reshape(-1, 2)[inside], atol=2e-3)
    with pytest.raises(ValueError, match="color"):
        ab.naive_patch(a, a_prime, b, color="lab")


def test_lut_baseline_learns_a_tone_curve():
    from benchmarks.reference import analogy_baselines as ab
    from benchmarks.suite.cases import apply_filter

    a, b = data.photo("astronaut", 64), data.photo("coffee", 64)
    gamma = (a**0.5).astype(np.float32)
    assert _psnr(ab.channel_lut(a, gamma, b), b**0.5) >= 35.0
    post = apply_filter("posterise", b)
    assert _psnr(ab.channel_lut(a, apply_filter("posterise", a), b), post) >= _psnr(b, post) + 8.0
    np.testing.assert_array_equal(ab.unchanged(a, gamma, b), b)


# --- texture by numbers --------------------------------------------------------------------------


def test_texture_by_numbers():
    n = 64
    yy, xx = np.mgrid[:n, :n]
    lab_a = xx < n // 2 + 5 * np.sin(yy / 6.0)  # left: brick, right: grass
    a = np.repeat(lab_a[:, :, None], 3, axis=2).astype(np.float32)
    a_prime = np.where(lab_a[:, :, None], data.photo("brick", n), data.photo("grass", n)).astype(np.float32)
    lab_b = (yy - n / 2) ** 2 + (xx - n / 2) ** 2 < (n / 3) ** 2  # a disc of brick in grass
    b = np.repeat(lab_b[:, :, None], 3, axis=2).astype(np.float32)
    bp, info = imgkit.analogy(a, a_prime, b, seed=0, remap=False, color="copy", return_info=True)
    s = info.source_maps[-1]
    assert s.shape == (n, n, 2) and (s >= 0).all()
    from_brick = lab_a[s[:, :, 0], s[:, :, 1]]
    assert from_brick[lab_b].mean() >= 0.95
    assert (~from_brick[~lab_b]).mean() >= 0.95
    # B′ is made of A′ pixels, at the source map
    np.testing.assert_array_equal(bp, a_prime[s[:, :, 0], s[:, :, 1]])


# --- exact mode vs the NumPy reference -----------------------------------------------------------


@pytest.mark.parametrize("kappa,remap,fw,cw",
                         [(0.5, True, 1.0, 1.0), (4.0, False, 0.3, 0.5), (1.0, False, 0.0, 2.0)])
def test_exact_equals_numpy_reference(kappa, remap, fw, cw):
    a = data.photo("astronaut", 14)
    a_prime = _blur(a) ** 0.7
    b = data.photo("coffee", 12)[:11]
    _, info = imgkit.analogy(a, a_prime, b, seed=0, exact=True, levels=2, kappa=kappa, remap=remap,
                               filtered_weight=fw, coarse_weight=cw, return_info=True)
    bp, s, coh = nv.exact_analogy(luminance(a), luminance(a_prime), luminance(b), levels=2, kappa=kappa,
                                  remap_luminance=remap, filtered_weight=fw, coarse_weight=cw)
    assert info.search == "exact" and info.levels == 2
    for lev in range(2):
        np.testing.assert_array_equal(info.source_maps[lev], s[lev])
        np.testing.assert_array_equal(info.coherent[lev], coh[lev])
        np.testing.assert_array_equal(info.b_prime[lev], bp[lev])
    assert any(c.any() for c in coh)  # the coherence branch was exercised


# --- teaching: info, progress, callback, determinism ---------------------------------------------


def test_info_progress_and_determinism():
    a, b = data.photo("astronaut", 40), data.photo("coffee", 36)
    a_prime = _blur(a)
    calls = []
    out, info = imgkit.analogy(a, a_prime, b, seed=3, levels=3, kappa=2.0, return_info=True, progress=True,
                               callback=lambda step, total, state: calls.append((step, total, state)))
    assert info.levels == 3 and info.search == "patchmatch"
    assert info.shapes == [(9, 9), (18, 18), (36, 36)]
    for (h, w), sm, cm, nf, bpl in zip(info.shapes, info.source_maps, info.coherent, info.nnf, info.b_prime):
        assert sm.shape == (h, w, 2) and sm.dtype == np.int32 and cm.shape == (h, w) and cm.dtype == bool
        assert nf.shape == (h, w, 2) and bpl.shape == (h, w)
    assert info.source_maps[-1][:, :, 0].max() < 40 and info.source_maps[-1].min() >= 0
    np.testing.assert_allclose(info.kappa_factor, [1 + 2.0**-2 * 2, 1 + 2.0**-1 * 2, 3.0])
    assert 0 < info.coherence_fraction[-1] < 1
    assert calls[-1][0] == calls[-1][1] == 9 * 9 + 18 * 18 + 36 * 36
    assert {"level", "levels"} <= set(calls[-1][2])
    assert not info.stopped and info.timings["total"] > 0
    again = imgkit.analogy(a, a_prime, b, seed=3, levels=3, kappa=2.0)
    assert again.tobytes() == out.tobytes()
    # more coherence with a larger kappa
    fr = [imgkit.analogy(a, a_prime, b, seed=3, kappa=k, return_info=True)[1].coherence_fraction[-1]
          for k in (0.0, 5.0)]
    assert fr[0] < fr[1]


def test_callback_can_stop():
    a, b = data.photo("astronaut", 40), data.photo("coffee", 40)
    out, info = imgkit.analogy(a, _blur(a), b, seed=0, return_info=True, callback=lambda *args: True)
    assert info.stopped and out.shape == b.shape and np.isfinite(out).all()
    assert len(info.source_maps) == 1  # stopped during the coarsest level


# --- stylize -------------------------------------------------------------------------------------


def test_stylize_analogy():
    content, style = data.photo("astronaut", 48), data.photo("immunohistochemistry", 48)
    out, info = imgkit.stylize(content, style, method="analogy", seed=0, color="copy", return_info=True)
    assert out.shape == content.shape and out.dtype == np.float32
    s = info.source_maps[-1]
    np.testing.assert_array_equal(out, style[s[:, :, 0], s[:, :, 1]])  # pixels of the style
    corr = np.corrcoef(luminance(out).ravel(), luminance(content).ravel())[0, 1]
    assert corr >= 0.5  # the content's structure survives
    grey = imgkit.stylize(content[:, :, 0], style, method="analogy", seed=0)
    assert grey.shape == content.shape[:2]
    with pytest.raises(InvalidImageError, match="one style image"):
        imgkit.stylize(content, [style, style], method="analogy")


def test_stylize_analogy_transfers_the_style():
    # texture by numbers (defaults: the style's colours copied, strong coherence): far closer to the
    # style in Gram distance than the content, and closer than the paper's luminance-only set-up
    content, style = data.photo("astronaut", 64), data.photo("brick", 64)
    out, info = imgkit.stylize(content, style, method="analogy", seed=0, return_info=True)
    s = info.source_maps[-1]
    np.testing.assert_array_equal(out, style[s[:, :, 0], s[:, :, 1]])
    g_content = imgkit.metrics.gram_distance(style, content)
    g_out = imgkit.metrics.gram_distance(style, out)
    g_lum = imgkit.metrics.gram_distance(style, imgkit.stylize(content, style, method="analogy", seed=0,
                                                               color="yiq", kappa=1.0))
    assert g_out * 2.0 <= g_content and g_out < g_lum
    corr = np.corrcoef(luminance(out).ravel(), luminance(content).ravel())[0, 1]
    assert corr >= 0.15  # the content stays recognisable (0.21 measured; strong coherence gives ~0)


def test_stylize_analogy_keeps_the_contents_contrast():
    # A = blur(style) has a much smaller σ than the style: remapping by A's statistics (the
    # paper's map for a real A) stretched a low-contrast texture's luminance past [0, 1]. The
    # artistic-filter set-up maps by A′'s statistics, so B′ keeps B's luminance mean and spread.
    content, style = data.photo("astronaut", 64), data.photo("brick", 64)
    y_content = luminance(content)
    y_out = luminance(imgkit.stylize(content, style, method="analogy", seed=0, color="yiq"))
    saturated = float(np.mean((y_out <= 0.01) | (y_out >= 0.99)))
    assert saturated <= 2 * float(np.mean((y_content <= 0.01) | (y_content >= 0.99))) + 0.02
    assert 0.6 <= y_out.std() / y_content.std() <= 1.4
    assert abs(float(y_out.mean() - y_content.mean())) <= 0.1


# --- errors --------------------------------------------------------------------------------------


def test_errors():
    a, b = data.photo("astronaut", 32), data.photo("coffee", 32)
    with pytest.raises(InvalidImageError, match="smaller than the 5×5 neighbourhood"):
        imgkit.analogy(a, a, b[:4, :4])
    with pytest.raises(InvalidImageError, match="smaller than the 7×7"):
        imgkit.analogy(a[:6, :6], a[:6, :6], b, patch_size=7)
    with pytest.raises(InvalidOptionError, match="levels.*use levels ≤ 3"):
        imgkit.analogy(a, a, b, levels=4)
    with pytest.raises(InvalidImageError, match="does not match"):
        imgkit.analogy(a, a[:20], b)
    with pytest.raises(InvalidOptionError, match="odd"):
        imgkit.analogy(a, a, b, patch_size=4)
    with pytest.raises(InvalidOptionError, match="kappa"):
        imgkit.analogy(a, a, b, kappa=-1.0)


def test_kernel_contract():
    k, search = feature_kernels(5, 3, coarse=True)
    assert k.shape == (5, 5, 4) and search.shape == (5, 5, 3)
    assert k[2, 2, FILTERED] == 0 and k[1, 2, FILTERED] > 0 and k[2, 3, FILTERED] == 0
    dy, _dx, c, w, rend, n_static = ak.kernel_taps(k, FILTERED)
    assert (c[: rend[n_static - 1]] != FILTERED).all() and (c[rend[n_static - 1] :] == FILTERED).all()
    assert rend[-1] == dy.size == 25 + 9 + 9 + 12 and (w > 0).all()
    T = features(*(np.zeros((6, 6), np.float32),) * 2)
    S = np.zeros((8, 8, 2), np.float32)
    s = np.zeros((6, 6, 2), np.int32)
    coh = np.zeros((6, 6), bool)
    valid = np.ones((8, 8), bool)
    with pytest.raises(ValueError, match="at least 2 from the source border"):
        ak.scanline_pass(T, S, feature_kernels(5, 3, False)[0], FILTERED, valid, s, coh)


# --- the CUDA twin (Numba's simulator) -----------------------------------------------------------


def _level_inputs(seed=0):
    """Tiny real-photo feature images (B 7×6, A 8×9 padded) and a random valid field."""
    rng = np.random.default_rng(seed)
    yb = luminance(data.photo("coffee", 16))
    ya = luminance(data.photo("astronaut", 16))
    T = features(yb[:7, :6], np.zeros((7, 6), np.float32), yb[:4, :3], yb[4:8, 3:6])
    Sa = features(ya[:8, :9], ya[4:12, 2:11] ** 2, ya[:4, :5], ya[8:12, 5:10])
    S = np.ascontiguousarray(np.pad(Sa, ((2, 2), (2, 2), (0, 0)), mode="symmetric"))
    valid = np.zeros(S.shape[:2], bool)
    valid[2:10, 2:11] = True
    approx = np.stack([rng.integers(2, 10, (7, 6)), rng.integers(2, 11, (7, 6))], axis=2).astype(np.int32)
    return T, S, valid, approx


@pytest.mark.parametrize("exact", [False, True])
def test_cuda_twin_equals_cpu_kernel(exact):
    T, S, valid, approx = _level_inputs()
    k = feature_kernels(5, 3, coarse=True)[0]
    out = {}
    for dev in ("cpu", "cuda"):
        t = T.copy()
        s = np.full((7, 6, 2), -1, np.int32)
        coh = np.zeros((7, 6), bool)
        ak.scanline_pass(t, S, k, FILTERED, valid, s, coh, approx=None if exact else approx, factor=1.5,
                         rows=(0, 4), device=dev)
        ak.scanline_pass(t, S, k, FILTERED, valid, s, coh, approx=None if exact else approx, factor=1.5,
                         rows=(4, 7), device=dev)
        out[dev] = (t, s, coh)
    for x, y in zip(out["cpu"], out["cuda"]):
        np.testing.assert_array_equal(x, y)
    assert out["cpu"][2].any() and not out["cpu"][2].all()  # both branches of BestMatch ran


def test_cuda_method_exact_equals_cpu():
    a, b = data.photo("astronaut", 10), data.photo("coffee", 10)[:9, :8]
    a_prime = _blur(a)
    # transfer="copy": the linear transfer's training field comes from PatchMatch, whose CPU and
    # CUDA fields differ (see the engine); the vote on the exact source map is deterministic
    opts = {"exact": True, "levels": 1, "transfer": "copy", "vote": True}
    cpu, i_cpu = imgkit.analogy(a, a_prime, b, seed=0, return_info=True, device="cpu", **opts)
    gpu, i_gpu = imgkit.analogy(a, a_prime, b, seed=0, return_info=True, device="cuda", **opts)
    assert i_gpu.device == "cuda"
    np.testing.assert_array_equal(i_cpu.source_maps[0], i_gpu.source_maps[0])
    np.testing.assert_array_equal(cpu, gpu)


# --- real GPU ------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_cupy_roundtrip_and_exact_equality():  # pragma: no cover - needs a GPU
    import cupy

    a, b = data.photo("astronaut", 32), data.photo("coffee", 32)
    a_prime = _blur(a)
    cpu, i_cpu = imgkit.analogy(a, a_prime, b, seed=0, exact=True, return_info=True, device="cpu")
    gpu, i_gpu = imgkit.analogy(cupy.asarray(a), cupy.asarray(a_prime), cupy.asarray(b), seed=0, exact=True,
                                return_info=True, device="cuda")
    assert isinstance(gpu, cupy.ndarray)
    for x, y in zip(i_cpu.source_maps, i_gpu.source_maps):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(cpu, gpu.get(), atol=1e-5)


@pytest.mark.gpu
def test_gpu_approximate_quality():  # pragma: no cover - needs a GPU
    a, b = data.photo("astronaut", 96), data.photo("coffee", 96)
    truth = luminance(_blur(b))
    p_cpu = _psnr(luminance(imgkit.analogy(a, _blur(a), b, seed=0, kappa=0.25, device="cpu")), truth)
    p_gpu = _psnr(luminance(imgkit.analogy(a, _blur(a), b, seed=0, kappa=0.25, device="cuda")), truth)
    assert p_gpu >= 28.0 and abs(p_gpu - p_cpu) <= 0.5
