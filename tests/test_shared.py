"""Shared array-level pieces: colour conversions and pyramids (against scikit-image/OpenCV)."""

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage import color

from imgkit import _color, _pyramid, data


@pytest.fixture(scope="module")
def img():
    return data.photo("astronaut", 48)


def test_lab_matches_skimage(img):
    np.testing.assert_allclose(_color.rgb_to_lab(img), color.rgb2lab(img), atol=2e-3)
    np.testing.assert_allclose(_color.lab_to_rgb(_color.rgb_to_lab(img)), img, atol=1e-4)


def test_yiq_matches_skimage(img):
    np.testing.assert_allclose(_color.rgb_to_yiq(img), color.rgb2yiq(img), atol=1e-5)
    np.testing.assert_allclose(_color.yiq_to_rgb(_color.rgb_to_yiq(img)), img, atol=1e-5)
    np.testing.assert_allclose(_color.luminance(img), color.rgb2yiq(img)[..., 0], atol=1e-5)


def test_blur_matches_scipy(img):
    ref = ndimage.gaussian_filter(img, (2, 2, 0), mode="reflect", truncate=3.0)
    np.testing.assert_allclose(_pyramid.blur(img, 2.0), ref, atol=1e-5)


def test_blur_tiny_image():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = _pyramid.blur(x, 3.0)
    assert out.shape == x.shape and np.isfinite(out).all()
    assert abs(out.mean() - x.mean()) < 0.5


def test_pyramid_shapes(img):
    pyr = _pyramid.gaussian_pyramid(img, levels=10, min_size=6)
    assert [p.shape[:2] for p in pyr] == [(48, 48), (24, 24), (12, 12), (6, 6)]


def test_resize_matches_opencv(img):
    ref = cv2.resize(img, (37, 53), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(_pyramid.resize(img, (53, 37)), ref, atol=1e-5)
