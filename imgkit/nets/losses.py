"""Perceptual losses of neural style transfer (Gatys et al., CVPR 2016), shared by the Gatys
method and by :mod:`imgkit.metrics`.

Structure after pystiche: a comparison loss computes its *target representation* once, under
``no_grad``, and keeps it as a non-persistent buffer (``.to(device)`` moves it with the module;
``state_dict()`` leaves it out); the criterion runs the encoder once per
evaluation for the union of the layers its losses read, so the content and style losses share
one forward pass.

Normalisations (``F`` the input's features at a layer, ``N`` channels × ``M`` positions):

* Gram matrix: ``G = F Fᵀ / (N M)``.
* Style loss of a layer: ``E = Σ (G − A)² / 4`` with ``A`` the style's Gram matrix. This is the
  paper's ``E_l = Σ (G_raw − A_raw)² / (4 N² M²)`` exactly; it does not depend on image size,
  so a style image and a content image of different sizes compare directly.
* Style loss: ``Σ_l w_l E_l`` with ``w_l = 1 / (number of layers)`` by default (the paper's
  choice).
* Content loss: ``½ mean((F − P)²)``: the paper's ``½ Σ (F − P)²`` divided by ``N M``, so that
  the content/style balance does not change with the image size (the paper's sum does).
* Total variation: ``mean((∂x/∂y)²) + mean((∂x/∂x)²)`` over neighbouring pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .encoder import MultiLayerEncoder
from .layers import CONTENT_LAYER, STYLE_LAYERS

__all__ = [
    "CONTENT_LAYER",
    "STYLE_LAYERS",
    "ContentLoss",
    "GatysCriterion",
    "GramLoss",
    "content_loss",
    "gram_matrix",
    "style_layer_loss",
    "total_variation",
]

def gram_matrix(f: torch.Tensor) -> torch.Tensor:
    """``(B, N, H, W)`` features → ``(B, N, N)`` Gram matrices ``F Fᵀ / (N H W)``."""
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return torch.bmm(x, x.transpose(1, 2)) / (n * h * w)


def style_layer_loss(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``Σ (G − A)² / 4`` per batch item: Gatys' ``E_l`` for normalised Gram matrices."""
    return ((g - a) ** 2).sum(dim=(-2, -1)) / 4.0


