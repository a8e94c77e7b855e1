"""LaMa through the public API with small TorchScript modules that follow big-lama.pt's
contract (image 1×3×H×W and mask 1×1×H×W in, 1×3×H×W in [0, 1] out, H and W multiples of 8)."""

import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import imgkit  # noqa: E402
from imgkit.cli import main  # noqa: E402

from .conftest import hole_mae, mean_fill_mae  # noqa: E402

ENV = "IMGKIT_LAMA_WEIGHTS"


class Checked(torch.nn.Module):
    """Checks what LaMa's export checks implicitly (sizes, dtypes, ranges), then fills the hole
    with the mean colour of the known pixels, as a blend ``mask·pred + (1-mask)·image``."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise RuntimeError("image must be 1x3xHxW")
        if mask.shape[1] != 1 or mask.shape[2:] != image.shape[2:]:
            raise RuntimeError("mask must be 1x1xHxW")
        if image.shape[2] % 8 != 0 or image.shape[3] % 8 != 0:
            raise RuntimeError("H and W must be multiples of 8")
        if image.dtype != torch.float32 or mask.dtype != torch.float32:
            raise RuntimeError("float32 expected")
        if bool((image < 0).any()) or bool((image > 1).any()):
            raise RuntimeError("image must be in [0, 1]")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise RuntimeError("mask must be binary")
        known = 1.0 - mask
        mean = (image * known).sum(dim=(2, 3), keepdim=True) / known.sum()
        return mask * mean + known * image


class Flip(torch.nn.Module):
    """Output pixel (i, j) = padded input pixel (Hp-1-i, Wp-1-j): exposes padding and crop."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.flip(image, dims=[2, 3])


