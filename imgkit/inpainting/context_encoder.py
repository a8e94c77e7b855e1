"""Context-encoder inpainting: one forward pass of the small network imgkit trains and ships.

The network (:class:`imgkit.nets.inpaint_net.ContextEncoder`: gated convolutions, a dilated +
Fourier bottleneck at 1/8 resolution, ≈ 0.5 M parameters) was trained by ``imgkit train
inpaint`` on the benchmark corpus's ``tune`` photos; ``docs/models.md`` is its model card (data,
command, steps, time, hash, held-out scores). The file ships inside the package
(``imgkit/nets/models/context_encoder.pt``, fp16). ``weights=PATH`` uses a network you trained
yourself (``imgkit train inpaint --photos DIR -o model.pt``).

Region: like every inpainting method it takes :func:`imgkit.inpaint`'s ``region`` options; its
default ``region="auto"`` works on each hole's bounding box plus a context margin on photos over
one megapixel, so a small hole in a large photo costs what its crop costs. A region whose
longer side exceeds ``max_size`` is reduced (anti-aliased) and the fill upsampled bilinearly:
the network was trained on scenes of 128–512 px. Known pixels are composited back exactly.

References
----------
.. [1] D. Pathak, P. Krähenbühl, J. Donahue, T. Darrell, A. Efros, "Context Encoders: Feature
   Learning by Inpainting", CVPR 2016.
.. [2] J. Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019.
"""

from __future__ import annotations

import os

import numpy as np

from .._xp import to_numpy
from ..registry import REQUIRES_TORCH, Option, register

__all__ = ["context_encoder"]



@register(
    "context_encoder", task="inpaint", family="deep", backend="torch", devices=("cpu", "cuda"),
    requires=(REQUIRES_TORCH,), region="auto",
    reference="D. Pathak et al., 'Context Encoders: Feature Learning by Inpainting', CVPR 2016; "
              "gated convolutions of J. Yu et al., ICCV 2019 (network trained by imgkit, docs/models.md)",
    summary="small trained CNN shipped with imgkit: one forward pass, any hole shape (weights= for your own)",
    options=(
        Option("weights", None, "model file from `imgkit train inpaint` (default: the shipped model)",
               type=(str, os.PathLike), nullable=True, check=os.fspath),
        Option("max_size", 1024, "longest side given to the network; larger regions are reduced and "
               "the fill upsampled (None: full size)", type=int, low=16, high=100_000, nullable=True),
    ),
)
def context_encoder(image, mask, *, ctx, weights, max_size):
    """Fill ``image`` (H, W, C) where ``mask`` is True with the trained context encoder.

    References
    ----------
    .. [1] D. Pathak et al., "Context Encoders: Feature Learning by Inpainting", CVPR 2016.
    """
    from ..nets.inpaint_fill import network_fill

    # the network reads host arrays (CuPy in: copied to the host) and runs on ctx.device
    out, info = network_fill(to_numpy(image), np.asarray(to_numpy(mask), bool), weights=weights,
                             device=ctx.device, region="full", max_size=max_size, ctx=ctx)
    return ctx.xp.asarray(out), info
