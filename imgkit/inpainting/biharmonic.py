"""Biharmonic inpainting from scikit-image."""

from __future__ import annotations

from ..registry import Option, register


@register(
    "biharmonic", task="inpaint", family="classical", backend="skimage",
    reference="S. B. Damelin, N. S. Hoang, 'On Surface Completion and Image Inpainting by "
              "Biharmonic Functions: Numerical Aspects', Int. J. Math. Math. Sci. 2018 "
              "(skimage.restoration.inpaint_biharmonic)",
    summary="smooth biharmonic (thin-plate) fill; good on small holes, blurs texture",
    options=(
        Option("split_into_regions", True,
               "solve each connected hole separately (same result, much faster for many holes)",
               type=bool),
    ),
)
def biharmonic(image, mask, *, ctx, split_into_regions):
    import numpy as np
    from skimage.restoration import inpaint_biharmonic

    out = inpaint_biharmonic(
        image, mask, split_into_regions=split_into_regions, channel_axis=-1
    )
    return out.astype(np.float32), None
