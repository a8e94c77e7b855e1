"""A small gated-convolution encoder–decoder for inpainting arbitrary holes ("context encoder").

The network is in the family of Pathak et al.'s Context Encoder (2016): an encoder reads the
known context, a bottleneck reasons at low resolution, a decoder paints the missing pixels. Three
later ideas adapt it to holes of any shape and images of any size:

* **gated convolutions** (Yu et al., ICCV 2019) in the encoder: every layer learns a soft,
  per-pixel, per-channel gate ``σ(W_g x)`` that says how much of its feature to trust, so
  hole pixels (zeros at the input) do not pollute the features the way they would in a plain
  convolution (the failure Liu et al. 2018 fix with partial convolutions);
* a **dilated middle** (Iizuka et al. 2017; Yu et al. 2018) at 1/8 resolution, dilations 1, 2,
  4, 8, widening the receptive field to ≈ 250 px without more downsampling;
* one **Fourier unit** (Suvorov et al., LaMa 2022): a 1×1 convolution on the real FFT of the
  bottleneck features, a global receptive field for large holes at the cost of one FFT.

It is fully convolutional: any ``H × W`` works; inputs are padded (reflect) to a multiple of
:data:`STRIDE` and the output cropped back. The hole is first filled smoothly by
:func:`push_pull` (a mask-weighted pyramid with Jacobi relaxation: a membrane fill in linear
time); the network reads that prefilled image, centred, and the mask ``m`` (1 = hole), 4
channels, and returns the prefill plus a learned correction (its last layer starts at zero).
``prefill=False`` is the plain context encoder: zeroed hole, sigmoid image out. The output is
meant to be clipped to [0, 1] and composited: ``m·out + (1 − m)·x``.

Architecture (``width=32``; ``c = width``), ≈ 0.6 M parameters, ≈ 3 GMAC at 512 × 512::

    in 4 ── gated 3×3 s2 → c/... (H/2, 3c/4) ── gated 3×3 s2 (H/4, 3c/2) ── gated 3×3 s2 (H/8, 3c)
         ── 4 × [dilated 3×3 residual, d = 1, 2, 4, 8] + Fourier unit (H/8, 3c)
         ── up ×2, 1×1, + skip, 3×3 (H/4, 3c/2) ── up ×2, 1×1, + skip, 3×3 (H/2, 3c/4)
         ── up ×2, concat input, 1×1 → c/2, 3×3 → 3, sigmoid (H)

References
----------
.. [1] D. Pathak, P. Krähenbühl, J. Donahue, T. Darrell, A. Efros, "Context Encoders: Feature
   Learning by Inpainting", CVPR 2016.
.. [2] J. Yu, Z. Lin, J. Yang, X. Shen, X. Lu, T. Huang, "Free-Form Image Inpainting with Gated
   Convolution", ICCV 2019.
.. [3] G. Liu, F. Reda, K. Shih, T.-C. Wang, A. Tao, B. Catanzaro, "Image Inpainting for
   Irregular Holes Using Partial Convolutions", ECCV 2018.
.. [4] S. Iizuka, E. Simo-Serra, H. Ishikawa, "Globally and Locally Consistent Image
   Completion", SIGGRAPH 2017.
.. [5] R. Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier Convolutions",
   WACV 2022.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FILE_FORMAT", "STRIDE", "ContextEncoder", "FourierUnit", "GatedConv", "load_model",
           "prepare_input", "read_file", "save_model"]

#: Total downsampling of the network: inputs are padded to a multiple of this.
STRIDE = 8


class GatedConv(nn.Module):
    """``φ(W_f x) · σ(W_g x)`` (Yu et al. 2019), feature and gate from one convolution."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, padding=dilation * (k - 1) // 2, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, dim=1)
        return F.elu(f) * torch.sigmoid(g)


