"""Learn a new style for the multistyle network (Dumoulin, Shlens & Kudlur, ICLR 2017, §5).

Dumoulin et al. observe that a trained multi-style network already holds the convolutions a
new style needs: fitting only that style's conditional-normalisation parameters (a scale
``γ`` and shift ``β`` per channel of every normalisation layer: 2 × 419 numbers here) to a
new painting converges much faster than training a network. :func:`learn_style` does exactly
that with the published 26-style network (:mod:`imgkit.style.multistyle`) frozen:

* the new ``(γ, β)`` start from the mean of the 26 built-in styles (or from one of them);
* each step stylises a batch of random square crops of the training photos (resized so that
  their shorter side is ``size``, random crop of ``size × size``, random horizontal flip)
  and minimises Johnson et al.'s perceptual loss with imgkit's VGG16 losses
  (:mod:`imgkit.nets.losses`): ``content_weight · ½ mean((F − P)²)`` at ``content_layer``
  + ``style_weight · Σ_l w_l Σ (G − A)² / 4`` (Gram matrices ``F Fᵀ / (N M)`` of the
  stylised crop against those of the painting, resized so that its longest side is
  ``style_size``) + ``tv_weight ·`` total variation;
* Adam on the ``(γ, β)`` only.

Progress is shown as a tqdm bar (``progress=True``); a ``callback(step, total, state)`` may
stop the run. Every ``checkpoint_every`` steps (and at the end, or when stopped) the
parameters, the Adam moments, the step and the loss history go to ``checkpoint`` (an
``.npz``, written atomically; default ``<out>.ckpt.npz``); ``resume=True`` continues from it
(the crops drawn at each step depend only on ``seed`` and the step number, so an interrupted
and resumed run follows the same path as an uninterrupted one). The result, written to
``out``, loads with ``imgkit.stylize(content, method="multistyle", style_params=out)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidImageError, InvalidOptionError

__all__ = ["LearnStyleResult", "learn_style", "cli_main"]

_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".ppm")
#: Johnson et al.'s VGG16 layers (the ones Dumoulin et al. train with).
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu3_3"


@dataclass
class LearnStyleResult:
    """What :func:`learn_style` did.

    Attributes
    ----------
    path : Path
        The written style (``.npz``).
    steps : int
        Steps completed in all (including those of a resumed run).
    loss, loss_content, loss_style, loss_tv : ndarray of float64
        Weighted loss terms per step (whole history, resumed runs included).
    seconds : float
        Wall time of this call.
    resumed_from : int
        Step the run resumed from (0: fresh).
    stopped : bool
        A callback stopped the run.
    """

    path: Path
    steps: int
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_content: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_style: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_tv: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: float = 0.0
    resumed_from: int = 0
    stopped: bool = False


def _load_photos(photos: Any, size: int) -> list[np.ndarray]:
    """Float32 RGB photos with the shorter side ``size`` (from a folder, paths or arrays)."""
    from .._image import as_float_image, to_rgb
    from .._pyramid import resize
    from ..io import load_image

    if isinstance(photos, (str, os.PathLike)):
        folder = Path(photos)
        if not folder.is_dir():
            raise InvalidOptionError(f"photos={str(folder)!r} is not a folder of training photos")
        items: Sequence[Any] = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTS)
        if not items:
            raise InvalidOptionError(f"folder {str(folder)!r} holds no image files ({', '.join(_EXTS)})")
    else:
        items = list(photos)
        if not items:
            raise InvalidOptionError("photos is empty; give a folder or a list of images")
    out = []
    for i, item in enumerate(items):
        img = load_image(item) if isinstance(item, (str, os.PathLike)) else item
        rgb = np.asarray(to_rgb(as_float_image(img, f"photos[{i}]")[0]), dtype=np.float32)
        h, w = rgb.shape[:2]
        f = size / min(h, w)
        out.append(np.ascontiguousarray(resize(rgb, (max(size, round(h * f)), max(size, round(w * f))))))
    return out


def _batch(photos: list[np.ndarray], size: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The crops of one step: a function of (seed, step) only, so resumed runs repeat them."""
    rng = np.random.default_rng([seed, step])
    crops = []
    for _ in range(batch_size):
        p = photos[rng.integers(len(photos))]
        y = rng.integers(p.shape[0] - size + 1)
        x = rng.integers(p.shape[1] - size + 1)
        c = p[y:y + size, x:x + size]
        crops.append(c[:, ::-1] if rng.random() < 0.5 else c)
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), dtype=np.float32)


