"""The bad-input catalogue of DESIGN.md: each case its own test, with type and message."""

import numpy as np
import pytest

import imgkit
from imgkit import (
    DeviceUnavailableError,
    ImgkitError,
    InvalidImageError,
    InvalidMaskError,
    InvalidOptionError,
    NoSourceError,
    UnknownMethodError,
)

IMG = np.random.default_rng(0).random((24, 24, 3), dtype=np.float32)
MASK = np.zeros((24, 24), bool)
MASK[8:14, 8:14] = True


def test_shape_mismatch_image_mask():
    with pytest.raises(InvalidMaskError, match=r"mask shape \(20, 24\).*\(24, 24\)") as e:
        imgkit.inpaint(IMG, MASK[:20], method="telea")
    assert isinstance(e.value, ValueError) and isinstance(e.value, ImgkitError)


def test_empty_mask_returns_copy():
    out = imgkit.inpaint(IMG, np.zeros((24, 24), bool), method="telea")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, IMG)
    assert out is not IMG


def test_mask_covering_everything():
    with pytest.raises(NoSourceError, match="covers every pixel") as e:
        imgkit.inpaint(IMG, np.ones((24, 24), bool), method="telea")
    assert isinstance(e.value, ValueError)


def test_hole_touching_border():
    m = np.zeros((24, 24), bool)
    m[:5, :7] = True
    out = imgkit.inpaint(IMG, m, method="telea")
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[~m], IMG[~m])


def test_nan_in_float_image():
    bad = IMG.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(InvalidImageError, match="1 NaN or infinite"):
        imgkit.inpaint(bad, MASK, method="telea")


def test_inf_in_float_image():
    bad = IMG.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        imgkit.inpaint(bad, MASK, method="telea")


def test_values_outside_unit_range():
    with pytest.raises(InvalidImageError, match=r"values in \[0\.0\d+, 254\.\d+\].*must lie in \[0, 1\]"):
        imgkit.inpaint(IMG * 255, MASK, method="telea")


def test_negative_values():
    with pytest.raises(InvalidImageError, match=r"\[-0\.4\d*, 0\.4"):
        imgkit.inpaint(IMG - 0.5, MASK, method="telea")


@pytest.mark.parametrize(
    ("dtype", "pattern"),
    [(np.complex64, "dtype complex64"), (object, "dtype object"), (bool, "dtype bool"),
     (np.int32, "dtype int32.*uint8 or uint16"), (np.uint32, "dtype uint32")],
)
def test_wrong_dtype(dtype, pattern):
    bad = (IMG > 0.5).astype(dtype)
    with pytest.raises(InvalidImageError, match=pattern):
        imgkit.inpaint(bad, MASK, method="telea")


def test_four_d_array():
    with pytest.raises(InvalidImageError, match="4 dimensions.*one image per call"):
        imgkit.inpaint(IMG[None], MASK, method="telea")


def test_zero_size_array():
    with pytest.raises(InvalidImageError, match="empty"):
        imgkit.inpaint(np.zeros((0, 24, 3), np.float32), MASK, method="telea")


def test_wrong_channel_count():
    with pytest.raises(InvalidImageError, match="2 channels"):
        imgkit.inpaint(IMG[:, :, :2], MASK, method="telea")


def test_channels_first_hint():
    with pytest.raises(InvalidImageError, match="moveaxis"):
        imgkit.inpaint(np.moveaxis(IMG, 2, 0)[:, :, :20], MASK[:3, :20], method="telea")


def test_string_instead_of_array():
    with pytest.raises(InvalidImageError, match="load_image"):
        imgkit.inpaint("photo.png", MASK, method="telea")


def test_mask_wrong_dtype():
    with pytest.raises(InvalidMaskError, match="mask has dtype complex"):
        imgkit.inpaint(IMG, MASK.astype(np.complex64), method="telea")


def test_mask_3d_colour():
    with pytest.raises(InvalidMaskError, match="mask.any"):
        imgkit.inpaint(IMG, np.stack([MASK] * 3, -1), method="telea")


def test_mask_nan():
    m = MASK.astype(float)
    m[0, 0] = np.nan
    with pytest.raises(InvalidMaskError, match="NaN"):
        imgkit.inpaint(IMG, m, method="telea")


def test_unknown_method_lists_available():
    with pytest.raises(UnknownMethodError, match="no-such.*available:.*telea") as e:
        imgkit.inpaint(IMG, MASK, method="no-such")
    assert isinstance(e.value, LookupError)


def test_unknown_method_suggests_close_name():
    with pytest.raises(LookupError, match="did you mean 'telea'"):
        imgkit.inpaint(IMG, MASK, method="tela")


def test_unknown_option_lists_accepted():
    with pytest.raises(InvalidOptionError, match="unknown option 'radiuss'.*did you mean 'radius'.*radius=3"):
        imgkit.inpaint(IMG, MASK, method="telea", radiuss=2)


def test_option_out_of_range():
    with pytest.raises(InvalidOptionError, match="'radius'.*must be ≥ 1.*got 0"):
        imgkit.inpaint(IMG, MASK, method="telea", radius=0)


def test_option_wrong_type():
    with pytest.raises(InvalidOptionError, match="'radius'.*wrong type str"):
        imgkit.inpaint(IMG, MASK, method="telea", radius="3")


def test_bad_device_name():
    with pytest.raises(InvalidOptionError, match="device must be one of"):
        imgkit.inpaint(IMG, MASK, method="telea", device="gpu")


def test_cuda_for_cpu_only_method():
    with pytest.raises(DeviceUnavailableError, match="no CUDA implementation") as e:
        imgkit.inpaint(IMG, MASK, method="telea", device="cuda")
    assert isinstance(e.value, RuntimeError)


def test_bad_seed():
    with pytest.raises(InvalidOptionError, match="seed"):
        imgkit.inpaint(IMG, MASK, method="telea", seed=-1)


def test_bad_callback():
    with pytest.raises(InvalidOptionError, match="callback"):
        imgkit.inpaint(IMG, MASK, method="telea", callback=3)


def test_bad_task_in_list_methods():
    with pytest.raises(InvalidOptionError, match="task"):
        imgkit.list_methods("denoise")
