"""The context-encoder inpainting network: architecture, model files, the method, PatchMatch's
``init="network"``, and the training command (tiny photos, a few steps)."""

import os
import pickle
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import imgkit  # noqa: E402
from imgkit.cli import main  # noqa: E402
from imgkit.errors import InvalidOptionError, WeightsFormatError, WeightsNotFoundError  # noqa: E402
from imgkit.nets import inpaint_fill  # noqa: E402
from imgkit.nets.inpaint_net import ContextEncoder, load_model, save_model  # noqa: E402
from imgkit.train import inpaint as train_inpaint  # noqa: E402
from imgkit.train.inpaint import export  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    net = ContextEncoder(width=8)
    torch.nn.init.normal_(net.out.weight, std=0.3)  # a nonzero correction of the prefill
    path = tmp_path_factory.mktemp("ce") / "tiny.pt"
    save_model(net, path)
    return net.eval(), path


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    """Three 48×48 photos: smooth colour ramps with a few stripes, far from mid-grey."""
    from imgkit.io import save_image

    d = tmp_path_factory.mktemp("photos")
    yy, xx = np.mgrid[0:48, 0:48].astype(np.float32) / 47
    for i in range(3):
        img = np.stack([0.7 + 0.2 * xx, 0.8 - 0.2 * yy, 0.9 - 0.1 * (xx + yy) / 2], axis=2)
        img[(np.arange(48) // (4 + 2 * i)) % 2 == 0, :, i] -= 0.3
        save_image(d / f"p{i}.png", np.clip(img, 0, 1))
    (d / "notes.txt").write_text("not an image; skipped")
    return d


# ---------------------------------------------------------------------------------------------
# the network and its files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(37, 50), (8, 8), (1, 3), (65, 17)])
def test_net_is_fully_convolutional(tiny_model, shape):
    net, _ = tiny_model
    x = torch.rand(2, 3, *shape)
    m = (torch.rand(2, 1, *shape) > 0.5).float()
    with torch.no_grad():
        y = net(x, m)
    assert y.shape == x.shape and bool(torch.isfinite(y).all())


def test_push_pull_fill():
    from imgkit.nets.inpaint_net import push_pull

    yy, xx = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 56), indexing="ij")
    ramp = torch.stack([xx, yy, 0.5 * (xx + yy)])[None]
    m = torch.zeros(1, 1, 40, 56)
    m[..., 10:30, 20:36] = 1
    f = push_pull(ramp, m)
    known = m[0, 0] == 0
    assert torch.equal(f[..., known], ramp[..., known])
    assert float((f - ramp).abs().max()) < 0.08  # a membrane reproduces a linear ramp
    assert float((push_pull(torch.full_like(ramp, 0.3), m) - 0.3).abs().max()) < 1e-6
    plain = push_pull(ramp, m, iterations=0)
    assert float((plain - ramp).abs().mean()) > float((f - ramp).abs().mean())


def test_untrained_residual_net_returns_the_prefill():
    from imgkit.nets.inpaint_net import push_pull

    net = ContextEncoder(width=8).eval()
    x, m = torch.rand(1, 3, 24, 40), (torch.rand(1, 1, 24, 40) > 0.6).float()
    with torch.no_grad():
        torch.testing.assert_close(net(x, m), push_pull(x, m))


def test_net_ignores_hole_content(tiny_model):
    net, _ = tiny_model
    x = torch.rand(1, 3, 24, 24)
    m = torch.zeros(1, 1, 24, 24)
    m[..., 6:18, 6:18] = 1
    x2 = x.clone()
    x2[..., 6:18, 6:18] = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(net(x, m), net(x2, m))


def test_net_rejects_bad_shapes():
    with pytest.raises(ValueError, match="expected image"):
        ContextEncoder(width=8)(torch.rand(1, 4, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="width"):
        ContextEncoder(width=6)


def test_model_file_round_trip(tiny_model, tmp_path):
    net, path = tiny_model
    x, m = torch.rand(1, 3, 20, 28), (torch.rand(1, 1, 20, 28) > 0.7).float()
    with torch.no_grad():
        ref = net(x, m)
        assert torch.equal(load_model(path)(x, m), ref)
        half = tmp_path / "half.pt"
        save_model(net, half, half=True, meta={"note": "fp16"})
        umask = os.umask(0)
        os.umask(umask)
        assert half.stat().st_mode & 0o777 == 0o666 & ~umask
        assert half.stat().st_size < 0.6 * path.stat().st_size
        assert float((load_model(half)(x, m) - ref).abs().max()) < 5e-3
    assert load_model(half).config == {"width": 8, "fourier": True, "prefill": True, "relax": 8}


def test_bad_weight_files(tmp_path, tiny_model):
    rnd = tmp_path / "random.pt"
    rnd.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(WeightsFormatError, match="cannot read"):
        load_model(rnd)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "imgkit-context-encoder", "state_dict": {}, "x": Evil()}, evil)
    with pytest.raises(WeightsFormatError):
        load_model(evil)
    pkl = tmp_path / "plain.pt"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(WeightsFormatError):
        load_model(pkl)
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(WeightsFormatError, match="not an imgkit inpainting-network file"):
        load_model(other)
    wrong = tmp_path / "wrong.pt"
    save_model(ContextEncoder(width=8), wrong)
    blob = torch.load(wrong, weights_only=True)
    blob["config"] = {"width": 16, "fourier": True}
    torch.save(blob, wrong)
    with pytest.raises(WeightsFormatError, match="do not fit"):
        load_model(wrong)
    img, mask = np.random.default_rng(0).random((16, 16, 3)), np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        imgkit.inpaint(img, mask, method="context_encoder", weights=tmp_path / "missing.pt")
    with pytest.raises(WeightsFormatError):
        imgkit.inpaint(img, mask, method="context_encoder", weights=rnd)


