"""Johnson et al. feed-forward style from fast_neural_style checkpoints (built by the tests)."""

import numpy as np
import pytest

import imgkit
from imgkit.errors import WeightsFormatError, WeightsNotFoundError

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# The TransformerNet of PyTorch's fast_neural_style example, written out independently of
# imgkit.nets.transformers, so that a checkpoint it saves is the format users have.
class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1)
        self.in1 = nn.InstanceNorm2d(c, affine=True, track_running_stats=True)
        self.conv2 = ConvLayer(c, c, 3, 1)
        self.in2 = nn.InstanceNorm2d(c, affine=True, track_running_stats=True)

    def forward(self, x):
        return x + self.in2(self.conv2(torch.relu(self.in1(self.conv1(x)))))


class UpsampleConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        if self.upsample:
            x = nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    # track_running_stats=True: the state dict carries running_mean/var, as old checkpoints do
    def __init__(self, c=(32, 64, 128)):
        super().__init__()
        self.conv1 = ConvLayer(3, c[0], 9, 1)
        self.in1 = nn.InstanceNorm2d(c[0], affine=True, track_running_stats=True)
        self.conv2 = ConvLayer(c[0], c[1], 3, 2)
        self.in2 = nn.InstanceNorm2d(c[1], affine=True, track_running_stats=True)
        self.conv3 = ConvLayer(c[1], c[2], 3, 2)
        self.in3 = nn.InstanceNorm2d(c[2], affine=True, track_running_stats=True)
        for k in range(1, 6):
            setattr(self, f"res{k}", ResidualBlock(c[2]))
        self.deconv1 = UpsampleConvLayer(c[2], c[1], 3, 1, upsample=2)
        self.in4 = nn.InstanceNorm2d(c[1], affine=True, track_running_stats=True)
        self.deconv2 = UpsampleConvLayer(c[1], c[0], 3, 1, upsample=2)
        self.in5 = nn.InstanceNorm2d(c[0], affine=True, track_running_stats=True)
        self.deconv3 = ConvLayer(c[0], 3, 9, 1)

    def forward(self, x):
        y = torch.relu(self.in1(self.conv1(x)))
        y = torch.relu(self.in2(self.conv2(y)))
        y = torch.relu(self.in3(self.conv3(y)))
        for k in range(1, 6):
            y = getattr(self, f"res{k}")(y)
        y = torch.relu(self.in4(self.deconv1(y)))
        y = torch.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def _reference_net(channels, seed=0):
    torch.manual_seed(seed)
    net = TransformerNet(channels)
    with torch.no_grad():  # affine parameters away from the (1, 0) default, outputs in a useful range
        for m in net.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        net.deconv3.conv2d.bias.fill_(120.0)
        net.deconv3.conv2d.weight.mul_(20.0)
    # the reference evaluates with per-image statistics, as the published models do at test time
    for m in net.modules():
        if isinstance(m, nn.InstanceNorm2d):
            m.track_running_stats = False
    return net.eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    net = _reference_net((8, 16, 32))
    path = tmp_path_factory.mktemp("johnson") / "style.pth"
    state = net.state_dict()
    assert any(k.endswith("running_mean") for k in state)  # the keys the loader must drop
    torch.save(state, path)
    return path, net


def test_johnson_matches_fast_neural_style(checkpoint, astronaut64):
    path, net = checkpoint
    out, info = imgkit.stylize(astronaut64, method="johnson", weights=str(path), return_info=True,
                               device="cpu")
    with torch.no_grad():
        x = torch.from_numpy(astronaut64).permute(2, 0, 1)[None] * 255
        ref = net(x)[0].permute(1, 2, 0).clamp(0, 255).numpy() / 255
    assert out.shape == astronaut64.shape and out.dtype == np.float32
    assert np.abs(out - ref).max() < 1e-4
    assert info.channels == (8, 16, 32)
    assert len(info.dropped_keys) == 2 * 15 + 15  # running mean/var + num_batches_tracked of 15 norms
    assert np.abs(out - astronaut64).mean() > 0.01


def test_johnson_odd_sizes_and_tiles(checkpoint):
    from imgkit import data

    path, _ = checkpoint
    img = data.photo("chelsea", 150)[:101]
    out = imgkit.stylize(img, method="johnson", weights=path, device="cpu")
    assert out.shape == img.shape
    tiled, info = imgkit.stylize(img, method="johnson", weights=path, tile=64, tile_overlap=16,
                                 return_info=True, device="cpu")
    assert info.tiles > 1 and tiled.shape == img.shape
    assert np.abs(tiled - out).mean() < 0.05


def test_johnson_errors(tmp_path, astronaut64, monkeypatch):
    monkeypatch.delenv("IMGKIT_JOHNSON_WEIGHTS", raising=False)
    with pytest.raises(WeightsNotFoundError, match="IMGKIT_JOHNSON_WEIGHTS"):
        imgkit.stylize(astronaut64, method="johnson")
    with pytest.raises(WeightsNotFoundError):
        imgkit.stylize(astronaut64, method="johnson", weights=tmp_path / "none.pth")
    bad = tmp_path / "wrong.pth"
    torch.save({"conv1.conv2d.weight": torch.zeros(8, 3, 9, 9)}, bad)
    with pytest.raises(WeightsFormatError, match="fast_neural_style"):
        imgkit.stylize(astronaut64, method="johnson", weights=bad)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/imgkit-johnson-pwned",))


def test_johnson_refuses_code_in_pickles(tmp_path, astronaut64):
    import os
    import pickle

    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"conv1.conv2d.weight": _Evil()}, f)
    flag = "/tmp/imgkit-johnson-pwned"
    if os.path.exists(flag):
        os.remove(flag)
    with pytest.raises(WeightsFormatError, match="weights_only"):
        imgkit.stylize(astronaut64, method="johnson", weights=evil)
    assert not os.path.exists(flag)