class Conv(torch.nn.Module):
    """A small conv net with LaMa's inputs and outputs (masked image and mask concatenated)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image * (1 - mask), mask], dim=1)
        return torch.sigmoid(self.conv(x))


class WrongShape(torch.nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image[:, :1]


class OneInput(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    with warnings.catch_warnings():
        # torch.jit.script/trace/save are deprecated in PyTorch 2.13; LaMa ships TorchScript
        warnings.filterwarnings("ignore", message=".*torch.jit", category=DeprecationWarning)
        return _build_models(tmp_path_factory)


def _build_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("lama")
    paths = {}
    paths["checked"] = d / "checked.pt"
    torch.jit.script(Checked()).save(str(paths["checked"]))
    x, mask = torch.rand(1, 3, 16, 24), torch.zeros(1, 1, 16, 24)
    for name, cls, ex in [("flip", Flip, (x, mask)), ("wrong_shape", WrongShape, (x, mask)),
                          ("one_input", OneInput, (x,))]:
        paths[name] = d / f"{name}.pt"
        torch.jit.trace(cls(), ex).save(str(paths[name]))
    torch.manual_seed(0)
    net = Conv().eval()
    ex = (torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))
    paths["traced"] = d / "traced.pt"
    torch.jit.trace(net, ex).save(str(paths["traced"]))
    paths["state_dict"] = d / "state_dict.pt"
    torch.save(net.state_dict(), paths["state_dict"])
    paths["pickle"] = d / "pickle.pt"
    paths["pickle"].write_bytes(pickle.dumps({"weights": np.zeros(3)}))
    paths["random"] = d / "random.pt"
    paths["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    return paths


def padded_known_mean(img, m):
    """What Checked fills with: the known mean over the image padded as IOPaint pads it."""
    widths = ((0, -img.shape[0] % 8), (0, -img.shape[1] % 8))
    pimg = np.pad(img, widths + ((0, 0),) * (img.ndim - 2), mode="symmetric")
    pm = np.pad(m, widths, mode="symmetric")
    return pimg[~pm].mean(0)


@pytest.fixture()
def case():
    from imgkit import data

    img = data.photo("coffee", (37, 45))  # odd sizes: padded to 40×48
    m = np.zeros((37, 45), bool)
    m[10:25, 12:30] = True
    m[-3:, -4:] = True  # a hole touching the bottom-right corner, next to the padding
    return img, m


def test_listed():
    spec = imgkit.get_method("lama", "inpaint")
    assert spec.family == "deep" and spec.backend == "torch"
    assert "Suvorov" in spec.reference and "WACV 2022" in spec.reference
    assert spec.devices == ("cpu", "cuda")
    assert spec.defaults == {"weights": None, "max_size": 1280, "region": "auto", "region_margin": None,
                             "mask_dilate": 0, "mask_feather": 0}


def test_contract_padding_and_compositing(models, case):
    img, m = case
    out, info = imgkit.inpaint(img, m, method="lama", weights=str(models["checked"]),
                               device="cpu", return_info=True)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~m], img[~m])
    np.testing.assert_allclose(out[m], np.broadcast_to(padded_known_mean(img, m), out[m].shape),
                               atol=1e-5)
    assert info.padded_shape == (40, 48) and info.work_shape == (37, 45) and info.scale == 1.0
    assert info.device == "cpu" and info.weights == str(models["checked"].resolve())
    assert {"load", "prepare", "network", "total"} <= set(info.timings)


def test_symmetric_pad_bottom_right_and_crop(models, case):
    img, m = case
    out = imgkit.inpaint(img, m, method="lama", weights=models["flip"])
    # IOPaint: numpy "symmetric" padding at the bottom and right, result cropped top-left
    padded = np.pad(img, ((0, 3), (0, 3), (0, 0)), mode="symmetric")
    expect = padded[::-1, ::-1][:37, :45]
    np.testing.assert_array_equal(out[m], expect[m])
    np.testing.assert_array_equal(out[~m], img[~m])


def test_grey_image_replicated_to_rgb(models, case):
    img, m = case
    grey = img.mean(axis=2)
    out = imgkit.inpaint(grey, m, method="lama", weights=models["checked"])
    assert out.shape == grey.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~m], grey[~m])
    np.testing.assert_allclose(out[m], padded_known_mean(grey, m), atol=1e-5)


def test_traced_conv_net_and_alpha(models, case):
    img, m = case
    rgba = np.concatenate([img, np.full((*img.shape[:2], 1), 0.5, np.float32)], axis=2)
    out = imgkit.inpaint(rgba, m, method="lama", weights=models["traced"])
    assert out.shape == rgba.shape
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[~m], rgba[~m])
    assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_environment_variable_and_option_precedence(models, case, monkeypatch):
    img, m = case
    monkeypatch.setenv(ENV, str(models["checked"]))
    out, info = imgkit.inpaint(img, m, method="lama", return_info=True)
    assert info.weights == str(models["checked"].resolve())
    np.testing.assert_allclose(out[m], np.broadcast_to(padded_known_mean(img, m), out[m].shape),
                               atol=1e-5)
    _, info = imgkit.inpaint(img, m, method="lama", weights=str(models["flip"]), return_info=True)
    assert info.weights == str(models["flip"].resolve())


def test_max_size_reduces_then_upsamples(models):
    from imgkit import data

    img = data.photo("astronaut", 64)
    m = data.mask("box", (64, 64))
    out, info = imgkit.inpaint(img, m, method="lama", weights=models["checked"], max_size=24,
                               return_info=True)
    assert info.work_shape == (24, 24) and info.padded_shape == (24, 24) and info.scale == 24 / 64
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[~m], img[~m])
    assert hole_mae(out, img, m) < 1.2 * mean_fill_mae(img, m)


def test_no_weights_says_what_and_where(case, monkeypatch):
    img, m = case
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(imgkit.WeightsNotFoundError) as e:
        imgkit.inpaint(img, m, method="lama")
    msg = str(e.value)
    assert "big-lama.pt" in msg and ENV in msg and "weights=" in msg
    assert "https://github.com/Sanster/models/releases" in msg
    assert isinstance(e.value, FileNotFoundError)


@pytest.mark.parametrize("where", ["missing", "folder", "env"])
def test_missing_file(case, tmp_path, monkeypatch, where):
    img, m = case
    monkeypatch.delenv(ENV, raising=False)
    path = tmp_path if where == "folder" else tmp_path / "nope.pt"
    kw = {} if where == "env" else {"weights": str(path)}
    if where == "env":
        monkeypatch.setenv(ENV, str(path))
    with pytest.raises(imgkit.WeightsNotFoundError, match="nope.pt|folder") as e:
        imgkit.inpaint(img, m, method="lama", **kw)
    assert ENV in str(e.value) or where != "env"


@pytest.mark.parametrize("kind", ["random", "pickle", "state_dict"])
def test_not_torchscript(models, case, kind):
    img, m = case
    with pytest.raises(imgkit.WeightsFormatError, match="not a TorchScript archive") as e:
        imgkit.inpaint(img, m, method="lama", weights=models[kind])
    assert "big-lama.pt" in str(e.value) and isinstance(e.value, ValueError)


@pytest.mark.parametrize("kind, words", [("wrong_shape", r"returned \(1, 1, 40, 48\)"),
                                         ("one_input", "failed on LaMa's inputs")])
def test_module_breaking_the_contract(models, case, kind, words):
    img, m = case
    with pytest.raises(imgkit.WeightsFormatError, match=words):
        imgkit.inpaint(img, m, method="lama", weights=models[kind])


def test_cuda_without_gpu_is_an_error(models, case):
    from imgkit.device import gpu_status

    if gpu_status("torch")[0]:
        pytest.skip("a GPU is present")
    img, m = case
    with pytest.raises(imgkit.DeviceUnavailableError, match="cuda"):
        imgkit.inpaint(img, m, method="lama", weights=models["checked"], device="cuda")


@pytest.mark.gpu
def test_cuda_matches_cpu(models, case):
    img, m = case
    a = imgkit.inpaint(img, m, method="lama", weights=models["traced"], device="cpu")
    b = imgkit.inpaint(img, m, method="lama", weights=models["traced"], device="cuda")
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_cli(models, case, tmp_path, capsys, monkeypatch):
    img, m = case
    monkeypatch.delenv(ENV, raising=False)
    src = imgkit.save_image(tmp_path / "in.png", img)
    msk = imgkit.save_image(tmp_path / "mask.png", m.astype(np.float32))
    out = tmp_path / "out.png"
    args = ["inpaint", str(src), "--mask", str(msk), "-o", str(out), "-m", "lama", "--no-progress"]
    assert main(args) != 0
    assert "big-lama.pt" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--weights", str(models["checked"])]) == 0
    res = imgkit.load_image(out)
    np.testing.assert_array_equal(res[~m], imgkit.load_image(src)[~m])