def test_missing_shipped_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(inpaint_fill, "DEFAULT_WEIGHTS", tmp_path / "gone.pt")
    img, mask = np.random.default_rng(0).random((16, 16, 3)), np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    with pytest.raises(WeightsNotFoundError, match="shipped context-encoder model"):
        imgkit.inpaint(img, mask, method="context_encoder")


# ---------------------------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------------------------


def test_shipped_model_is_package_data_and_fills(astronaut64):
    from pathlib import Path

    from .conftest import hole_mae, mean_fill_mae

    root = Path(__file__).resolve().parent.parent
    assert '"imgkit.nets" = ["models/*.pt"]' in (root / "pyproject.toml").read_text()
    path = inpaint_fill.DEFAULT_WEIGHTS
    assert path.is_file() and path.stat().st_size < 10 * 2**20
    blob = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in blob["state_dict"].values() if v.is_floating_point())
    mask = imgkit.data.mask("thick", (64, 64), seed=5)
    out, info = imgkit.inpaint(astronaut64, mask, method="context_encoder", return_info=True)
    assert info.weights == str(path)
    np.testing.assert_array_equal(out[~mask], astronaut64[~mask])
    assert hole_mae(out, astronaut64, mask) < 0.6 * mean_fill_mae(astronaut64, mask)


@pytest.mark.parametrize("region", ["auto", "crop", "full"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_method_keeps_known_pixels(tiny_model, astronaut64, region, dtype):
    _, path = tiny_model
    img = astronaut64 if dtype == np.float32 else (astronaut64 * 255).round().astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:30, 35:50] = True
    out, info = imgkit.inpaint(img, mask, method="context_encoder", weights=path, region=region,
                               return_info=True)
    ref = img.astype(np.float32) / (255 if dtype == np.uint8 else 1)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out[~mask], ref[~mask])
    assert not np.array_equal(out[mask], ref[mask])
    assert info.weights == str(path.resolve())
    assert info.regions == [(0, 64, 0, 64)]  # the 64 px margin reaches every border


def test_method_region_and_reduction(tiny_model):
    _, path = tiny_model
    rng = np.random.default_rng(1)
    img = rng.random((300, 200, 3)).astype(np.float32)
    mask = np.zeros((300, 200), bool)
    mask[10:20, 10:14] = True
    out, info = imgkit.inpaint(img, mask, method="context_encoder", weights=path, region="crop",
                               return_info=True)
    assert info.regions == [(0, 84, 0, 78)]  # box 10..20 × 10..14 plus a 64 px margin
    np.testing.assert_array_equal(out[~mask], img[~mask])
    out2, info2 = imgkit.inpaint(img, mask, method="context_encoder", weights=path, region="full",
                                 max_size=100, return_info=True)
    assert info2.work_shape == (100, 67) and info2.scale == pytest.approx(1 / 3)
    np.testing.assert_array_equal(out2[~mask], img[~mask])
    with pytest.raises(InvalidOptionError, match="region"):
        imgkit.inpaint(img, mask, method="context_encoder", weights=path, region="box")


def test_method_grey_image(tiny_model):
    _, path = tiny_model
    img = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (30, 1))
    mask = np.zeros((30, 40), bool)
    mask[10:20, 10:20] = True
    out = imgkit.inpaint(img, mask, method="context_encoder", weights=path)
    assert out.shape == (30, 40)
    np.testing.assert_array_equal(out[~mask], img[~mask])


