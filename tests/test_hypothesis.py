"""Random shapes, dtypes and masks: imgkit either fills or raises an ImgkitError; never crashes."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgkit
from imgkit import ImgkitError


@st.composite
def cases(draw):
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 24))
    c = draw(st.sampled_from([None, 1, 3, 4]))
    dtype = draw(st.sampled_from(["uint8", "uint16", "float32", "float64"]))
    shape = (h, w) if c is None else (h, w, c)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == "uint8":
        img = rng.integers(0, 256, shape).astype(np.uint8)
    elif dtype == "uint16":
        img = rng.integers(0, 65536, shape).astype(np.uint16)
    else:
        img = rng.random(shape).astype(dtype)
    frac = draw(st.floats(0, 1))
    mask = rng.random((h, w)) < frac
    method = draw(st.sampled_from(["telea", "ns", "biharmonic", "fsr_fast", "shiftmap"]))
    return img, mask, method


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_no_crash(case):
    img, mask, method = case
    try:
        out = imgkit.inpaint(img, mask, method=method)
    except ImgkitError:
        assert mask.all()  # the only legitimate refusal for valid input
        return
    assert out.shape == img.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    ref = imgkit.inpaint(img, np.zeros_like(mask), method=method)
    np.testing.assert_array_equal(out[~mask], ref[~mask])
