"""The classical baselines on real photos: plausible fill, known pixels untouched, layouts."""

import numpy as np
import pytest

import imgkit
from imgkit import data

from .conftest import hole_mae, mean_fill_mae

BASELINES = ["telea", "ns", "fsr_fast", "fsr_best", "shiftmap", "biharmonic"]


@pytest.fixture(scope="module")
def case():
    # thin scribbles over a real photo: the job every baseline is meant for
    img = data.photo("rocket", 96)
    m = data.mask("strokes", (96, 96), seed=1)
    return img, m


def test_registry_lists_the_six_baselines():
    names = {m.name for m in imgkit.list_methods("inpaint")}
    assert set(BASELINES) <= names
    for spec in imgkit.list_methods("inpaint"):
        assert spec.family in ("classical", "deep")
        assert spec.reference and spec.summary
        assert "cpu" in spec.devices
        assert isinstance(spec.defaults, dict)
        d = spec.as_dict()
        assert {"name", "task", "family", "devices", "reference", "options"} <= set(d)


@pytest.mark.parametrize("method", BASELINES)
def test_fill_is_plausible_and_known_pixels_untouched(method, case):
    img, m = case
    out = imgkit.inpaint(img, m, method=method)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out[~m], img[~m])
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    err, base = hole_mae(out, img, m), mean_fill_mae(img, m)
    assert err < 0.5 * base, f"{method}: hole MAE {err:.4f} vs mean-colour fill {base:.4f}"


@pytest.mark.parametrize("method", ["telea", "fsr_fast", "shiftmap", "biharmonic"])
def test_grey_image(method, case):
    img, m = case
    grey = img.mean(axis=2)
    out = imgkit.inpaint(grey, m, method=method)
    assert out.shape == grey.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~m], grey[~m])
    assert hole_mae(out, grey, m) < 0.5 * mean_fill_mae(grey[..., None], m)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtypes(dtype, case):
    img, m = case
    scale = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)
    x = (np.round(img * scale) if scale > 1 else img).astype(dtype)
    out = imgkit.inpaint(x, m, method="telea")
    assert out.dtype == np.float32
    expect = x.astype(np.float32) / np.float32(scale)
    np.testing.assert_array_equal(out[~m], expect[~m])


def test_rgba_alpha_passed_through(case):
    img, m = case
    alpha = np.linspace(0, 1, 96 * 96, dtype=np.float32).reshape(96, 96)
    rgba = np.concatenate([img, alpha[..., None]], axis=2)
    out = imgkit.inpaint(rgba, m, method="telea")
    assert out.shape == (96, 96, 4)
    np.testing.assert_array_equal(out[..., 3], alpha)
    rgb = imgkit.inpaint(img, m, method="telea")
    np.testing.assert_array_equal(out[..., :3], rgb)


def test_single_channel_3d(case):
    img, m = case
    x = img[..., :1]
    out = imgkit.inpaint(x, m, method="ns")
    assert out.shape == (96, 96, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[~m], x[~m])
    # one layout inside: the same fill as the 2-D image of that channel
    np.testing.assert_array_equal(out[..., 0], imgkit.inpaint(x[..., 0], m, method="ns"))
    assert hole_mae(out, x, m) < 0.5 * mean_fill_mae(x, m)


def test_radius_option_changes_the_fill(case):
    img, m = case
    a = imgkit.inpaint(img, m, method="telea", radius=1)
    b = imgkit.inpaint(img, m, method="telea", radius=9)
    assert not np.array_equal(a, b)


def test_return_info(case):
    img, m = case
    _, info = imgkit.inpaint(img, m, method="ns", return_info=True, seed=5)
    assert isinstance(info, imgkit.Info)
    assert info.method == "ns" and info.task == "inpaint" and info.device == "cpu"
    assert info.seed == 5 and info.options == {"radius": 3.0}
    assert info.timings["total"] > 0


def test_auto_device_is_cpu_without_gpu(case):
    img, m = case
    _, info = imgkit.inpaint(img, m, method="telea", device="auto", return_info=True)
    assert info.device == "cpu"


def test_import_does_not_load_torch_or_cupy():
    import subprocess
    import sys

    code = ("import sys, imgkit; imgkit.list_methods(); "
            "print(any(m in sys.modules for m in ('torch', 'cupy')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_inpaint_function_not_shadowed_by_subpackage():
    import importlib

    imgkit.list_methods()
    importlib.import_module("imgkit.inpainting.opencv")
    assert callable(imgkit.inpaint)


def test_fsr_beats_diffusion_on_texture():
    # frequency-selective reconstruction models texture; diffusion cannot
    img = data.photo("brick", 96)
    m = data.mask("box", (96, 96), area=0.06)
    fsr = hole_mae(imgkit.inpaint(img, m, method="fsr_fast"), img, m)
    telea = hole_mae(imgkit.inpaint(img, m, method="telea"), img, m)
    assert fsr < 0.6 * telea
