"""Deep Image Prior inpainting (Ulyanov, Vedaldi and Lempitsky, CVPR 2018).

No training data and no pretrained weights: a randomly initialised encoder–decoder
:math:`f_\\theta` maps a fixed random code :math:`z` to an image, and its weights are fitted to
the known pixels only,

.. math::  \\min_\\theta \\; \\lVert (f_\\theta(z) - x_0) \\odot m \\rVert^2 ,

where :math:`m` is 1 on known pixels. The network's structure fills the hole: convolutional
generators reproduce natural image structure long before they can reproduce noise, so the
hole is filled with what the known pixels imply. The set-up is the paper's (Sec. 4,
"Inpainting"; the authors' ``inpainting.ipynb``):

* network: the "skip" hourglass of :mod:`imgkit.nets.unet` with ``depth`` levels (default 5);
  encoder/decoder widths ``min(channels·2^i, 8·channels)`` at level ``i`` (default
  ``channels=16``: 16, 32, 64, 128, 128, the widths the paper uses for its large-hole
  inpainting), ``skip_channels`` (default 16) per skip connection, 3×3 convolutions, nearest
  upsampling, LeakyReLU(0.2), BatchNorm, reflection padding, sigmoid output;
* input: a code :math:`z` of ``input_depth`` (32) channels drawn uniformly from [0, 0.1] with
  the run's seed, and perturbed at every iteration by Gaussian noise of standard deviation
  ``input_noise`` (0.03; the paper's ``reg_noise_std``), a regulariser;
* loss: mean squared error over the known pixels; Adam with learning rate ``lr`` (0.01);
* output: the running average of the outputs (weight ``average``, default 0.99: each step
  ``avg = 0.99·avg + 0.01·f_θ(z + noise)``, the smoothing of the authors' code, ``exp_weight``),
  or with ``average=0`` :math:`f_\\theta(z)` after ``iterations`` steps; known pixels are put
  back exactly.

The paper runs 3000–6000 iterations of a 128-channel net on a GPU. The defaults here
(1200 iterations of the 16–128 net) finish a 256×256 image in about 3.5–5.5 minutes on a 2-core
CPU. They come from a tuning study on thin masks (``python -m benchmarks.studies.tune_dip``,
``benchmarks/results/tune_dip*.md``; the inpainting benchmark's stroke masks at 256²): the
16-channel skips and the output average raised the mean hole PSNR from 24.55 to 25.19 dB and
lowered the mean hole LPIPS from 0.0234 to 0.0231 on four photos, for 1.09× the time per step.
Over the benchmark's eight photos the defaults give the best mean hole PSNR (22.92 dB;
``fsr_fast`` 22.75, biharmonic 22.12, Navier–Stokes 21.50, Telea 21.41) and the best mean hole
LPIPS (0.0317; ``fsr_fast`` 0.0333, biharmonic 0.0524, Navier–Stokes 0.0535, Telea 0.0586),
better than biharmonic on 7 of 8 photos; ``fsr_fast`` keeps the better LPIPS on smooth photos.
Give more ``iterations`` (and ``channels``) on a GPU. Images larger than ``max_size`` are worked on
at a reduced size and the fill is upsampled (bilinear): a known pixel of the reduced image
is used by the loss only if no hole pixel contributed to it.

On a busy machine (more runnable processes than cores), PyTorch's OpenMP threads spin-wait for
each other and an iteration can become tens of times slower; start Python with
``OMP_WAIT_POLICY=PASSIVE`` or call ``torch.set_num_threads(1)`` there.

References
----------
.. [1] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep Image Prior", CVPR 2018, pp. 9446–9454;
   extended in IJCV 128:1867–1888, 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..context import Info
from ..errors import InvalidImageError, NoSourceError
from ..registry import REQUIRES_TORCH, Option, register


@dataclass(kw_only=True)
class DIPInfo(Info):
    """What a Deep Image Prior run did.

    Attributes
    ----------
    loss : ndarray of float32, shape (iterations_run,)
        Mean squared error on the known pixels at every iteration (working resolution, with
        the perturbed code).
    snapshots : list of ndarray, each (h, w, C) float32
        The network's whole output image (not composited) after ``snapshot_iterations[k]``
        steps, at the working resolution: a random-looking image at step 0 that turns into
        the photo. The last one is the fill that is returned (with ``average > 0`` the running
        average of the outputs).
    snapshot_iterations : list of int
        Steps of the snapshots (roughly geometric: the image forms early).
    iterations_run : int
        Steps done (fewer than ``iterations`` when the callback stopped the run).
    work_shape : (int, int)
        ``(h, w)`` the network worked at; ``scale`` is ``h / H``.
    scale : float
    net : dict
        ``depth`` (levels actually used), ``down``, ``up``, ``skip`` (channels per level),
        ``input_depth`` and ``parameters`` (count).
    """

    loss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    snapshots: list[np.ndarray] = field(default_factory=list)
    snapshot_iterations: list[int] = field(default_factory=list)
    iterations_run: int = 0
    work_shape: tuple[int, int] = (0, 0)
    scale: float = 1.0
    net: dict[str, Any] = field(default_factory=dict)


def running_average(avg: Any, out: Any, weight: float) -> Any:
    """``weight·avg + (1 − weight)·out`` in place on ``avg`` (a detached copy of ``out`` when
    ``avg`` is None): the averaged output of the ``average`` option. No gradient is recorded."""
    import torch

    with torch.no_grad():
        if avg is None:
            return out.detach().clone()
        return avg.mul_(weight).add_(out.detach(), alpha=1 - weight)


def snapshot_steps(iterations: int, n: int) -> list[int]:
    """Up to ``n`` steps in ``[0, iterations]``, 0 and ``iterations`` included, geometric between."""
    if n <= 0:
        return []
    if n == 1:
        return [iterations]
    steps = np.round(np.geomspace(1, max(iterations, 1), n - 1)).astype(int)
    return sorted({0, *(int(s) for s in steps), iterations})


def channel_plan(depth: int, channels: int, skip_channels: int) -> tuple[list[int], list[int], list[int]]:
    """Per-level widths: ``min(channels·2^i, 8·channels)`` down and up, ``skip_channels`` skips."""
    widths = [min(channels * 2**i, 8 * channels) for i in range(depth)]
    return widths, list(widths), [skip_channels] * depth


@register(
    "dip", task="inpaint", family="deep", backend="torch", devices=("cpu", "cuda"),
    requires=(REQUIRES_TORCH,),
    reference="D. Ulyanov, A. Vedaldi, V. Lempitsky, 'Deep Image Prior', CVPR 2018",
    summary="fits a random-init hourglass CNN to the known pixels; no training data, slow",
    options=(
        Option("iterations", 1200, "Adam steps", type=int, low=1, high=1_000_000),
        Option("lr", 0.01, "Adam learning rate", type=float, low=1e-7, high=1.0),
        Option("depth", 5, "levels of the hourglass (fewer if the image is too small)",
               type=int, low=1, high=8),
        Option("channels", 16, "width of the first level; doubles per level up to 8× this",
               type=int, low=1, high=256),
        Option("skip_channels", 16, "channels of each skip connection (0: none)",
               type=int, low=0, high=256),
        Option("input_depth", 32, "channels of the random input code", type=int, low=1, high=256),
        Option("input_noise", 0.03, "std of the noise added to the code each step (regulariser)",
               type=float, low=0.0, high=1.0),
        Option("average", 0.99, "weight of the running average of the outputs that is returned "
               "(the authors' exp_weight, e.g. 0.99; 0: the last output)", type=float, low=0.0,
               high=0.9999),
        Option("max_size", 512, "longest side worked at; larger images are reduced and the fill "
               "upsampled (None: full size)", type=int, low=8, high=100_000, nullable=True),
        Option("snapshots", 6, "intermediate outputs kept in info.snapshots", type=int,
               low=0, high=1000),
    ),
)
def dip(image, mask, *, ctx, iterations, lr, depth, channels, skip_channels, input_depth,
        input_noise, average, max_size, snapshots):
    """Deep Image Prior inpainting of ``image`` (H, W, C) where ``mask`` is True.

    References
    ----------
    .. [1] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep Image Prior", CVPR 2018.
    """
    from .._pyramid import reduce_with_mask, resize
    from .._torch import deterministic, from_tensor, generator, require_torch, to_tensor, torch_device
    from ..nets.unet import build_skip_net, max_depth

    torch = require_torch()
    dev = torch_device(ctx.device)
    H, W, C = image.shape
    with ctx.timer("setup"):
        work, hole, scale = reduce_with_mask(image, mask, max_size)
        h, w = hole.shape
        if hole.all():
            raise NoSourceError(
                f"at the working size {h}×{w} (max_size={max_size!r}) every pixel touches the "
                f"hole, so none is known; pass a larger max_size (or None)"
            )
        depth_used = min(depth, max_depth(h, w, 3))
        if depth_used < 1:
            raise InvalidImageError(
                f"image of {h}×{w} pixels (working size) is too small for Deep Image Prior: "
                f"both sides must be at least 3 pixels"
            )
        down, up, skip = channel_plan(depth_used, channels, skip_channels)
        g_init = generator(int(ctx.rng(0).integers(2**63)), torch.device("cpu"))
        g_noise = generator(int(ctx.rng(1).integers(2**63)), dev)
        net = build_skip_net(input_depth, C, down, up, skip, generator=g_init, device=dev,
                             upsample="nearest")
        code = (torch.rand((1, input_depth, h, w), generator=g_init) * 0.1).to(dev)
        target = to_tensor(work, dev)
        known = to_tensor((~hole)[:, :, None].astype(np.float32), dev)
        denom = float((~hole).sum()) * C
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        snap_at = set(snapshot_steps(iterations, snapshots))
    info = DIPInfo(work_shape=(h, w), scale=float(scale), net={
        "depth": depth_used, "down": down, "up": up, "skip": skip, "input_depth": input_depth,
        "parameters": int(sum(p.numel() for p in net.parameters())),
    })
    losses: list[float] = []
    avg = None  # running average of the outputs (average > 0)

    def snapshot(step: int) -> None:
        with torch.no_grad():
            info.snapshots.append(from_tensor(net(code)))
        info.snapshot_iterations.append(step)

    with deterministic(dev), ctx.timer("optimise"), ctx.steps(iterations, "dip", "it") as bar:
        for step in range(iterations):
            if step in snap_at:
                snapshot(step)
            inp = code
            if input_noise > 0:
                noise = torch.randn(code.shape, generator=g_noise, device=dev)
                inp = code + input_noise * noise
            out = net(inp)
            if average > 0:
                avg = running_average(avg, out, average)
            loss = ((out - target) ** 2 * known).sum() / denom
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = float(loss.detach())
            losses.append(value)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{value:.2e}")
            if bar.update(1, {"iteration": step + 1, "loss": value}):
                info.stopped = True
                break
        done = len(losses)
        with torch.no_grad():
            fill = from_tensor(net(code) if avg is None else avg)
        if snapshots > 0 and (done in snap_at or info.stopped):
            info.snapshots.append(fill.copy())
            info.snapshot_iterations.append(done)
    info.loss = np.asarray(losses, np.float32)
    info.iterations_run = done
    if scale != 1.0:
        with ctx.timer("upsample"):
            fill = resize(fill, (H, W))
    return fill, info