class FourierUnit(nn.Module):
    """LaMa's spectral transform: 1×1 conv + ReLU on the stacked real/imaginary rFFT."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * c, 2 * c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        z = torch.fft.rfft2(x.float(), norm="ortho")
        y = F.relu(self.conv(torch.cat([z.real, z.imag], dim=1).to(x.dtype)))
        re, im = y.float().chunk(2, dim=1)
        return torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho").to(x.dtype)


class _Dilated(nn.Module):
    def __init__(self, c: int, d: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=d, dilation=d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.elu(self.conv(x))


#: Jacobi relaxations of the hole per pyramid level in :func:`push_pull`.
RELAX_ITERATIONS = 8


def _neighbour_mean(x: torch.Tensor) -> torch.Tensor:
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return 0.25 * (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:])


def _laplacian(x: torch.Tensor) -> torch.Tensor:
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:] - 4.0 * x


def push_pull(image: torch.Tensor, mask: torch.Tensor, iterations: int = RELAX_ITERATIONS,
              biharmonic: int = 0) -> torch.Tensor:
    """Fill the hole smoothly: push-pull (Gortler et al. 1996) with Jacobi relaxation at each
    level, a small multigrid solver of Laplace's equation in the hole (a membrane fill, as
    diffusion inpainting), optionally followed by relaxations of the biharmonic equation (a
    thin-plate fill that continues gradients across the hole, as scikit-image's biharmonic
    inpainting). Known pixels are kept exactly.

    Push: ``x_{l+1} = avg(x_l)``, ``k_{l+1} = avg(k_l)`` (2×2; ``x_0 = image·(1 − mask)``,
    ``k_0 = 1 − mask``) down to 1 px. Pull: ``f_l = x_l + (1 − k_l)·up(f_{l+1})`` (bilinear),
    then ``iterations`` times ``f_l ← x_l + (1 − k_l)·mean₄(f_l)`` (the 4-neighbour mean), then
    ``biharmonic`` times ``f_l ← f_l − (1 − k_l)·Δ²f_l / 40`` (damped Jacobi/Richardson steps of
    ``Δ²f = 0`` with the 13-point stencil ``Δ∘Δ``; the step 1/40 keeps every mode stable, as
    the stencil's symbol is at most 64). Linear time; differentiable.
    """
    known = 1.0 - mask
    xs, ks = [image * known], [known]
    while min(xs[-1].shape[-2:]) > 1:
        xs.append(F.avg_pool2d(xs[-1], 2, ceil_mode=True))
        ks.append(F.avg_pool2d(ks[-1], 2, ceil_mode=True))
    k = ks[-1]
    fill = torch.where(k > 0, xs[-1] / k.clamp_min(1e-8), torch.full_like(xs[-1], 0.5))
    for x, k in zip(reversed(xs[:-1]), reversed(ks[:-1])):
        fill = x + (1.0 - k) * F.interpolate(fill, size=x.shape[-2:], mode="bilinear", align_corners=False)
        for _ in range(iterations):
            fill = x + (1.0 - k) * _neighbour_mean(fill)
        if biharmonic:
            hole = (1.0 - k) / 40.0
            for _ in range(biharmonic):
                fill = fill - hole * _laplacian(_laplacian(fill))
    return fill


def prepare_input(image: torch.Tensor, mask: torch.Tensor, prefill: bool = True,
                  relax: int = RELAX_ITERATIONS, biharmonic: int = 0) -> torch.Tensor:
    """``(B, 3, H, W)`` image in [0, 1] and ``(B, 1, H, W)`` mask (1 = hole) → 4-channel input:
    the image with its hole push-pull filled (``prefill``) or zeroed, centred, and the mask."""
    base = push_pull(image, mask, relax, biharmonic) if prefill else image * (1.0 - mask)
    return torch.cat([base - 0.5, mask], dim=1)


class ContextEncoder(nn.Module):
    """The inpainting network (see the module docstring for the architecture).

    Parameters
    ----------
    width : int
        Base width ``c``; 32 is the shipped model. Must be a multiple of 4.
    fourier : bool
        Include the Fourier unit in the bottleneck.
    relax : int
        Jacobi relaxations per level of the push-pull prefill (0: plain push-pull).
    biharmonic : int
        Biharmonic relaxations per level of the prefill after the membrane ones (0: a membrane
        prefill, as files written before this option existed).
    prefill : bool
        Residual mode: the hole is first filled by :func:`push_pull` and the network predicts a
        correction to that fill (its last layer starts at zero, so an untrained network returns
        the push-pull fill). ``False``: the hole is zeroed and the output is a sigmoid image.

    Shape
    -----
    ``forward(image, mask)``: image ``(B, 3, H, W)`` in [0, 1], mask ``(B, 1, H, W)`` with 1 in
    the hole; any ``H, W ≥ 1``. Returns ``(B, 3, H, W)`` in [0, 1] (not composited).

    Examples
    --------
    >>> net = ContextEncoder()
    >>> x, m = torch.rand(1, 3, 37, 50), torch.zeros(1, 1, 37, 50)
    >>> net(x, m).shape
    torch.Size([1, 3, 37, 50])
    """

    def __init__(self, width: int = 32, fourier: bool = True, prefill: bool = True,
                 relax: int = RELAX_ITERATIONS, biharmonic: int = 0):
        super().__init__()
        if width < 4 or width % 4:
            raise ValueError(f"width must be a positive multiple of 4; got {width!r}")
        if not 0 <= int(relax) <= 100:
            raise ValueError(f"relax must be in [0, 100]; got {relax!r}")
        if not 0 <= int(biharmonic) <= 100:
            raise ValueError(f"biharmonic must be in [0, 100]; got {biharmonic!r}")
        self.config = {"width": int(width), "fourier": bool(fourier), "prefill": bool(prefill),
                       "relax": int(relax)}
        if biharmonic:  # files of membrane-prefill networks keep their old config
            self.config["biharmonic"] = int(biharmonic)
        self.prefill, self.relax, self.biharmonic = bool(prefill), int(relax), int(biharmonic)
        c1, c2, c3 = 3 * width // 4, 3 * width // 2, 3 * width
        self.e1 = GatedConv(4, c1, 3, stride=2)
        self.e2 = GatedConv(c1, c2, 3, stride=2)
        self.e3 = GatedConv(c2, c3, 3, stride=2)
        self.mid = nn.Sequential(*[_Dilated(c3, d) for d in (1, 2, 4, 8)])
        self.fourier = FourierUnit(c3) if fourier else None
        self.u3 = nn.Conv2d(c3, c2, 1)
        self.d3 = nn.Conv2d(c2, c2, 3, padding=1)
        self.u2 = nn.Conv2d(c2, c1, 1)
        self.d2 = nn.Conv2d(c1, c1, 3, padding=1)
        self.u1 = nn.Conv2d(c1 + 4, width // 2, 1)
        self.out = nn.Conv2d(width // 2, 3, 3, padding=1)
        if self.prefill:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if image.ndim != 4 or image.shape[1] != 3 or mask.shape != (image.shape[0], 1, *image.shape[2:]):
            raise ValueError(
                f"expected image (B, 3, H, W) and mask (B, 1, H, W); got {tuple(image.shape)} and "
                f"{tuple(mask.shape)}"
            )
        H, W = image.shape[-2:]
        ph, pw = -H % STRIDE, -W % STRIDE
        x = prepare_input(image, mask, self.prefill, self.relax, self.biharmonic)
        if ph or pw:
            # reflect needs pad < size; replicate covers tiny inputs
            mode = "reflect" if ph < H and pw < W else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        h1 = self.e1(x)
        h2 = self.e2(h1)
        h3 = self.e3(h2)
        y = self.mid(h3)
        if self.fourier is not None:
            y = y + self.fourier(y)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.elu(self.d3(F.elu(self.u3(y)) + h2))
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.elu(self.d2(F.elu(self.u2(y)) + h1))
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.elu(self.u1(torch.cat([y, x], dim=1)))
        if self.prefill:  # a correction of the push-pull fill (values may leave [0, 1]: clip)
            return x[:, :3, :H, :W] + 0.5 + self.out(y)[:, :, :H, :W]
        return torch.sigmoid(self.out(y))[:, :, :H, :W]


#: ``format`` field of an imgkit inpainting-network file (model or training checkpoint).
FILE_FORMAT = "imgkit-context-encoder"
FILE_VERSION = 1


def save_model(net: ContextEncoder, path, *, half: bool = False, meta: dict | None = None) -> None:
    """Write ``net`` as a model file: ``{"format", "version", "config", "state_dict", "meta"}``.

    Read back with :func:`load_model` (plain tensors and dicts: loadable with
    ``torch.load(weights_only=True)``). ``half=True`` stores fp16 tensors (half the size; the
    loader casts back to float32).
    """
    import os
    import tempfile
    from pathlib import Path

    net = net.module if hasattr(net, "module") else net
    sd = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu().clone())
          for k, v in net.state_dict().items()}
    blob = {"format": FILE_FORMAT, "version": FILE_VERSION, "config": dict(net.config),
            "state_dict": sd, "meta": dict(meta or {})}
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a model file is shared like any output
        torch.save(blob, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_file(path) -> dict:
    """Safely read a model file or training checkpoint (``weights_only``: tensors and plain
    containers only) and check its format; raises :class:`~imgkit.errors.WeightsFormatError`."""
    from ..errors import WeightsFormatError

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (not a zip), EOFError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsFormatError(
            f"cannot read inpainting-network weights {str(path)!r}: {type(exc).__name__}: {first[:200]}; "
            f"expected a model file written by `imgkit train inpaint` (torch.save of plain tensors)"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FILE_FORMAT or "state_dict" not in blob:
        got = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise WeightsFormatError(
            f"{str(path)!r} is not an imgkit inpainting-network file (format {got!r}, expected "
            f"{FILE_FORMAT!r}); write one with `imgkit train inpaint ... -o model.pt`"
        )
    return blob


def load_model(path, device="cpu") -> ContextEncoder:
    """Build a :class:`ContextEncoder` from a model file or training checkpoint (float32, eval mode).

    Raises
    ------
    WeightsFormatError
        The file is not one imgkit wrote, or its tensors do not fit the architecture it names.
    """
    from ..errors import WeightsFormatError

    blob = read_file(path)
    cfg = blob.get("config") or {}
    try:
        net = ContextEncoder(**cfg)
    except (TypeError, ValueError) as exc:
        raise WeightsFormatError(f"{str(path)!r}: bad network config {cfg!r}: {exc}") from None
    sd = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise WeightsFormatError(
            f"{str(path)!r}: the tensors do not fit a ContextEncoder{cfg}: {' '.join(first[:2])[:300]}"
        ) from None
    return net.to(device).eval()
