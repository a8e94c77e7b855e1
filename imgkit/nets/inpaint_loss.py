"""Training losses of the inpainting network (:mod:`imgkit.nets.inpaint_net`).

With ``I_out`` the network output, ``I_gt`` the photo, ``M`` the hole mask (1 = hole) and
``I_comp = M·I_out + (1 − M)·I_gt`` the composite, the loss is (Liu et al. 2018, eq. 1–7,
plus the optional adversarial term of Pathak et al. 2016)::

    L = w_hole L_hole + w_valid L_valid + w_perc L_perc + w_style L_style + w_tv L_tv
        + w_lpips L_lpips + w_adv L_adv

* ``L_hole = Σ M|I_out − I_gt| / (3 Σ M)``, ``L_valid`` the same on ``1 − M``: L1 per hole
  (valid) pixel. Liu et al. divide by all pixels; dividing by the hole area instead keeps the
  term's scale the same for a 2 % scribble and a 30 % box.
* ``L_perc = Σ_p mean|ψ_p(I_out) − ψ_p(I_gt)| + mean|ψ_p(I_comp) − ψ_p(I_gt)|`` over the VGG16
  layers ``relu1_2, relu2_2, relu3_3`` (Liu et al. use pool1–3; Johnson et al. 2016's
  perceptual loss) of the pretrained VGG16 imgkit already loads (:mod:`imgkit.nets.vgg`).
* ``L_style = Σ_p mean|G(ψ_p(I_out)) − G(ψ_p(I_gt))| + (the same for I_comp)`` with ``G`` the
  normalised Gram matrix of :func:`imgkit.nets.losses.gram_matrix` (Liu et al.'s ``K_p``).
* ``L_tv``: mean absolute difference of neighbouring pixels of ``I_comp`` over the hole dilated
  by one pixel (Liu et al.'s ``P``).
* ``L_lpips = mean_b LPIPS_VGG(I_comp, I_gt)_b / max(a_b, 0.02)``: the LPIPS distance (Zhang et
  al. 2018; :mod:`imgkit.nets.lpips`, VGG16 taps ``relu1_2`` … ``relu5_3`` unit-normalised, with
  the learned linear heads) of each composite, divided by its hole fraction ``a_b`` so that a
  thin stroke counts as much as a large box (the hole L1 is normalised the same way). LPIPS is a
  perceptual loss with calibrated layer weights (as LaMa's high-receptive-field perceptual
  loss, Suvorov et al. 2022). Off by default; note that it is also the benchmark's metric.
* ``L_adv``: hinge loss of a small spectral-normalised PatchGAN discriminator
  (:class:`PatchDiscriminator`; Isola et al. 2017; Miyato et al. 2018) on ``I_comp``, as the
  context encoder's joint loss. Off by default (``w_adv = 0``): it needs far more steps than a
  CPU budget gives before it helps.

Default weights: Liu et al.'s ``w_valid = 1, w_hole = 6, w_perc = 0.05, w_style = 120,
w_tv = 0.1``; ``w_adv = 0`` (Pathak et al. use 0.001 with an L2 reconstruction of weight 0.999).

References
----------
.. [1] G. Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018.
.. [2] J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
   Super-Resolution", ECCV 2016.
.. [3] D. Pathak et al., "Context Encoders: Feature Learning by Inpainting", CVPR 2016.
.. [4] P. Isola, J.-Y. Zhu, T. Zhou, A. Efros, "Image-to-Image Translation with Conditional
   Adversarial Networks", CVPR 2017.
.. [5] R. Zhang, P. Isola, A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness of
   Deep Features as a Perceptual Metric", CVPR 2018.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .losses import gram_matrix

__all__ = ["FEATURE_LAYERS", "InpaintLoss", "LossWeights", "PatchDiscriminator", "hole_l1"]

#: VGG16 layers of the perceptual and style terms.
FEATURE_LAYERS = ("relu1_2", "relu2_2", "relu3_3")


@dataclass
class LossWeights:
    """Weights of the loss terms (defaults: Liu et al. 2018; adversarial off)."""

    hole: float = 6.0
    valid: float = 1.0
    perceptual: float = 0.05
    style: float = 120.0
    tv: float = 0.1
    lpips: float = 0.0
    adversarial: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @property
    def needs_vgg(self) -> bool:
        return self.perceptual > 0 or self.style > 0

    @property
    def needs_lpips(self) -> bool:
        return self.lpips > 0


def hole_l1(out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per hole pixel and channel (0 where there is no hole)."""
    return (mask * (out - gt).abs()).sum() / (mask.sum() * out.shape[1]).clamp_min(1.0)


