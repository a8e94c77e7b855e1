"""A multi-layer encoder: a feature network whose layers have names, run up to the deepest
layer asked for.

In the manner of pystiche's ``MultiLayerEncoder``: the input normalisation is the first step,
the weights are frozen (``requires_grad=False``, ``eval()``), :meth:`MultiLayerEncoder.forward`
returns a dict holding only the requested layers and stops after the deepest of them, so one
forward pass serves every loss that reads from the network.

The network builders (:mod:`~imgkit.nets.vgg`, :mod:`~imgkit.nets.alexnet`) build on this
module; :mod:`~imgkit.nets.encoder` picks a builder and caches the result
(:func:`~imgkit.nets.encoder.get_encoder`), so imports run one way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
from torch import nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "MultiLayerEncoder", "conv_from"]

#: ImageNet channel statistics (RGB in [0, 1]) that torchvision's VGG/AlexNet were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class MultiLayerEncoder(nn.Module):
    """Named layers run in order, with ImageNet normalisation first; frozen.

    Parameters
    ----------
    layers : sequence of (str, nn.Module)
        The layers in order (e.g. ``conv1_1``, ``relu1_1``, ..., ``pool1``, ...).
    mean, std : tuple of 3 floats
        Normalisation applied to an RGB input in [0, 1] before the first layer.
    """

    def __init__(
        self,
        layers: Sequence[tuple[str, nn.Module]],
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
    ):
        super().__init__()
        self.layers = nn.ModuleDict(OrderedDict(layers))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self._index = {name: i for i, name in enumerate(self.layers)}
        self.requires_grad_(False)
        self.eval()

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Every layer, in order."""
        return tuple(self.layers)

    def check_layers(self, layers: Iterable[str]) -> tuple[str, ...]:
        """Return ``layers`` as a tuple; ``ValueError`` naming any unknown layer."""
        layers = tuple(layers)
        bad = [name for name in layers if name not in self._index]
        if bad:
            raise ValueError(
                f"unknown layer(s) {bad} of {type(self).__name__}; layers are: {', '.join(self.layers)}"
            )
        return layers

    def downscale(self, layer: str) -> int:
        """The input-to-``layer`` size ratio (2 per pooling layer before it, stride included)."""
        factor = 1
        for i, module in enumerate(self.layers.values()):
            stride = getattr(module, "stride", 1)
            factor *= stride if isinstance(stride, int) else stride[0]
            if i == self._index[layer]:
                break
        return factor

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] → the network's input scale."""
        return (x - self.mean) / self.std

    def forward(
        self, x: torch.Tensor, layers: Iterable[str], *, normalized: bool = False
    ) -> dict[str, torch.Tensor]:
        """Encode ``x`` and return the requested layers.

        Parameters
        ----------
        x : Tensor, shape (B, 3, H, W)
            RGB in [0, 1] (or already normalised, with ``normalized=True``).
        layers : iterable of str
            Layer names; the pass stops after the deepest one.
        normalized : bool
            ``x`` is already on the network's input scale; skip the normalisation.

        Returns
        -------
        dict of str to Tensor
            One entry per requested layer.
        """
        wanted = set(self.check_layers(layers))
        if not wanted:
            return {}
        last = max(self._index[name] for name in wanted)
        if not normalized:
            x = self.normalize(x)
        out: dict[str, torch.Tensor] = {}
        for i, (name, module) in enumerate(self.layers.items()):
            x = module(x)
            if name in wanted:
                out[name] = x
            if i == last:
                break
        return out


def conv_from(weights: dict, name: str, padding: int, stride: int = 1) -> nn.Conv2d:
    """A frozen ``nn.Conv2d`` holding ``weights[name + '.weight' / '.bias']`` (copied)."""
    w, b = weights[f"{name}.weight"], weights[f"{name}.bias"]
    conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=stride, padding=padding)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(b))
    return conv