def test_patchmatch_network_init(tiny_model, astronaut64, monkeypatch):
    _, path = tiny_model
    monkeypatch.setattr(inpaint_fill, "DEFAULT_WEIGHTS", path)
    mask = np.zeros((64, 64), bool)
    mask[24:40, 20:36] = True
    out, info = imgkit.inpaint(astronaut64, mask, method="patchmatch", init="network", seed=0,
                               min_size=16, return_info=True)
    np.testing.assert_array_equal(out[~mask], astronaut64[~mask])
    assert "network" in info.init
    _, binfo = imgkit.inpaint(astronaut64, mask, method="patchmatch", seed=0, min_size=16,
                                 return_info=True)
    # the coarsest level starts from the network's fill, not the diffusion fill (the EM that
    # follows may still converge to the same fill: the tiny model's output is its smooth prefill)
    start, base_start = np.asarray(info.estimates[0][0]), np.asarray(binfo.estimates[0][0])
    assert start.shape == base_start.shape and not np.array_equal(start, base_start)


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------

TINY = dict(steps=40, batch_size=4, crop=32, lr=3e-3, width=8, checkpoint_every=20, val_every=20,
            log_every=10, seed=0, progress=False)


def test_training_hole_loss_falls(photo_dir, tmp_path):
    """The CI reproduction check: a few steps on three tiny photos with the full default loss
    (L1 hole + valid, VGG16 perceptual + style, TV); the hole L1 must fall. On the plain path
    (``prefill=False``): on these smooth photos the residual path starts at the membrane fill,
    already near its floor (hole L1 ≈ 0.03), so only the plain path shows the loss falling."""
    res = train_inpaint(photo_dir, tmp_path / "m.pt", **TINY, prefill=False)
    hole = np.array([r["hole_l1"] for r in res.history])
    assert len(hole) == 40 and set(res.history[0]) >= {"hole", "valid", "perceptual", "style", "tv"}
    assert hole[-10:].mean() < 0.7 * hole[:10].mean()
    assert [v["step"] for v in res.val_history] == [20, 40]
    net = load_model(res.model)
    assert net.config["width"] == 8 and net.config["prefill"] is False
    assert (tmp_path / "m_ckpt" / "val_0000020.png").is_file()
    assert (tmp_path / "m_ckpt" / "last.pt").is_file()
    shipped = export(tmp_path / "m_ckpt" / "last.pt", tmp_path / "m16.pt")
    blob = torch.load(shipped, weights_only=True)
    assert blob["meta"]["dtype"] == "float16" and blob["meta"]["steps"] == 40
    assert all(v.dtype == torch.float16 for v in blob["state_dict"].values())
    x, m = torch.rand(1, 3, 32, 32), (torch.rand(1, 1, 32, 32) > 0.7).float()
    with torch.no_grad():
        assert float((load_model(shipped)(x, m) - net(x, m)).abs().max()) < 5e-3


def test_resume_continues_exactly(photo_dir, tmp_path):
    kw = dict(TINY, steps=6, checkpoint_every=2, val_every=0, loss_weights={"perceptual": 0, "style": 0})
    full = train_inpaint(photo_dir, tmp_path / "full.pt", **kw)
    part = train_inpaint(photo_dir, tmp_path / "part.pt", **kw, callback=lambda s, n, r: s < 4)
    assert part.steps == 4
    rest = train_inpaint(photo_dir, tmp_path / "part.pt", **kw, resume="auto")
    assert rest.steps == 6 and [r["step"] for r in rest.history] == [5, 6]
    a, b = load_model(full.model).state_dict(), load_model(rest.model).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    assert [r["hole_l1"] for r in full.history[4:]] == pytest.approx([r["hole_l1"] for r in rest.history])


