"""Deep Image Prior through the public API: fill quality on a real photo, known pixels kept,
reproducibility, what ``info`` carries, early stop, reduced working size, CLI."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import imgkit  # noqa: E402
from imgkit import data  # noqa: E402
from imgkit.cli import main  # noqa: E402
from imgkit.inpainting.dip import channel_plan, snapshot_steps  # noqa: E402

from .conftest import hole_mae, mean_fill_mae  # noqa: E402

# small network for the tests: widths 8, 16, 32, 64 (the default is 16 … 128 over 5 levels)
SMALL = dict(channels=8, depth=4, input_depth=16)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


@pytest.fixture(scope="module")
def photo_case():
    img = data.photo("astronaut", 64)
    m = data.mask("strokes", (64, 64), seed=3) | data.mask("box", (64, 64), area=0.03)
    return img, m


@pytest.fixture(scope="module")
def fitted(photo_case):
    img, m = photo_case
    return imgkit.inpaint(img, m, method="dip", seed=7, iterations=250, return_info=True, **SMALL)


def test_listed():
    spec = imgkit.get_method("dip", "inpaint")
    assert spec.family == "deep" and spec.backend == "torch" and spec.devices == ("cpu", "cuda")
    assert "Ulyanov" in spec.reference and "Deep Image Prior" in spec.reference
    assert {"iterations", "lr", "depth", "channels", "skip_channels", "input_depth",
            "input_noise", "average", "max_size", "snapshots"} <= set(spec.defaults)
    assert spec.defaults["max_size"] == 512 and spec.defaults["lr"] == 0.01
    assert "dip" in {s.name for s in imgkit.list_methods("inpaint") if s.family == "deep"}


def test_fill_beats_mean_colour_and_keeps_known_pixels(photo_case, fitted):
    img, m = photo_case
    out, info = fitted
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out[~m], img[~m])
    err, base = hole_mae(out, img, m), mean_fill_mae(img, m)
    assert err < 0.5 * base, f"DIP hole MAE {err:.4f} vs mean-colour fill {base:.4f}"
    assert info.loss[-1] < 0.1 * info.loss[0]


def test_info_contents(photo_case, fitted):
    img, m = photo_case
    _, info = fitted
    assert info.method == "dip" and info.device == "cpu" and info.seed == 7
    assert info.loss.dtype == np.float32 and info.loss.shape == (250,) and np.isfinite(info.loss).all()
    assert info.iterations_run == 250 and not info.stopped
    assert info.work_shape == (64, 64) and info.scale == 1.0
    assert info.snapshot_iterations == snapshot_steps(250, 6) == [0, 1, 4, 16, 63, 250]
    assert len(info.snapshots) == 6
    assert all(s.shape == img.shape and s.dtype == np.float32 for s in info.snapshots)
    # the image emerges from noise: each snapshot is closer to the photo on the known pixels
    errs = [float(np.abs(s - img)[~m].mean()) for s in info.snapshots]
    assert errs[-1] < 0.5 * errs[0] and errs[-1] == min(errs)
    assert info.net["depth"] == 4 and info.net["down"] == [8, 16, 32, 64]
    assert info.net["skip"] == [16] * 4 and info.net["parameters"] > 1000
    assert {"setup", "optimise", "total"} <= set(info.timings)


def test_same_seed_same_bytes_other_seed_differs(photo_case):
    img, m = photo_case
    img, m = img[:40, :48], m[:40, :48]
    run = dict(method="dip", iterations=15, channels=4, depth=3, input_depth=4)
    a = imgkit.inpaint(img, m, seed=1, **run)
    state = torch.random.get_rng_state()
    b = imgkit.inpaint(img, m, seed=1, **run)
    c = imgkit.inpaint(img, m, seed=2, **run)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a[m], c[m])
    # the global torch RNG and the determinism flag are left as they were
    assert torch.equal(state, torch.random.get_rng_state())
    assert not torch.are_deterministic_algorithms_enabled()


def test_callback_stops_and_sees_the_loss(photo_case):
    img, m = photo_case
    seen = []

    def cb(step, total, state):
        seen.append((step, total, state["iteration"], state["loss"]))
        return step == 5

    _out, info = imgkit.inpaint(img[:32, :32], m[:32, :32], method="dip", iterations=100, seed=0,
                               callback=cb, return_info=True, channels=4, depth=3)
    assert info.stopped and info.iterations_run == 5 and info.loss.shape == (5,)
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and seen[0][1] == 100
    assert [s[3] for s in seen] == pytest.approx(info.loss.tolist())
    assert info.snapshot_iterations[-1] == 5 and len(info.snapshots) == len(info.snapshot_iterations)


def test_max_size_works_small_and_upsamples(photo_case):
    from imgkit._pyramid import resize

    img, m = photo_case
    out, info = imgkit.inpaint(img, m, method="dip", seed=0, iterations=20, max_size=32,
                               return_info=True, channels=4, depth=3, input_depth=8)
    assert info.work_shape == (32, 32) and info.scale == 0.5
    assert info.snapshots[-1].shape == (32, 32, 3)
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[~m], img[~m])
    # the hole gets the reduced fill (the last snapshot) upsampled to full size
    np.testing.assert_allclose(out[m], resize(info.snapshots[-1], (64, 64))[m], atol=1e-6)


def test_reduced_known_pixels_never_see_the_hole(photo_case):
    from imgkit._pyramid import reduce_with_mask

    img, m = photo_case
    other = img.copy()
    other[m] = np.random.default_rng(0).random((int(m.sum()), 3), dtype=np.float32)
    a, ha, scale = reduce_with_mask(img, m, 24)
    b, hb, _ = reduce_with_mask(other, m, 24)
    assert a.shape == (24, 24, 3) and scale == 24 / 64 and np.array_equal(ha, hb)
    assert ha.mean() > m.mean() and not ha.all()
    np.testing.assert_array_equal(a[~ha], b[~hb])
    assert reduce_with_mask(img, m, 64)[2] == 1.0 and reduce_with_mask(img, m, None)[0] is img


def test_grey_and_small_images(photo_case):
    img, m = photo_case
    grey = img[:24, :24].mean(axis=2)
    out, info = imgkit.inpaint(grey, m[:24, :24], method="dip", iterations=5, seed=0,
                               return_info=True)
    assert out.shape == grey.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~m[:24, :24]], grey[~m[:24, :24]])
    assert info.net["depth"] == 4  # 24 → 12 → 6 → 3 → 2: a fifth level would be 1 pixel
    tiny = np.zeros((2, 5), np.float32)
    hole = np.zeros((2, 5), bool)
    hole[0, 2] = True
    with pytest.raises(imgkit.InvalidImageError, match="too small"):
        imgkit.inpaint(tiny, hole, method="dip", iterations=2)


def test_bad_options_and_device(photo_case):
    img, m = photo_case
    with pytest.raises(imgkit.InvalidOptionError, match="iterations"):
        imgkit.inpaint(img, m, method="dip", iterations=0)
    with pytest.raises(imgkit.InvalidOptionError, match="channel"):
        imgkit.inpaint(img, m, method="dip", chanels=8)
    from imgkit.device import gpu_status

    if not gpu_status("torch")[0]:
        with pytest.raises(imgkit.DeviceUnavailableError):
            imgkit.inpaint(img, m, method="dip", device="cuda", iterations=1)


def test_channel_plan_and_snapshot_steps():
    assert channel_plan(5, 16, 4) == ([16, 32, 64, 128, 128], [16, 32, 64, 128, 128], [4] * 5)
    assert snapshot_steps(10, 0) == [] and snapshot_steps(10, 1) == [10]
    assert snapshot_steps(1, 6) == [0, 1]


@pytest.mark.gpu
def test_cuda_runs(photo_case):
    img, m = photo_case
    out = imgkit.inpaint(img, m, method="dip", device="cuda", seed=0, iterations=200, **SMALL)
    np.testing.assert_array_equal(out[~m], img[~m])
    assert hole_mae(out, img, m) < 0.5 * mean_fill_mae(img, m)


def test_cli(tmp_path, photo_case, capsys):
    img, m = photo_case
    src = imgkit.save_image(tmp_path / "in.png", img[:32, :32])
    msk = imgkit.save_image(tmp_path / "mask.png", m[:32, :32].astype(np.float32))
    out = tmp_path / "out.png"
    rc = main(["inpaint", str(src), "--mask", str(msk), "-o", str(out), "--method", "dip",
               "--iterations", "50", "--channels", "4", "--seed", "3", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    res, orig = imgkit.load_image(out), imgkit.load_image(src)
    np.testing.assert_array_equal(res[~m[:32, :32]], orig[~m[:32, :32]])


def test_average_of_outputs(photo_case, fitted):
    img, m = photo_case
    # a frozen network (lr ~ 0, no input noise) outputs the same image at every step: its running
    # average is that image
    run = dict(method="dip", iterations=30, lr=1e-7, input_noise=0.0, seed=4, channels=4, depth=3)
    last = imgkit.inpaint(img[:32, :32], m[:32, :32], **run)
    avg = imgkit.inpaint(img[:32, :32], m[:32, :32], average=0.9, **run)
    np.testing.assert_allclose(avg, last, atol=3e-3)  # (Adam still moves each weight ~1e-7 a step)
    # a real run (the default average=0.99): the averaged fill is another image than the last
    # output, still a fill, and still keeps known pixels
    out, _ = fitted
    plain = imgkit.inpaint(img, m, method="dip", seed=7, iterations=250, average=0.0, **SMALL)
    assert not np.array_equal(out[m], plain[m])
    assert hole_mae(plain, img, m) < 0.5 * mean_fill_mae(img, m)
    np.testing.assert_array_equal(out[~m], img[~m])
    assert hole_mae(out, img, m) < 0.5 * mean_fill_mae(img, m)
