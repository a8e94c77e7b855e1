"""Criminisi exemplar inpainting: exactness against the NumPy reference, CPU/CUDA twins,
quality on a real texture, errors, the teaching record, progress and stopping."""

import os

import numpy as np
import pytest
from imgkit.kernels import criminisi as kc

import imgkit
from benchmarks.reference.naive_criminisi import naive_criminisi
from imgkit import data
from imgkit.errors import InvalidImageError, InvalidOptionError, NoSourceError
from imgkit.inpainting.criminisi import QUANT, features
from imgkit.metrics import psnr


def _run(img, mask, device="cpu", **opts):
    return imgkit.inpaint(img, mask, method="criminisi", device=device, return_info=True, **opts)


def _two_holes_at_border(n):
    m = np.zeros((n, n), bool)
    m[0:6, n - 7 : n] = True  # touches the top and right borders (corner)
    m[n // 2 : n // 2 + 5, 4:10] = True  # a second, disjoint hole
    return m


# three real photos, three masks (one touching the border, with two disjoint holes), plus
# the option variants: every one must equal the plain NumPy reference bit for bit
CASES = {
    "astronaut-box": ("astronaut", 32, lambda n: data.mask("box", (n, n)), {"patch_size": 5}),
    "coffee-blob": ("coffee", 30, lambda n: data.mask("blobs", (n, n), seed=3, area=0.12),
                    {"patch_size": 5}),
    "chelsea-border-2holes": ("chelsea", 28, _two_holes_at_border, {"patch_size": 5}),
    "rocket-rgb-cheng-window": ("rocket", 28, lambda n: data.mask("thick", (n, n), seed=2),
                                {"patch_size": 5, "color_space": "rgb", "priority": "cheng",
                                 "search": 6}),
    "camera-grey-p3": ("camera", 24, lambda n: data.mask("strokes", (n, n), seed=4),
                       {"patch_size": 3}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cpu_equals_numpy_reference_bit_for_bit(case):
    name, n, mk, opts = CASES[case]
    img = data.photo(name, n, rgb=name != "camera")
    if img.ndim == 2:
        img = img[:, :, None]
    mask = mk(n)
    out, info = _run(img, mask, **opts)
    ref, order, src, centres = naive_criminisi(img, mask, **opts)
    np.testing.assert_array_equal(info.centres, centres)
    np.testing.assert_array_equal(info.fill_order, order)
    np.testing.assert_array_equal(info.source, src)
    np.testing.assert_array_equal(out, ref)
    assert (info.fill_order[mask] >= 0).all() and (info.fill_order[~mask] == -1).all()


def test_known_pixels_untouched_and_exemplar_pixels_copied(astronaut64, box64):
    out, info = _run(astronaut64, box64, patch_size=7)
    assert out.dtype == np.float32 and out.shape == astronaut64.shape
    np.testing.assert_array_equal(out[~box64], astronaut64[~box64])
    ys, xs = np.nonzero(box64)
    sy, sx = info.source[ys, xs, 0], info.source[ys, xs, 1]
    assert not box64[sy, sx].any()  # every source pixel lies in the original known region
    np.testing.assert_array_equal(out[ys, xs], astronaut64[sy, sx])


def test_beats_telea_on_a_real_texture():
    img = data.photo("brick", 64)
    mask = data.mask("box", (64, 64), area=0.06)
    telea = psnr(imgkit.inpaint(img, mask, method="telea"), img, mask)
    for p in (7, 9):
        out = imgkit.inpaint(img, mask, method="criminisi", patch_size=p)
        assert psnr(out, img, mask) > telea + 0.5, (p, psnr(out, img, mask), telea)


def test_grey_2d_image_and_hole_in_a_corner():
    img = data.photo("camera", 32, rgb=False)
    mask = np.zeros((32, 32), bool)
    mask[-5:, -5:] = True  # the corner pixel's patch can never be a full patch
    out, info = _run(img, mask, patch_size=5)
    assert out.shape == (32, 32) and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], img[~mask])
    ref = naive_criminisi(img[:, :, None], mask, patch_size=5)[0]
    np.testing.assert_array_equal(out, ref[:, :, 0])
    assert (info.fill_order[mask] >= 0).all()


def test_info_contents(astronaut64, box64):
    _, info = _run(astronaut64, box64, patch_size=7)
    r = 3
    assert info.method == "criminisi" and info.device == "cpu" and not info.stopped
    assert info.steps == len(info.centres) == len(info.priorities) == len(info.distances)
    assert info.steps == len(info.source_centres) == info.fill_order.max() + 1
    assert info.fallbacks == 0
    # every pixel filled at step s lies in the patch of centre s and came from its exemplar
    ys, xs = np.nonzero(box64)
    s = info.fill_order[ys, xs]
    c, sc = info.centres[s], info.source_centres[s]
    assert (np.abs(ys - c[:, 0]) <= r).all() and (np.abs(xs - c[:, 1]) <= r).all()
    np.testing.assert_array_equal(info.source[ys, xs] - sc, np.stack([ys, xs], 1) - c)
    # confidence: 1 on known pixels, C(p̂) in (0, 1) on filled ones, constant within a step
    assert (info.confidence[~box64] == 1).all()
    conf = info.confidence[ys, xs]
    assert ((conf > 0) & (conf < 1)).all()
    for step in (0, info.steps // 2, info.steps - 1):
        assert np.unique(conf[s == step]).size == 1
    assert conf[s == 0][0] > conf[s == info.steps - 1][0]  # confidence decays inwards
    assert (info.priorities >= 0).all() and (info.distances >= 0).all()
    assert info.timings["search"] > 0 and info.timings["total"] >= info.timings["search"]
    # the reported distance is the SSD of the exemplar over the target's known pixels
    feat = features(astronaut64, "lab")[0].astype(np.int64)
    order_before = info.fill_order
    step = info.steps // 2
    (y, x), (qy, qx) = info.centres[step], info.source_centres[step]
    ssd = 0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            yy, xx = y + dy, x + dx
            if 0 <= yy < 64 and 0 <= xx < 64 and (not box64[yy, xx] or order_before[yy, xx] < step):
                tv = feat[yy, xx] if not box64[yy, xx] else feat[tuple(info.source[yy, xx])]
                ssd += int(((feat[qy + dy, qx + dx] - tv) ** 2).sum())
    assert info.distances[step] == ssd / QUANT**2


def test_deterministic_whatever_the_seed(astronaut64, box64):
    a = imgkit.inpaint(astronaut64, box64, method="criminisi", patch_size=7, seed=1)
    b = imgkit.inpaint(astronaut64, box64, method="criminisi", patch_size=7, seed=2)
    c = imgkit.inpaint(astronaut64, box64, method="criminisi", patch_size=7)
    assert a.tobytes() == b.tobytes() == c.tobytes()


def test_callback_watches_and_stops(astronaut64, box64):
    seen = []

    def cb(step, total, state):
        seen.append((step, total, dict(state)))
        return len(seen) == 3

    out, info = imgkit.inpaint(astronaut64, box64, method="criminisi", patch_size=7,
                               callback=cb, progress=True, return_info=True)
    assert info.stopped and info.steps == 3 and len(seen) == 3
    assert seen[-1][1] == int(box64.sum())
    assert seen[-1][0] == sum(s[2]["filled"] for s in seen)  # steps count hole pixels
    assert seen[0][2]["centre"] == tuple(info.centres[0])
    filled = info.fill_order >= 0
    unfilled = box64 & ~filled
    assert filled.sum() == seen[-1][0] and unfilled.any()
    np.testing.assert_array_equal(out[unfilled], astronaut64[unfilled])  # keep input values
    np.testing.assert_array_equal(out[~box64], astronaut64[~box64])


def test_window_search_falls_back_to_full_search():
    img = data.photo("coffee", 32)
    mask = np.zeros((32, 32), bool)
    mask[6:26, 6:26] = True  # no full 5x5 source patch within 2 pixels of inner targets
    out, info = _run(img, mask, patch_size=5, search=2)
    assert info.fallbacks > 0
    ref = naive_criminisi(img, mask, patch_size=5, search=2)[0]
    np.testing.assert_array_equal(out, ref)


def test_errors():
    img = data.photo("astronaut", 16)
    mask = np.zeros((16, 16), bool)
    mask[5:9, 5:9] = True
    with pytest.raises(InvalidImageError, match=r"smaller than the patch \(patch_size=17\)"):
        imgkit.inpaint(img, mask, method="criminisi", patch_size=17)
    with pytest.raises(InvalidImageError, match="patch_size"):
        imgkit.inpaint(img[:8], mask[:8], method="criminisi")
    big = np.ones((16, 16), bool)
    big[:3, :] = False  # known pixels exist, but no 9x9 patch is wholly known
    with pytest.raises(NoSourceError, match="no source patch"):
        imgkit.inpaint(img, big, method="criminisi")
    for bad in ({"patch_size": 8}, {"patch_size": 1}, {"search": "near"}, {"search": 0},
                {"priority": "sum"}, {"color_space": "hsv"}, {"patchsize": 9}):
        with pytest.raises(InvalidOptionError):
            imgkit.inpaint(img, mask, method="criminisi", **bad)


def test_listed_with_both_devices():
    spec = imgkit.get_method("criminisi", "inpaint")
    assert spec.devices == ("cpu", "cuda") and spec.family == "classical"
    assert spec.defaults == {"patch_size": 9, "search": "full", "priority": "product",
                             "color_space": "lab"}
    assert spec.option("search").parse("12", "criminisi") == 12
    assert spec.option("search").parse("full", "criminisi") == "full"


# -- kernels -----------------------------------------------------------------------------------


def _state(seed, H=11, W=13, C=3, p=3, frac=0.25):
    rng = np.random.default_rng(seed)
    # few distinct values so that ties between candidates are frequent
    feats = rng.integers(-3, 4, size=(C, H, W)).astype(np.int16) * 100
    known = (rng.random((H, W)) > frac).astype(np.uint8)
    hole = known == 0
    valid = np.zeros((H - p + 1, W - p + 1), np.uint8)
    for y in range(H - p + 1):
        for x in range(W - p + 1):
            valid[y, x] = not hole[y : y + p, x : x + p].any()
    return feats, known, valid


def _brute(feats, known, valid, ty, tx, box):
    H, W = feats.shape[1:]
    p = H - valid.shape[0] + 1
    best = None
    y0, y1, x0, x1 = box
    for y in range(max(y0, 0), min(y1, valid.shape[0])):
        for x in range(max(x0, 0), min(x1, valid.shape[1])):
            if not valid[y, x]:
                continue
            s = 0
            for dy in range(p):
                for dx in range(p):
                    yy, xx = ty + dy, tx + dx
                    if 0 <= yy < H and 0 <= xx < W and known[yy, xx]:
                        d = feats[:, y + dy, x + dx].astype(np.int64) - feats[:, yy, xx]
                        s += int((d * d).sum())
            if best is None or (s, y, x) < best:
                best = (s, y, x)
    return best or (kc.INT64_MAX, -1, -1)


@pytest.mark.parametrize("seed", range(2))
def test_search_kernels_cpu_cuda_brute_force_agree(seed):
    feats, known, valid = _state(seed)
    H, W = feats.shape[1:]
    rng = np.random.default_rng(100 + seed)
    # a source map as a fill would leave it (filled pixels copied from somewhere): speed only
    source = np.full((H, W, 2), -1, np.int32)
    hole = known == 0
    source[hole] = rng.integers(0, min(H, W) - 2, size=(int(hole.sum()), 2))
    for _ in range(3):
        ty, tx = int(rng.integers(-2, H - 1)), int(rng.integers(-2, W - 1))
        for box in ((0, 99, 0, 99), (ty - 3, ty + 4, tx - 3, tx + 4), (20, 30, 0, 5)):
            want = _brute(feats, known, valid, ty, tx, box)
            assert kc.masked_ssd_search(feats, valid, known, ty, tx, box) == want
            assert kc.masked_ssd_search(feats, valid, known, ty, tx, box, ntask=3) == want
            assert kc.masked_ssd_search(feats, valid, known, ty, tx, box, device="cuda") == want
            assert kc.masked_ssd_search(feats, valid, known, ty, tx, box, source=source,
                                        counts=kc.valid_counts(valid), device="cpu") == want
            if want[1] >= 0:
                assert kc.masked_ssd_search(feats, valid, known, ty, tx, box, bound=want[0],
                                            device="cuda") == want


def test_kernel_wrappers_share_one_signature_and_check_device():
    import inspect

    for fn in (kc.masked_ssd_search, kc.fill_patch, kc.update_priorities):
        param = inspect.signature(fn).parameters["device"]
        assert param.kind is param.KEYWORD_ONLY and param.default == "cpu"
    assert not [n for n in kc.__all__ if n.endswith("_cuda")]
    feats, known, valid = _state(0)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        kc.masked_ssd_search(feats, valid, known, 0, 0, device="gpu")
    with pytest.raises(ValueError, match="features must be a \\(C, H, W\\) int16"):
        kc.masked_ssd_search(feats.astype(np.int32), valid, known, 0, 0, device="cuda")


def test_valid_counts_are_row_prefix_counts():
    _, _, valid = _state(3)
    counts = kc.valid_counts(valid)
    assert counts.dtype == np.int32 and counts.shape == (valid.shape[0], valid.shape[1] + 1)
    np.testing.assert_array_equal(counts[:, 0], 0)
    np.testing.assert_array_equal(counts[:, 1:], np.cumsum(valid, axis=1))


def test_search_kernel_large_ssd_takes_the_exact_int64_path():
    # SSDs above the int32 lane limit (2**30) must still be exact
    feats, known, valid = _state(7, H=20, W=70, p=5, frac=0.05)
    feats = (feats // 100 * 5000).astype(np.int16)
    got = kc.masked_ssd_search(feats, valid, known, 3, 4)
    assert got == _brute(feats, known, valid, 3, 4, (0, 99, 0, 99))
    assert got[0] > kc.LIMIT


def test_priority_and_fill_kernels_cpu_equal_cuda():
    img = data.photo("chelsea", 14)
    mask = _two_holes_at_border(14)
    feat, _, alpha = features(img, "lab")
    F = np.ascontiguousarray(feat.transpose(2, 0, 1)).astype(np.int16)
    J = feat[:, :, 0].astype(np.int32).copy()
    known = (~mask).astype(np.uint8)
    conf = np.where(mask, 0, kc.CONF_ONE).astype(np.int32)
    maps = []
    for dev in ("cpu", "cuda"):
        pri, cterm, rowmax = np.full((14, 14), -1, np.int64), np.zeros((14, 14), np.int32), \
            np.full(14, -1, np.int64)
        for rule in (1, 0):
            assert kc.update_priorities(J, known, conf, pri, cterm, rowmax, (0, 14, 0, 14), 5,
                                        alpha, rule, device=dev) is None
        maps.append((pri, cterm, rowmax))
    for a, b in zip(*maps):
        np.testing.assert_array_equal(a, b)
    pri, cterm, rowmax = maps[0]
    assert (pri[mask & (cterm > 0)] > 0).any() and (pri[~mask] == -1).all()
    np.testing.assert_array_equal(rowmax, pri.max(axis=1))
    y, x = np.unravel_index(int(np.argmax(pri)), pri.shape)
    outs = []
    yy, xx = np.ogrid[:14, :14]
    in_patch = (np.abs(yy - y) <= 2) & (np.abs(xx - x) <= 2)
    for dev in ("cpu", "cuda"):
        arrs = [img.copy(), F.copy(), J.copy(), conf.copy(), cterm.copy(), known.copy(),
                np.full((14, 14), -1, np.int32), np.full((14, 14, 2), -1, np.int32)]
        # the exemplar at (0, 0) is wholly known; both devices return the pixels filled
        n = kc.fill_patch(*arrs, y - 2, x - 2, 0, 0, 5, 7, device=dev)
        assert n == int((mask & in_patch).sum()) > 0
        outs.append(arrs)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    order = outs[0][6]
    assert (order[mask & in_patch] == 7).all() and (order[~(mask & in_patch)] == -1).all()


# -- the CUDA path through the public API (simulator here, the real GPU with -m gpu) -----------


def _tiny_two_holes(n):
    m = np.zeros((n, n), bool)
    m[0:3, n - 3 : n] = True  # touches the corner
    m[n // 2 : n // 2 + 2, 3:6] = True
    return m


SIM_CASES = [
    ("astronaut", 12, _tiny_two_holes, {"patch_size": 3}),
    ("coffee", 14, lambda n: data.mask("box", (n, n), area=0.08),
     {"patch_size": 5, "priority": "cheng", "search": 3, "color_space": "rgb"}),
]


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0"),
                    reason="the CUDA simulator is off (real-GPU run): see the gpu tests")
@pytest.mark.parametrize("case", range(len(SIM_CASES)))
def test_cuda_device_equals_cpu_under_simulator(case):
    name, n, mk, opts = SIM_CASES[case]
    img, mask = data.photo(name, n), mk(n)
    a, ia = _run(img, mask, "cpu", **opts)
    b, ib = _run(img, mask, "cuda", **opts)
    assert ib.device == "cuda"
    np.testing.assert_array_equal(a, b)
    for field in ("fill_order", "source", "confidence", "centres", "priorities", "distances"):
        np.testing.assert_array_equal(getattr(ia, field), getattr(ib, field))


@pytest.mark.gpu
@pytest.mark.parametrize("size", [64, 160])
def test_real_gpu_cupy_in_cupy_out_equals_cpu(size):
    import cupy

    img = data.photo("astronaut", size)
    mask = data.mask("blobs", (size, size), area=0.1)
    a, ia = _run(img, mask, "cpu")
    b, ib = imgkit.inpaint(cupy.asarray(img), cupy.asarray(mask), method="criminisi",
                           return_info=True)
    assert isinstance(b, cupy.ndarray) and ib.device == "cuda"
    np.testing.assert_array_equal(a, b.get())
    np.testing.assert_array_equal(ia.fill_order, ib.fill_order)
    np.testing.assert_array_equal(ia.source, ib.source)