class PatchDiscriminator(nn.Module):
    """A 70×70-style PatchGAN (Isola et al. 2017) with spectral normalisation, 4 layers."""

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        c = width
        self.net = nn.Sequential(
            sn(nn.Conv2d(4, c, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * c, 1, 3, 1, 1)),
        )

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image * 2 - 1, mask], dim=1))


class InpaintLoss(nn.Module):
    """The weighted training loss; returns a dict of the weighted terms and ``"total"``.

    Parameters
    ----------
    weights : LossWeights
    encoder : MultiLayerEncoder, optional
        The VGG16 encoder; needed when the perceptual or style weight is nonzero.
    discriminator : PatchDiscriminator, optional
        Needed when the adversarial weight is nonzero.
    lpips : LPIPS, optional
        The LPIPS-VGG model (:func:`imgkit.nets.lpips.get_lpips`); needed when the ``lpips``
        weight is nonzero. Its weights are frozen here.
    """

    def __init__(self, weights: LossWeights, encoder: nn.Module | None = None,
                 discriminator: nn.Module | None = None, lpips: nn.Module | None = None):
        super().__init__()
        self.w = weights
        if weights.lpips > 0 and lpips is None:
            raise ValueError("the lpips term needs the LPIPS model; pass lpips=")
        self.lpips = lpips if weights.lpips > 0 else None
        if self.lpips is not None:
            for p in self.lpips.parameters():
                p.requires_grad_(False)
        if weights.needs_vgg and encoder is None:
            raise ValueError("the perceptual/style terms need the VGG16 encoder; pass encoder=")
        if weights.adversarial > 0 and discriminator is None:
            raise ValueError("the adversarial term needs a discriminator; pass discriminator=")
        self.encoder = encoder if weights.needs_vgg else None
        self.discriminator = discriminator if weights.adversarial > 0 else None

    def forward(self, out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor,
                vgg: bool = True) -> dict[str, torch.Tensor]:
        w = self.w
        comp = mask * out + (1 - mask) * gt
        terms: dict[str, torch.Tensor] = {
            "hole": w.hole * hole_l1(out, gt, mask),
            "valid": w.valid * hole_l1(out, gt, 1 - mask),
        }
        if w.tv > 0:
            near = F.max_pool2d(mask, 3, 1, 1)
            dy = (near[:, :, 1:] * (comp[:, :, 1:] - comp[:, :, :-1]).abs()).mean()
            dx = (near[:, :, :, 1:] * (comp[:, :, :, 1:] - comp[:, :, :, :-1]).abs()).mean()
            terms["tv"] = w.tv * (dx + dy)
        if self.encoder is not None and vgg:
            b = out.shape[0]
            feats = self.encoder(torch.cat([out, comp]), FEATURE_LAYERS)
            with torch.no_grad():
                ref = self.encoder(gt, FEATURE_LAYERS)
            perc = out.new_zeros(())
            style = out.new_zeros(())
            for layer in FEATURE_LAYERS:
                f, r = feats[layer], ref[layer]
                fo, fc = f[:b], f[b:]
                if w.perceptual > 0:
                    perc = perc + (fo - r).abs().mean() + (fc - r).abs().mean()
                if w.style > 0:
                    gr = gram_matrix(r)
                    style = style + (gram_matrix(fo) - gr).abs().mean() + (gram_matrix(fc) - gr).abs().mean()
            if w.perceptual > 0:
                terms["perceptual"] = w.perceptual * perc
            if w.style > 0:
                terms["style"] = w.style * style
        if self.lpips is not None and vgg:
            frac = mask.flatten(1).mean(dim=1).clamp_min(0.02)
            d = self.lpips(comp * 2 - 1, gt * 2 - 1)
            terms["lpips"] = w.lpips * (d / frac).mean()
        if self.discriminator is not None:
            terms["adversarial"] = w.adversarial * -self.discriminator(comp, mask).mean()
        terms["total"] = sum(terms.values())
        return terms

    def discriminator_loss(self, out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hinge loss of the discriminator (real: the photo; fake: the detached composite)."""
        comp = (mask * out + (1 - mask) * gt).detach()
        real = self.discriminator(gt, mask)
        fake = self.discriminator(comp, mask)
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
