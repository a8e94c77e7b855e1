"""The benchmark photo corpus: fixed split, real photos of the promised size, seeded masks."""

from __future__ import annotations

import numpy as np
import pytest

from imgkit import data
from imgkit.errors import InvalidOptionError


def test_corpus_split_is_fixed_and_large_enough():
    names = [p.name for p in data.CORPUS]
    assert len(names) == len(set(names))
    photos = [p for p in data.CORPUS if p.category != "graphics"]
    assert len(photos) >= 40
    tune, held = data.corpus("tune"), data.corpus("heldout")
    assert len(tune) >= 25 and len(held) >= 10
    assert {p.name for p in tune}.isdisjoint(p.name for p in held)
    assert len(tune) + len(held) == len(data.CORPUS)
    # every category is on both sides of the split, so held-out claims cover each kind of photo
    for cat in {p.category for p in data.CORPUS}:
        assert any(p.category == cat for p in tune) and any(p.category == cat for p in held), cat
    for p in data.CORPUS:
        assert "opencv-doc" not in p.package and "opencv" not in p.source


def test_corpus_rejects_unknown_split():
    with pytest.raises(InvalidOptionError, match="split"):
        data.corpus("test")


def _check_photo(entry):
    full = data._load_corpus(entry)
    assert min(full.shape[:2]) >= 512, (entry.name, full.shape)
    img = data.photo(entry.name, 64)
    assert img.shape == (64, 64, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert img.std() > 0.01  # a real picture, not a blank file
    img[:] = 0  # the cached copy is not handed out
    assert data.photo(entry.name, 64).std() > 0.01


@pytest.mark.parametrize("name", [p.name for p in data.CORPUS if p.source.startswith("skimage:")])
def test_bundled_corpus_photos_load(name):
    _check_photo(data._CORPUS_BY_NAME[name])


@pytest.mark.parametrize("name", [p.name for p in data.CORPUS if not p.source.startswith("skimage:")])
def test_packaged_corpus_photos_load(name):
    entry = data._CORPUS_BY_NAME[name]
    if not entry.available:
        pytest.skip(f"{entry.package} is not installed (make corpus)")
    _check_photo(entry)


def test_missing_package_is_a_clear_error(monkeypatch):
    entry = data.CorpusPhoto("ghost", "no-such-wallpapers", "CC0", "smooth", "tune",
                             "/nonexistent/*.jpg")
    assert not entry.available
    monkeypatch.setitem(data._CORPUS_BY_NAME, "ghost", entry)
    with pytest.raises(Exception, match="no-such-wallpapers"):
        data.photo("ghost", 32)


@pytest.mark.parametrize("size", [128, 256, 512])
def test_scribbles_are_dense_thin_and_seeded(size):
    import cv2

    for seed in range(4):
        m = data.mask("scribbles", (size, size), seed=seed)
        assert m.dtype == bool and m.shape == (size, size)
        assert 0.10 <= m.mean() <= 0.27
        assert np.array_equal(m, data.mask("scribbles", (size, size), seed=seed))
        # thin: a few erosions remove every line (1–5 px at 256 px, scaled with the side)
        k = max(1, int(np.ceil(3 * size / 256)))
        eroded = cv2.erode(m.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8))
        assert eroded.mean() < 0.1 * m.mean()
    assert not np.array_equal(data.mask("scribbles", (size, size), seed=0),
                              data.mask("scribbles", (size, size), seed=1))


def test_corpus_command_lists_every_photo(capsys):
    from benchmarks.suite.corpus import main

    assert main(["--split", "heldout"]) == 0
    out = capsys.readouterr().out
    for p in data.corpus("heldout"):
        assert p.name in out
    assert "16 heldout" in out
