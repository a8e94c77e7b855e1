"""The encoder–decoder with skip connections of Deep Image Prior (the "skip" hourglass).

Ulyanov, Vedaldi and Lempitsky's inpainting networks are a U-Net-like hourglass: ``depth``
levels, each with

* a **down** branch: 3×3 convolution with stride 2 (halves the size), BatchNorm, LeakyReLU,
  3×3 convolution, BatchNorm, LeakyReLU, then the deeper levels;
* an optional **skip** branch at the level's resolution: 1×1 convolution, BatchNorm, LeakyReLU
  (``skip[i]`` channels; 0 turns the skip off);
* an **up** branch: nearest-neighbour upsampling of the deeper result back to the level's size,
  concatenation with the skip, BatchNorm, 3×3 convolution, BatchNorm, LeakyReLU, 1×1
  convolution, BatchNorm, LeakyReLU;

and a final 1×1 convolution and a sigmoid give an image in [0, 1]. Convolutions pad by
reflection. This is ``models/skip.py`` of the authors' code, with upsampling to the exact size
of the skip tensor so any image size works (the authors crop images to a multiple of 32).

Nothing here draws random numbers from the global generator: :func:`build_skip_net` builds on
the ``meta`` device and initialises every parameter from the ``torch.Generator`` it is given,
with PyTorch's default rules (Kaiming-uniform weights, uniform biases), so the same seed gives
the same network.

References
----------
.. [1] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep Image Prior", CVPR 2018;
   extended version IJCV 128, 2020. Code: github.com/DmitryUlyanov/deep-image-prior.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SkipNet", "build_skip_net", "init_parameters", "max_depth"]


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="reflect", bias=True)


def _cba(cin: int, cout: int, k: int, stride: int = 1) -> tuple[nn.Module, ...]:
    """Convolution, BatchNorm, LeakyReLU(0.2): the paper's basic unit."""
    return _conv(cin, cout, k, stride), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)


def _block(*layers: nn.Module) -> nn.Sequential:
    return nn.Sequential(*layers)


class _Level(nn.Module):
    def __init__(self, cin: int, down: int, up: int, skip: int, deeper_out: int,
                 k_down: int, k_up: int, k_skip: int) -> None:
        super().__init__()
        self.skip = _block(*_cba(cin, skip, k_skip)) if skip > 0 else None
        self.down = _block(*_cba(cin, down, k_down, stride=2), *_cba(down, down, k_down))
        self.up = _block(nn.BatchNorm2d(skip + deeper_out), *_cba(skip + deeper_out, up, k_up),
                         *_cba(up, up, 1))


class SkipNet(nn.Module):
    """Deep Image Prior's hourglass with skip connections.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input code and of the output image.
    down, up, skip : sequence of int
        Channels per level (finest first): encoder, decoder and skip branch (0 = no skip).
    kernel_down, kernel_up, kernel_skip : int
        Odd kernel sizes of the encoder, decoder and skip convolutions.
    upsample : {"nearest", "bilinear"}
        How the decoder doubles the size (the paper uses nearest for inpainting).

    Notes
    -----
    Input ``(N, in_channels, H, W)``, output ``(N, out_channels, H, W)`` in (0, 1). Every
    level's feature map must stay at least ``kernel // 2 + 1`` pixels on each side (the
    reflection padding needs it); :func:`max_depth` says how deep an image allows.
    """

    def __init__(self, in_channels: int, out_channels: int, down: Sequence[int], up: Sequence[int],
                 skip: Sequence[int], *, kernel_down: int = 3, kernel_up: int = 3,
                 kernel_skip: int = 1, upsample: str = "nearest") -> None:
        super().__init__()
        if not (len(down) == len(up) == len(skip)) or len(down) == 0:
            raise ValueError(f"down, up and skip need one entry per level; got {down}, {up}, {skip}")
        self.depth = len(down)
        self.upsample = upsample
        self.kernels = (kernel_down, kernel_up, kernel_skip)
        levels = []
        cin = in_channels
        for i in range(self.depth):
            deeper_out = up[i + 1] if i + 1 < self.depth else down[i]
            levels.append(_Level(cin, down[i], up[i], skip[i], deeper_out, kernel_down, kernel_up,
                                 kernel_skip))
            cin = down[i]
        self.levels = nn.ModuleList(levels)
        self.head = _block(_conv(up[0], out_channels, 1), nn.Sigmoid())

    def _run(self, i: int, x: torch.Tensor) -> torch.Tensor:
        level = self.levels[i]
        deeper = level.down(x)
        if i + 1 < self.depth:
            deeper = self._run(i + 1, deeper)
        deeper = F.interpolate(deeper, size=x.shape[-2:], mode=self.upsample)
        if level.skip is not None:
            deeper = torch.cat([level.skip(x), deeper], dim=1)
        return level.up(deeper)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self._run(0, x))


def max_depth(height: int, width: int, kernel: int = 3) -> int:
    """The deepest hourglass an ``height × width`` input allows (reflection padding needs
    every feature map to be more than ``kernel // 2`` pixels on each side)."""
    need = kernel // 2 + 1
    depth, n = 0, min(height, width)
    while math.ceil(n / 2) >= need:
        n = math.ceil(n / 2)
        depth += 1
    return depth


@torch.no_grad()
def init_parameters(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """(Re-)initialise ``net`` in place from ``generator`` with PyTorch's default rules.

    Convolution weights: Kaiming-uniform with ``a = sqrt(5)``; biases: uniform in
    ``±1/sqrt(fan_in)``; BatchNorm: weight 1, bias 0, fresh running statistics.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
    return net


def build_skip_net(in_channels: int, out_channels: int, down: Sequence[int], up: Sequence[int],
                   skip: Sequence[int], *, generator: torch.Generator, device: torch.device | str = "cpu",
                   **kw) -> SkipNet:
    """A :class:`SkipNet` whose parameters come from ``generator`` only.

    The network is built on the ``meta`` device (so the global RNG is not touched), laid out
    on the generator's device, initialised by :func:`init_parameters`, then moved to ``device``.
    """
    with torch.device("meta"):
        net = SkipNet(in_channels, out_channels, down, up, skip, **kw)
    net = net.to_empty(device=generator.device)
    init_parameters(net, generator)
    return net.to(device)