def content_loss(f: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``½ mean((F − P)²)`` per batch item."""
    return 0.5 * ((f - p) ** 2).flatten(1).mean(dim=1)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of vertical and of horizontal neighbours, per batch item."""
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2
    return dy.flatten(1).mean(dim=1) + dx.flatten(1).mean(dim=1)


class GramLoss(nn.Module):
    """Weighted style loss ``Σ_l w_l E_l`` against target Gram matrices set once.

    Parameters
    ----------
    layers : sequence of str
        Encoder layers.
    layer_weights : sequence of float, optional
        ``w_l``; default ``1 / len(layers)`` each.
    """

    def __init__(self, layers: Sequence[str] = STYLE_LAYERS, layer_weights: Sequence[float] | None = None):
        super().__init__()
        self.layers = tuple(layers)
        if layer_weights is None:
            layer_weights = [1.0 / len(self.layers)] * len(self.layers)
        if len(layer_weights) != len(self.layers):
            raise ValueError(
                f"{len(layer_weights)} layer weights for {len(self.layers)} style layers; give one per layer"
            )
        self.layer_weights = tuple(float(w) for w in layer_weights)
        for layer in self.layers:  # non-persistent buffers: .to() moves them, state_dict skips them
            self.register_buffer(self._buffer(layer), None, persistent=False)

    @staticmethod
    def _buffer(layer: str) -> str:
        return f"target_{layer}"

    @property
    def targets(self) -> dict[str, torch.Tensor]:
        """The target Gram matrix of each layer (empty before :meth:`set_target`)."""
        found = {layer: getattr(self, self._buffer(layer)) for layer in self.layers}
        return {layer: t for layer, t in found.items() if t is not None}

    @torch.no_grad()
    def set_target(
        self, encodings: Sequence[dict[str, torch.Tensor]], weights: Sequence[float] | None = None
    ) -> None:
        """Store the (blended) target Gram matrices of one or several style encodings.

        With weights ``b_i`` (summing to 1) the target is ``A = Σ b_i A_i``: minimising
        ``‖G − A‖²`` has the same gradient as ``Σ b_i ‖G − A_i‖²``.
        """
        if weights is None:
            weights = [1.0 / len(encodings)] * len(encodings)
        for layer in self.layers:
            a = sum(float(b) * gram_matrix(enc[layer]) for b, enc in zip(weights, encodings))
            setattr(self, self._buffer(layer), a.detach())

    def forward(self, encodings: dict[str, torch.Tensor]) -> torch.Tensor:
        targets = self.targets
        if len(targets) != len(self.layers):
            raise RuntimeError("GramLoss.set_target() must be called before the loss is evaluated")
        total = 0.0
        for layer, w in zip(self.layers, self.layer_weights):
            total = total + w * style_layer_loss(gram_matrix(encodings[layer]), targets[layer])
        return total


class ContentLoss(nn.Module):
    """``½ mean((F − P)²)`` at one layer against a target set once."""

    def __init__(self, layer: str = CONTENT_LAYER):
        super().__init__()
        self.layer = layer
        self.target: torch.Tensor | None
        self.register_buffer("target", None, persistent=False)  # .to() moves it, state_dict skips it

    @torch.no_grad()
    def set_target(self, encoding: dict[str, torch.Tensor]) -> None:
        self.target = encoding[self.layer].detach()

    def forward(self, encodings: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.target is None:
            raise RuntimeError("ContentLoss.set_target() must be called before the loss is evaluated")
        f = encodings[self.layer]
        if f.shape[-2:] != self.target.shape[-2:]:
            raise ValueError(
                f"content features at {self.layer} have size {tuple(f.shape[-2:])} but the target has "
                f"{tuple(self.target.shape[-2:])}; the image and the content image must have the same size"
            )
        return content_loss(f, self.target)


class GatysCriterion(nn.Module):
    """``α L_content + β L_style + γ L_tv`` with one encoder pass per evaluation.

    Parameters
    ----------
    encoder : MultiLayerEncoder
    content_layer : str or None
        ``None`` (or ``content_weight == 0``) drops the content loss (pure texture synthesis).
    style_layers, style_layer_weights
        See :class:`GramLoss`.
    content_weight, style_weight, tv_weight : float
        ``α``, ``β``, ``γ``.

    Calling the criterion on an image returns a dict with the weighted ``"content"``,
    ``"style"`` and ``"tv"`` terms and their sum ``"total"`` (0-d tensors).
    """

    def __init__(
        self,
        encoder: MultiLayerEncoder,
        *,
        content_layer: str | None = CONTENT_LAYER,
        style_layers: Sequence[str] = STYLE_LAYERS,
        style_layer_weights: Sequence[float] | None = None,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        tv_weight: float = 0.0,
    ):
        super().__init__()
        self.encoder = encoder
        use_content = content_layer is not None and content_weight > 0
        self.content = ContentLoss(content_layer) if use_content else None
        self.style = GramLoss(style_layers, style_layer_weights)
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        layers = list(self.style.layers) + ([content_layer] if use_content else [])
        self.layers = encoder.check_layers(dict.fromkeys(layers))

    def set_content(self, image: torch.Tensor) -> None:
        """Encode the content image (1, 3, H, W) once and keep its target features."""
        if self.content is not None:
            with torch.no_grad():
                self.content.set_target(self.encoder(image, [self.content.layer]))

    def set_styles(self, images: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """Encode the style images once each and keep their (blended) Gram matrices."""
        with torch.no_grad():
            encs = [self.encoder(img, self.style.layers) for img in images]
        self.style.set_target(encs, weights)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        enc = self.encoder(image, self.layers)
        zero = image.new_zeros(())
        c = self.content_weight * self.content(enc).sum() if self.content is not None else zero
        s = self.style_weight * self.style(enc).sum()
        tv = self.tv_weight * total_variation(image).sum() if self.tv_weight > 0 else zero
        return {"content": c, "style": s, "tv": tv, "total": c + s + tv}