def test_train_cli_and_model_is_usable(photo_dir, tmp_path, capsys):
    out = tmp_path / "cli.pt"
    rc = main(["train", "inpaint", "--photos", str(photo_dir), "-o", str(out), "--steps", "3",
               "--crop", "32", "--batch-size", "2", "--width", "8", "--w-perceptual", "0", "--w-style", "0",
               "--log-every", "1", "--half", "--no-progress", "--mask-kinds", "thick,box"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "step 3/3 hole_l1" in text and "img/s" in text and f"wrote {out}" in text
    img = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    mask = np.zeros((40, 40), bool)
    mask[5:15, 20:30] = True
    res = imgkit.inpaint(img, mask, method="context_encoder", weights=out)
    np.testing.assert_array_equal(res[~mask], img[~mask])
    assert main(["train", "inpaint", "--photos", str(tmp_path / "none"), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train"]) == 2 and main(["train", "style"]) == 2
    assert "imgkit train {inpaint}" in capsys.readouterr().err


def test_training_progress_bar(photo_dir, tmp_path, capsys):
    kw = dict(TINY, steps=3, val_every=0, progress=True, loss_weights={"perceptual": 0, "style": 0})
    train_inpaint(photo_dir, tmp_path / "bar.pt", **kw)
    err = capsys.readouterr().err
    assert "train inpaint" in err and "3/3" in err and "img_s=" in err


def test_training_rejects_bad_options(photo_dir, tmp_path):
    with pytest.raises(InvalidOptionError, match="crop"):
        train_inpaint(photo_dir, tmp_path / "m.pt", crop=30)
    with pytest.raises(InvalidOptionError, match="smaller than the crop"):
        train_inpaint(photo_dir, tmp_path / "m.pt", crop=64)
    with pytest.raises(InvalidOptionError, match="mask_kinds"):
        train_inpaint(photo_dir, tmp_path / "m.pt", crop=32, mask_kinds=["circle"])
    with pytest.raises(InvalidOptionError, match="loss_weights"):
        train_inpaint(photo_dir, tmp_path / "m.pt", crop=32, loss_weights={"gan": 1})


def test_ddp_single_process(photo_dir, tmp_path, monkeypatch):
    """The torchrun path (DistributedDataParallel, gloo) in one process: RANK/WORLD_SIZE set as
    ``torchrun --nproc_per_node 1`` sets them."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for k, v in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                 "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(k, v)
    res = train_inpaint(photo_dir, tmp_path / "ddp.pt", **dict(TINY, steps=3, val_every=0,
                                                                loss_weights={"perceptual": 0, "style": 0}))
    assert res.steps == 3 and load_model(res.model).config["width"] == 8
    assert not torch.distributed.is_initialized()


def test_lpips_loss_term():
    """The ``lpips`` term: LPIPS-VGG of each composite (as ``imgkit.metrics.lpips``) over its
    hole fraction (floored at 0.02), batch mean, times the weight; zero for a perfect fill; its
    gradient reaches the output only inside the hole."""
    from imgkit.metrics import lpips
    from imgkit.nets.inpaint_loss import InpaintLoss, LossWeights
    from imgkit.nets.lpips import get_lpips

    g = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 3, 32, 32, generator=g)
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, :, 8:20, 4:28] = 1  # 28 % of the crop
    mask[1, :, 10, 3:9] = 1  # 6 px: 0.6 %, floored at 2 %
    weights = LossWeights(hole=0, valid=0, tv=0, perceptual=0, style=0, lpips=2.0)
    with pytest.raises(ValueError, match="lpips"):
        InpaintLoss(weights)
    crit = InpaintLoss(weights, lpips=get_lpips("vgg16"))
    out = (gt + 0.3 * torch.randn(2, 3, 32, 32, generator=g)).clamp(0, 1).requires_grad_(True)
    terms = crit(out, gt, mask)
    comp = (mask * out + (1 - mask) * gt).detach()
    want = [lpips(gt[b].permute(1, 2, 0).numpy(), comp[b].permute(1, 2, 0).numpy(), net="vgg", device="cpu")
            / max(float(mask[b].mean()), 0.02) for b in range(2)]
    got = float(terms["lpips"].detach())
    assert got == pytest.approx(2.0 * np.mean(want), rel=1e-4)
    assert got > 0.05
    terms["total"].backward()
    grad = out.grad.abs().sum(dim=1, keepdim=True)
    assert float(grad[mask == 0].max()) == 0 and float(grad[mask == 1].sum()) > 0
    assert float(crit(gt, gt, mask)["lpips"]) == pytest.approx(0, abs=1e-6)
    assert "lpips" not in crit(out, gt, mask, vgg=False)


def test_biharmonic_prefill():
    """``biharmonic=N`` relaxes Δ²f = 0 after the membrane: known pixels stay exact, and a
    quadratic (biharmonic but not harmonic) is filled better than by the membrane alone, the
    more so the more steps;
    many steps stay bounded (the damped step is stable). The option is saved in the config."""
    from imgkit.nets.inpaint_net import push_pull

    yy, xx = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    img = torch.stack([xx ** 2, 1 - yy ** 2, 0.5 * (xx ** 2 + yy ** 2)])[None]
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 18:30, 10:38] = 1
    membrane = push_pull(img, mask, 8)
    bi = push_pull(img, mask, 8, biharmonic=16)
    long = push_pull(img, mask, 8, biharmonic=100)
    known = mask == 0
    assert torch.equal(bi.expand_as(img)[known.expand_as(img)], img[known.expand_as(img)])
    err = {k: float((mask * (v - img)).abs().sum() / (3 * mask.sum())) for k, v in
           (("membrane", membrane), ("bi", bi), ("long", long))}
    assert err["bi"] < 0.85 * err["membrane"] and err["long"] < 0.5 * err["membrane"]
    assert float(long.abs().max()) < 2
    net = ContextEncoder(width=8, biharmonic=16)
    assert net.config["biharmonic"] == 16 and "biharmonic" not in ContextEncoder(width=8).config
    with pytest.raises(ValueError, match="biharmonic"):
        ContextEncoder(width=8, biharmonic=-1)
