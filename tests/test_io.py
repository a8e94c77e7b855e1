"""load_image / save_image / load_mask round trips and their errors."""

import numpy as np
import pytest

import imgkit
from imgkit import ImageFileError, ImageFileNotFoundError


def test_png_round_trip_rgb(tmp_path, astronaut64):
    p = imgkit.save_image(tmp_path / "a.png", astronaut64)
    back = imgkit.load_image(p)
    assert back.dtype == np.uint8 and back.shape == (64, 64, 3)
    np.testing.assert_array_equal(back, np.round(astronaut64 * 255).astype(np.uint8))


def test_png_round_trip_16bit_rgba(tmp_path):
    x = np.random.default_rng(1).random((10, 12, 4)).astype(np.float32)
    imgkit.save_image(tmp_path / "a.png", x, bit_depth=16)
    back = imgkit.load_image(tmp_path / "a.png")
    assert back.dtype == np.uint16 and back.shape == (10, 12, 4)
    np.testing.assert_allclose(back / 65535, x, atol=1 / 65535)


def test_grey_and_as_gray(tmp_path, astronaut64):
    from skimage.color import rgb2gray

    grey = astronaut64[..., 0]
    imgkit.save_image(tmp_path / "g.png", grey)
    back = imgkit.load_image(tmp_path / "g.png")
    assert back.dtype == np.uint8 and back.shape == (64, 64)
    np.testing.assert_array_equal(back, np.round(grey * 255).astype(np.uint8))
    imgkit.save_image(tmp_path / "c.png", astronaut64)
    g = imgkit.load_image(tmp_path / "c.png", as_gray=True)
    assert g.dtype == np.uint8 and g.shape == (64, 64)
    # the luminance of the stored 8-bit RGB (BT.709 weights, as scikit-image), rounded
    want = rgb2gray(np.round(astronaut64 * 255).astype(np.uint8)) * 255
    assert np.abs(g - want).max() <= 0.5 + 1e-6 and np.ptp(g) > 100


def test_load_mask_any_channel(tmp_path):
    m = np.zeros((8, 8, 3), np.uint8)
    m[2, 3, 1] = 255
    imgkit.save_image(tmp_path / "m.png", m)
    mask = imgkit.load_mask(tmp_path / "m.png")
    assert mask.dtype == bool and mask.sum() == 1 and mask[2, 3]


def test_missing_file():
    with pytest.raises(ImageFileNotFoundError, match="not found") as e:
        imgkit.load_image("/no/such/file.png")
    assert isinstance(e.value, FileNotFoundError)


def test_not_an_image(tmp_path):
    p = tmp_path / "text.png"
    p.write_text("hello, I am not a PNG")
    with pytest.raises(ImageFileError, match="not a readable image"):
        imgkit.load_image(p)


def test_truncated_png(tmp_path, astronaut64):
    p = imgkit.save_image(tmp_path / "a.png", astronaut64)
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ImageFileError, match="not a readable image"):
        imgkit.load_image(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(ImageFileError):
        imgkit.load_image(p)


def test_save_into_missing_folder(tmp_path, astronaut64):
    with pytest.raises(ImageFileNotFoundError, match="does not exist"):
        imgkit.save_image(tmp_path / "nope" / "a.png", astronaut64)
    assert not (tmp_path / "nope").exists()


def test_save_unknown_extension(tmp_path, astronaut64):
    with pytest.raises(ImageFileError, match="unknown image extension"):
        imgkit.save_image(tmp_path / "a.xyz", astronaut64)
    assert list(tmp_path.iterdir()) == []


def test_save_bad_image_leaves_no_file(tmp_path):
    with pytest.raises(imgkit.InvalidImageError):
        imgkit.save_image(tmp_path / "a.png", np.full((4, 4), np.nan, np.float32))
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic_on_writer_failure(tmp_path, astronaut64, monkeypatch):
    import cv2

    target = tmp_path / "a.png"
    imgkit.save_image(target, astronaut64)
    before = target.read_bytes()

    def boom(path, arr):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise cv2.error("disk full")

    monkeypatch.setattr(cv2, "imwrite", boom)
    with pytest.raises(ImageFileError, match="disk full"):
        imgkit.save_image(target, np.zeros((3, 3)))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
