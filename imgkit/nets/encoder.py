"""The pretrained encoders, built once per (network, device, pooling): :func:`get_encoder`.

:class:`MultiLayerEncoder` (named layers, ImageNet normalisation first, frozen) lives in
:mod:`~imgkit.nets.multilayer` and is re-exported here; the builders are in
:mod:`~imgkit.nets.vgg` and :mod:`~imgkit.nets.alexnet`.
"""

from __future__ import annotations

import functools

import torch

from .._torch import torch_device
from .multilayer import IMAGENET_MEAN, IMAGENET_STD, MultiLayerEncoder, conv_from

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "MultiLayerEncoder", "conv_from", "get_encoder"]


def get_encoder(
    net: str = "vgg16", device: str | torch.device = "cpu", pooling: str = "max"
) -> MultiLayerEncoder:
    """The pretrained encoder ``net`` on ``device``, built once per (net, device, pooling).

    Parameters
    ----------
    net : {"vgg16", "alexnet"}
    device : str or torch.device
    pooling : {"max", "avg"}
        VGG16 only: ``"avg"`` replaces every max-pooling layer by average pooling (Gatys et
        al. 2016 found it gives slightly smoother syntheses).

    Raises
    ------
    WeightsNotFoundError, WeightsFormatError
        See :func:`imgkit.nets.weights.load_weights`.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg'; got {pooling!r}")
    return _cached_encoder(net, torch_device(device), pooling)


@functools.cache
def _cached_encoder(net: str, device: torch.device, pooling: str) -> MultiLayerEncoder:
    if net == "vgg16":
        from .vgg import vgg16_encoder

        return vgg16_encoder(pooling=pooling).to(device)
    if net == "alexnet":
        if pooling != "max":
            raise ValueError("AlexNet features use max pooling only")
        from .alexnet import alexnet_encoder

        return alexnet_encoder().to(device)
    raise ValueError(f"net must be 'vgg16' or 'alexnet'; got {net!r}")