def learn_style(
    painting: Any,
    photos: Any,
    out: str | os.PathLike[str],
    *,
    steps: int = 180,
    size: int = 256,
    style_size: int | None = None,
    batch_size: int = 2,
    learning_rate: float = 0.03,
    content_weight: float = 1.0,
    style_weight: float = 5.0,
    tv_weight: float = 0.0,
    init_style: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 25,
    resume: bool = False,
    device: str = "auto",
    seed: int = 0,
    progress: bool = False,
    callback: Callable[[int, int, dict[str, Any]], Any] | None = None,
) -> LearnStyleResult:
    """Fit the conditional-normalisation parameters of one new style (see the module docstring).

    Parameters
    ----------
    painting : ndarray or path
        The style image.
    photos : folder, or sequence of paths / arrays
        Training content photos (any sizes; at least ``size`` px after resizing, which is
        automatic).
    out : path
        Where the learned style is written (``.npz``).
    steps : int
        Total optimiser steps (a resumed run continues up to this number). The default, 180, is
        where the style term levels off (within 1 % of its value at 300 steps on the run in
        ``docs/deep_style.md``): about 14 minutes on one core at 256 px, batch 2.
    size : int
        Side of the square training crops.
    style_size : int, optional
        Longest side the painting is resized to for its Gram matrices (default ``size``).
    batch_size : int
        Crops per step.
    learning_rate : float
        Adam step size on ``γ`` and ``β``.
    content_weight, style_weight, tv_weight : float
        Loss weights (imgkit's normalisations: see :mod:`imgkit.nets.losses`).
    init_style : int, optional
        Start from built-in style ``init_style`` instead of the mean of all 26.
    checkpoint : path, optional
        Checkpoint file (default ``<out>.ckpt.npz``).
    checkpoint_every : int
        Steps between checkpoints.
    resume : bool
        Continue from ``checkpoint`` if it exists (its settings must match).
    device : {"auto", "cpu", "cuda"}
    seed : int
        Sets the crops of every step.
    progress : bool
        Show a tqdm bar.
    callback : callable, optional
        ``callback(step, total, state)``; returning ``True`` stops the run (a checkpoint is
        written first).

    Returns
    -------
    LearnStyleResult

    References
    ----------
    V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR 2017.
    J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution", ECCV 2016.
    """
    import time

    from .._image import as_float_image, to_rgb
    from .._pyramid import resize
    from .._torch import require_torch
    from ..context import Progress
    from ..device import resolve_device
    from ..io import load_image
    from ..nets.encoder import get_encoder
    from ..nets.fast_weights import load_multistyle
    from ..nets.losses import content_loss, gram_matrix, style_layer_loss, total_variation
    from ..nets.style_params import NUM_STYLES, save_style_params
    from ..nets.transformers import MULTISTYLE_LAYERS

    t_start = time.perf_counter()
    for name, value, low in (("steps", steps, 1), ("size", size, 32), ("batch_size", batch_size, 1),
                             ("checkpoint_every", checkpoint_every, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InvalidOptionError(f"{name} must be an integer ≥ {low}; got {value!r}")
    for name, value in (("learning_rate", learning_rate), ("content_weight", content_weight),
                        ("style_weight", style_weight), ("tv_weight", tv_weight)):
        if not np.isfinite(value) or value < 0:
            raise InvalidOptionError(f"{name} must be a finite number ≥ 0; got {value!r}")
    if style_weight == 0:
        raise InvalidOptionError("style_weight must be > 0: there would be no style to learn")
    if init_style is not None and not 0 <= init_style < NUM_STYLES:
        raise InvalidOptionError(f"init_style must be 0 to {NUM_STYLES - 1} or None; got {init_style!r}")
    out = Path(out)
    if not out.parent.is_dir() and str(out.parent):
        raise InvalidOptionError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    ckpt = Path(checkpoint) if checkpoint is not None else out.with_name(out.name + ".ckpt.npz")

    torch = require_torch()
    dev_name = resolve_device(device, devices=("cpu", "cuda"), backend="torch", method="learn_style")
    dev = torch.device(dev_name)

    paint = load_image(painting) if isinstance(painting, (str, os.PathLike)) else painting
    paint = np.asarray(to_rgb(as_float_image(paint, "painting")[0]), dtype=np.float32)
    ss = style_size or size
    f = ss / max(paint.shape[:2])
    paint = resize(paint, (max(16, round(paint.shape[0] * f)), max(16, round(paint.shape[1] * f))))
    if min(paint.shape[:2]) < 16:
        raise InvalidImageError(f"painting of shape {paint.shape} is too thin to take a style from")
    imgs = _load_photos(photos, size)

    net = load_multistyle(dev)
    enc = get_encoder("vgg16", dev)
    layers = tuple(dict.fromkeys((*STYLE_LAYERS, CONTENT_LAYER)))
    with torch.no_grad():
        pt = torch.from_numpy(np.ascontiguousarray(paint.transpose(2, 0, 1)))[None].to(dev)
        feats = enc(pt, STYLE_LAYERS)
        targets = {k: gram_matrix(feats[k]) for k in STYLE_LAYERS}
        w0 = torch.full((NUM_STYLES,), 1.0 / NUM_STYLES) if init_style is None else \
            torch.eye(NUM_STYLES)[init_style]
        start = net.style_params(w0.to(dev))
    gam = {n: torch.nn.Parameter(start[n][0].clone()) for n, _ in MULTISTYLE_LAYERS}
    bet = {n: torch.nn.Parameter(start[n][1].clone()) for n, _ in MULTISTYLE_LAYERS}
    plist = [p for n, _ in MULTISTYLE_LAYERS for p in (gam[n], bet[n])]
    opt = torch.optim.Adam(plist, lr=learning_rate)

    settings = dict(size=size, batch_size=batch_size, seed=seed, style_size=ss, learning_rate=learning_rate,
                    content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight)
    history: dict[str, list[float]] = {"loss": [], "content": [], "style": [], "tv": []}
    step0 = 0
    if resume and ckpt.is_file():
        step0 = _restore(ckpt, settings, gam, bet, opt, history, torch, dev)

    def save_checkpoint(step: int) -> None:
        arrays: dict[str, np.ndarray] = {"step": np.asarray(step)}
        for k, v in settings.items():
            arrays[f"settings/{k}"] = np.asarray(v)
        for n, _ in MULTISTYLE_LAYERS:
            arrays[f"param/{n}/gamma"] = gam[n].detach().cpu().numpy()
            arrays[f"param/{n}/beta"] = bet[n].detach().cpu().numpy()
        for i, p in enumerate(plist):
            st = opt.state.get(p, {})
            if st:
                arrays[f"adam/{i}/exp_avg"] = st["exp_avg"].cpu().numpy()
                arrays[f"adam/{i}/exp_avg_sq"] = st["exp_avg_sq"].cpu().numpy()
                arrays[f"adam/{i}/step"] = np.asarray(float(st["step"]))
        for k, v in history.items():
            arrays[f"history/{k}"] = np.asarray(v, dtype=np.float64)
        tmp = ckpt.with_name(ckpt.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(ckpt)

    bar = Progress(steps, "learn-style", "step", progress, callback)
    bar.step = step0
    if bar._bar is not None:
        bar._bar.update(step0)
    stopped = False
    step = step0
    try:
        with torch.inference_mode(False), torch.enable_grad():
            for step in range(step0, steps):
                x = torch.from_numpy(_batch(imgs, size, batch_size, seed, step)).to(dev)
                params = {n: (gam[n], bet[n]) for n, _ in MULTISTYLE_LAYERS}
                y = net(x, params)
                fy = enc(y, layers)
                with torch.no_grad():
                    fx = enc(x, [CONTENT_LAYER])[CONTENT_LAYER]
                lc = content_weight * content_loss(fy[CONTENT_LAYER], fx).mean()
                ls = style_weight * sum(style_layer_loss(gram_matrix(fy[k]), targets[k]).mean()
                                        for k in STYLE_LAYERS) / len(STYLE_LAYERS)
                lt = tv_weight * total_variation(y).mean() if tv_weight > 0 else y.new_zeros(())
                loss = lc + ls + lt
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the loss became {float(loss)} at step {step}; lower "
                                             f"learning_rate or style_weight")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                for k, v in (("loss", loss), ("content", lc), ("style", ls), ("tv", lt)):
                    history[k].append(float(v.detach()))
                bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", style=f"{history['style'][-1]:.4g}")
                if bar.update(1, {"step": step + 1, "loss": history["loss"][-1],
                                  "content": history["content"][-1], "style": history["style"][-1]}):
                    stopped = True
                    step += 1
                    break
                if (step + 1) % checkpoint_every == 0:
                    save_checkpoint(step + 1)
            else:
                step = max(steps, step0)  # a checkpoint already past ``steps`` is kept as it is
    finally:
        bar.close()
    save_checkpoint(step)
    meta = dict(steps=step, painting=str(painting) if isinstance(painting, (str, os.PathLike)) else "<array>",
                **settings, final_loss=history["loss"][-1] if history["loss"] else float("nan"))
    save_style_params(out, {n: (gam[n], bet[n]) for n, _ in MULTISTYLE_LAYERS}, **meta)
    return LearnStyleResult(
        path=out, steps=step, loss=np.asarray(history["loss"]), loss_content=np.asarray(history["content"]),
        loss_style=np.asarray(history["style"]), loss_tv=np.asarray(history["tv"]),
        seconds=time.perf_counter() - t_start, resumed_from=step0, stopped=stopped)


def _restore(ckpt: Path, settings: dict[str, Any], gam: dict, bet: dict, opt: Any, history: dict,
             torch: Any, dev: Any) -> int:
    """Load checkpoint ``ckpt`` into the parameters, Adam and history; returns its step."""
    from ..errors import WeightsFormatError
    from ..nets.transformers import MULTISTYLE_LAYERS

    try:
        with np.load(ckpt, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise WeightsFormatError(f"checkpoint {str(ckpt)!r} cannot be read: {exc}") from None
    diff = {k: (data[f"settings/{k}"].item(), v) for k, v in settings.items()
            if f"settings/{k}" in data and data[f"settings/{k}"].item() != v}
    if diff:
        raise InvalidOptionError(f"checkpoint {str(ckpt)!r} was made with other settings (saved, now): "
                                 f"{diff}; use the same settings or resume=False")
    with torch.no_grad():
        for n, _ in MULTISTYLE_LAYERS:
            gam[n].copy_(torch.from_numpy(data[f"param/{n}/gamma"]).to(dev))
            bet[n].copy_(torch.from_numpy(data[f"param/{n}/beta"]).to(dev))
    plist = [p for n, _ in MULTISTYLE_LAYERS for p in (gam[n], bet[n])]
    for i, p in enumerate(plist):
        if f"adam/{i}/exp_avg" in data:
            opt.state[p] = {"step": torch.tensor(float(data[f"adam/{i}/step"])),
                            "exp_avg": torch.from_numpy(data[f"adam/{i}/exp_avg"]).to(dev),
                            "exp_avg_sq": torch.from_numpy(data[f"adam/{i}/exp_avg_sq"]).to(dev)}
    for k in history:
        history[k] = [float(v) for v in data.get(f"history/{k}", [])]
    return int(data["step"])


def cli_main(argv: list[str]) -> int:
    """``imgkit learn-style PAINTING --photos DIR -o OUT.npz [options]``."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="imgkit learn-style",
                                 description="Learn a new style for method 'multistyle' (Dumoulin et al. "
                                             "2017, §5): fit only its conditional-normalisation parameters.")
    ap.add_argument("painting", type=Path, help="style image file")
    ap.add_argument("--photos", required=True, type=Path, help="folder of training photos")
    ap.add_argument("-o", "--output", required=True, type=Path, help="learned style (.npz)")
    ap.add_argument("--steps", type=int, default=180,
                    help="Adam steps (default 180: about 14 min on one core at 256 px, batch 2)")
    ap.add_argument("--size", type=int, default=256, help="training crop side (default 256)")
    ap.add_argument("--style-size", type=int, default=None, help="painting's longest side (default: --size)")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--learning-rate", type=float, default=0.03)
    ap.add_argument("--content-weight", type=float, default=1.0)
    ap.add_argument("--style-weight", type=float, default=5.0)
    ap.add_argument("--tv-weight", type=float, default=0.0)
    ap.add_argument("--init-style", type=int, default=None, help="start from style N (default: mean)")
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: OUTPUT.ckpt.npz")
    ap.add_argument("--checkpoint-every", type=int, default=25)
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args(argv)
    res = learn_style(
        args.painting, args.photos, args.output, steps=args.steps, size=args.size, style_size=args.style_size,
        batch_size=args.batch_size, learning_rate=args.learning_rate, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight, init_style=args.init_style,
        checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume,
        device=args.device, seed=args.seed, progress=args.progress and sys.stderr.isatty())
    first, last = (res.loss[0], res.loss[-1]) if len(res.loss) else (float("nan"), float("nan"))
    print(f"wrote {res.path} after {res.steps} steps ({res.seconds:.1f} s; loss {first:.4g} -> {last:.4g})")
    return 0
