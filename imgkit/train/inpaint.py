"""Train the context-encoder inpainting network (:mod:`imgkit.nets.inpaint_net`) on a folder of photos.

Python::

    from imgkit.train import inpaint
    result = inpaint("photos/", "model.pt", steps=20000, crop=128, batch_size=8)

Command line (the same options)::

    imgkit train inpaint --photos photos/ -o model.pt --steps 20000 --crop 128 --batch-size 8

Several processes (GPUs or CPU workers) with PyTorch DDP: launch the same command under
``torchrun``; each process draws its own batches (the seed is offset by the rank), gradients
are averaged, and only rank 0 logs, checkpoints and writes the model::

    torchrun --nproc_per_node 4 -m imgkit train inpaint --photos photos/ -o model.pt --device cuda

Every step draws ``batch_size`` samples: a photo at random, a random scale (log-uniform in
``[max(crop/side, 0.25), 1]``), a random ``crop × crop`` window, a horizontal flip with
probability ½, a colour jitter (brightness ±0.08, contrast and saturation ×[0.8, 1.2]), and a
hole from the benchmark's mask generators (:func:`imgkit.data.mask`: strokes, thick, blobs,
scribbles, drawn on a canvas 1–2× the crop and cropped, so stroke widths vary; boxes at a
random place, 5–30 % of the area). The loss is :class:`~imgkit.nets.inpaint_loss.InpaintLoss`.

Outputs: the model file (``out``; fp32, or fp16 with ``half=True``), checkpoints
``<out stem>_ckpt/last.pt`` (+ numbered copies, the 3 newest kept) every
``checkpoint_every`` steps and at the end, and a validation grid
``<out stem>_ckpt/val_<step>.png`` every ``val_every`` steps (rows: input with the hole in
grey, network output composited, photo; fixed seeded crops and masks, one per mask kind).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageFileNotFoundError, InvalidOptionError

__all__ = ["IMAGE_EXTS", "MASK_KINDS", "TrainResult", "export", "load_photos", "sample_batch", "train"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: Mask kinds the sampler draws from (those of :func:`imgkit.data.mask`).
MASK_KINDS = ("box", "strokes", "thick", "blobs", "scribbles")


@dataclass
class TrainResult:
    """What a training run did.

    Attributes
    ----------
    model : Path
        The model file written.
    checkpoint : Path
        The last checkpoint.
    steps : int
        Steps done in total (including those before a resume).
    seconds : float
        Wall time of this run.
    history : list of dict
        Per step: ``step`` and the unweighted ``hole`` L1 plus each weighted loss term.
    val_history : list of dict
        Per validation: ``step`` and the validation hole L1.
    """

    model: Path
    checkpoint: Path
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    val_history: list[dict[str, float]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def load_photos(folders: str | os.PathLike | Sequence[str | os.PathLike], min_side: int) -> list[np.ndarray]:
    """Every image file in ``folders`` (not recursive) as float32 RGB (H, W, 3) arrays."""
    from ..io import load_image

    if isinstance(folders, (str, os.PathLike)):
        folders = [folders]
    photos: list[np.ndarray] = []
    for folder in folders:
        d = Path(folder)
        if not d.is_dir():
            raise ImageFileNotFoundError(f"photos: folder {str(d)!r} does not exist")
        for p in sorted(d.iterdir()):
            if p.suffix.lower() not in IMAGE_EXTS:
                continue
            img = load_image(p)
            scale = 65535.0 if img.dtype == np.uint16 else 255.0 if img.dtype == np.uint8 else 1.0
            img = img.astype(np.float32) / np.float32(scale)
            if img.ndim == 2:
                img = np.repeat(img[:, :, None], 3, axis=2)
            img = img[:, :, :3]
            if img.shape[2] == 1:
                img = np.repeat(img, 3, axis=2)
            if min(img.shape[:2]) < min_side:
                raise InvalidOptionError(
                    f"photos: {str(p)!r} is {img.shape[1]}×{img.shape[0]}, smaller than the crop "
                    f"({min_side} px); use a smaller crop= or remove the file"
                )
            photos.append(np.ascontiguousarray(img))
    if not photos:
        raise InvalidOptionError(
            f"photos: no image files ({', '.join(IMAGE_EXTS)}) in {[str(f) for f in folders]}"
        )
    return photos


def _random_mask(kind: str, crop: int, rng: np.random.Generator) -> np.ndarray:
    from ..data import mask as make_mask

    if kind == "box":
        area = rng.uniform(0.05, 0.30) * crop * crop
        aspect = math.exp(rng.uniform(-0.7, 0.7))
        bh = int(np.clip(round(math.sqrt(area * aspect)), 2, crop - 2))
        bw = int(np.clip(round(area / bh), 2, crop - 2))
        top, left = int(rng.integers(0, crop - bh + 1)), int(rng.integers(0, crop - bw + 1))
        m = np.zeros((crop, crop), bool)
        m[top : top + bh, left : left + bw] = True
        return m
    m = np.zeros((crop, crop), bool)
    for _ in range(6):
        canvas = int(rng.integers(crop, 2 * crop + 1))
        big = make_mask(kind, (canvas, canvas), seed=int(rng.integers(2**31)))
        y, x = int(rng.integers(0, canvas - crop + 1)), int(rng.integers(0, canvas - crop + 1))
        m = big[y : y + crop, x : x + crop]
        if m.mean() >= 0.01:
            break
    return m


def _jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
    sat = np.float32(rng.uniform(0.8, 1.2))
    img = grey[:, :, None] + sat * (img - grey[:, :, None])
    mean = np.float32(grey.mean())
    img = mean + np.float32(rng.uniform(0.8, 1.2)) * (img - mean) + np.float32(rng.uniform(-0.08, 0.08))
    return np.clip(img, 0.0, 1.0)


def sample_batch(
    photos: Sequence[np.ndarray], batch_size: int, crop: int, rng: np.random.Generator,
    kinds: Sequence[str] = MASK_KINDS, *, augment: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(images (B, 3, crop, crop), masks (B, 1, crop, crop))`` float32 (see the module doc)."""
    import cv2

    imgs = np.empty((batch_size, 3, crop, crop), np.float32)
    masks = np.empty((batch_size, 1, crop, crop), np.float32)
    for b in range(batch_size):
        p = photos[int(rng.integers(len(photos)))]
        h, w = p.shape[:2]
        lo = max(crop / min(h, w), 0.25)
        s = math.exp(rng.uniform(math.log(lo), 0.0)) if lo < 1 else 1.0
        if s < 0.999:
            size = (max(crop, round(w * s)), max(crop, round(h * s)))
            p = cv2.resize(p, size, interpolation=cv2.INTER_AREA)
        h, w = p.shape[:2]
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        img = p[y : y + crop, x : x + crop]
        if augment:
            if rng.random() < 0.5:
                img = img[:, ::-1]
            img = _jitter(img, rng)
        imgs[b] = img.transpose(2, 0, 1)
        masks[b, 0] = _random_mask(kinds[int(rng.integers(len(kinds)))], crop, rng)
    return imgs, masks


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, *, half: bool = True) -> Path:
    """Turn a training checkpoint (or model file) into a model file (fp16 by default)."""
    from ..nets.inpaint_net import load_model, read_file, save_model

    meta = dict(read_file(checkpoint).get("meta") or {})
    net = load_model(checkpoint)
    meta["dtype"] = "float16" if half else "float32"
    save_model(net, out, half=half, meta=meta)
    return Path(out)


def _write_grid(path: Path, img: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    from ..io import save_image

    shown = img * (1 - mask) + 0.5 * mask
    comp = out * mask + img * (1 - mask)
    rows = [np.concatenate(list(a.transpose(0, 2, 3, 1)), axis=1) for a in (shown, comp, img)]
    save_image(path, np.clip(np.concatenate(rows, axis=0), 0, 1))


# ---------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidOptionError(f"{name} must be an integer ≥ {low}; got {value!r}")
    return int(value)


def train(
    photos: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    steps: int = 20000,
    batch_size: int = 8,
    crop: int = 128,
    lr: float = 5e-4,
    width: int = 32,
    fourier: bool = True,
    prefill: bool = True,
    biharmonic: int = 16,
    loss_weights: dict[str, float] | None = None,
    vgg_every: int = 1,
    mask_kinds: Sequence[str] = MASK_KINDS,
    device: str = "auto",
    seed: int = 0,
    resume: str | os.PathLike | None = None,
    checkpoint_every: int = 500,
    val_every: int = 500,
    log_every: int = 50,
    max_minutes: float | None = None,
    threads: int | None = None,
    half: bool = False,
    progress: bool | None = None,
    callback: Callable[[int, int, dict[str, float]], Any] | None = None,
) -> TrainResult:
    """Train the inpainting network and write a model file.

    Parameters
    ----------
    photos : path-like or sequence of path-like
        Folder(s) of training photos (PNG/JPEG/...; each at least ``crop`` px on its short side).
    out : path-like
        Model file to write (read it with ``imgkit.inpaint(..., method="context_encoder",
        weights=out)``). Checkpoints and validation grids go to ``<out stem>_ckpt/``.
    steps : int
        Total optimiser steps (a resumed run continues up to this number).
    batch_size, crop : int
        Samples per step (per process under DDP) and their side in pixels (multiple of 8).
    lr : float
        Adam learning rate (β = 0.9, 0.999); halved at 60 % and again at 85 % of ``steps``.
    width, fourier, prefill, biharmonic : int, bool, bool, int
        Architecture of :class:`~imgkit.nets.inpaint_net.ContextEncoder` (``biharmonic``:
        biharmonic relaxations per level of the prefill, 16 as the shipped model; ignored on
        resume: the checkpoint's architecture is used).
    loss_weights : dict, optional
        Overrides of :class:`~imgkit.nets.inpaint_loss.LossWeights` (``hole``, ``valid``,
        ``perceptual``, ``style``, ``tv``, ``lpips``, ``adversarial``).
    vgg_every : int
        Apply the VGG16 terms (perceptual, style, lpips) on every ``vgg_every``-th step only
        (they cost ~10× the network on a CPU); 1 = every step.
    mask_kinds : sequence of str
        Hole kinds drawn (subset of :data:`MASK_KINDS`).
    device : {"auto", "cpu", "cuda"}
    seed : int
        Seeds the data sampler and the initialisation (rank ``r`` of a DDP run uses ``seed + r``).
    resume : path-like or "auto", optional
        Continue from this checkpoint (``"auto"``: ``<out stem>_ckpt/last.pt`` if it exists):
        weights, optimiser, step counter and random states.
    checkpoint_every, val_every, log_every : int
        Periods in steps (0 disables validation grids).
    max_minutes : float, optional
        Stop (checkpoint and write the model) after this wall time.
    threads : int, optional
        ``torch.set_num_threads`` for this run.
    half : bool
        Write the model file in fp16.
    progress : bool, optional
        A tqdm bar (default: when stderr is a terminal); log lines otherwise.
    callback : callable, optional
        ``callback(step, steps, losses)`` after every step; returning ``False`` stops the run.

    Returns
    -------
    TrainResult
    """
    import torch

    from .._torch import require_torch
    from ..device import resolve_device
    from ..nets.inpaint_loss import InpaintLoss, LossWeights, PatchDiscriminator, hole_l1
    from ..nets.inpaint_net import ContextEncoder, load_model, read_file, save_model

    require_torch()
    steps = _check_int("steps", steps, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    crop = _check_int("crop", crop, 16)
    if crop % 8:
        raise InvalidOptionError(f"crop must be a multiple of 8; got {crop}")
    vgg_every = _check_int("vgg_every", vgg_every, 1)
    checkpoint_every = _check_int("checkpoint_every", checkpoint_every, 1)
    val_every = _check_int("val_every", val_every, 0)
    log_every = _check_int("log_every", log_every, 1)
    bad = [k for k in mask_kinds if k not in MASK_KINDS]
    if bad or not mask_kinds:
        raise InvalidOptionError(
            f"mask_kinds must be a non-empty subset of {list(MASK_KINDS)}; got {list(mask_kinds)}"
        )
    if not (isinstance(lr, (int, float)) and 0 < lr < 1):
        raise InvalidOptionError(f"lr must be in (0, 1); got {lr!r}")
    fields = {f.name for f in dataclasses.fields(LossWeights)}
    unknown = sorted(set(loss_weights or {}) - fields)
    if unknown:
        raise InvalidOptionError(f"loss_weights: unknown terms {unknown}; known: {sorted(fields)}")
    weights = LossWeights(**{k: float(v) for k, v in (loss_weights or {}).items()})
    if threads is not None:
        torch.set_num_threads(_check_int("threads", threads, 1))

    # --- processes and device -----------------------------------------------------------
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank, world, local_rank = 0, 1, 0
    dev_name = resolve_device(device, devices=("cpu", "cuda"), backend="torch", method="train inpaint")
    own_group = False
    if distributed:
        import torch.distributed as dist

        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if dev_name == "cuda" else "gloo")
            own_group = True
    dev = torch.device(f"cuda:{local_rank}" if dev_name == "cuda" else "cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    main_proc = rank == 0

    out = Path(out)
    if not out.parent.is_dir():
        raise ImageFileNotFoundError(f"out: folder {str(out.parent)!r} does not exist")
    ckpt_dir = out.parent / f"{out.stem}_ckpt"
    if main_proc:
        ckpt_dir.mkdir(exist_ok=True)
    last = ckpt_dir / "last.pt"
    if resume == "auto":
        resume = last if last.is_file() else None

    photos_list = load_photos(photos, crop)
    rng = np.random.default_rng([seed, rank])
    torch.manual_seed(seed)  # same initial weights on every rank
    net = ContextEncoder(width=width, fourier=fourier, prefill=prefill, biharmonic=biharmonic)
    start = 0
    state = None
    if resume is not None:
        if not Path(resume).is_file():
            raise ImageFileNotFoundError(f"resume: checkpoint {str(resume)!r} does not exist")
        state = read_file(resume)
        net = load_model(resume).train()
        start = int(state.get("step", 0))
    net = net.to(dev).train()
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))
    disc = disc_opt = None
    if weights.adversarial > 0:
        disc = PatchDiscriminator().to(dev)
        disc_opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    if state is not None:
        if "optimizer" in state:
            opt.load_state_dict(state["optimizer"])
        if disc is not None and "discriminator" in state:
            disc.load_state_dict(state["discriminator"])
            disc_opt.load_state_dict(state["discriminator_optimizer"])
        rs = state.get("rng", {})
        if f"numpy{rank}" in rs:
            rng.bit_generator.state = rs[f"numpy{rank}"]
        if "torch" in rs:
            torch.set_rng_state(rs["torch"])
    model = net
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[local_rank] if dev.type == "cuda" else None)
    encoder = None
    if weights.needs_vgg:
        from ..nets.vgg import vgg16_encoder

        encoder = vgg16_encoder().to(dev)
    lpips_model = None
    if weights.needs_lpips:
        from ..nets.lpips import get_lpips

        lpips_model = get_lpips("vgg16", dev)
    criterion = InpaintLoss(weights, encoder, disc, lpips_model)

    # fixed validation batch: one crop per mask kind (cycled), seeded apart from training
    val_rng = np.random.default_rng([seed, 10**6])
    n_val = max(4, len(mask_kinds))
    val_kinds = [mask_kinds[i % len(mask_kinds)] for i in range(n_val)]
    vi, vm = zip(*[sample_batch(photos_list, 1, crop, val_rng, [k], augment=False) for k in val_kinds])
    val_img = torch.from_numpy(np.concatenate(vi)).to(dev)
    val_mask = torch.from_numpy(np.concatenate(vm)).to(dev)

    meta = {
        "photos": [str(p) for p in ([photos] if isinstance(photos, (str, os.PathLike)) else photos)],
        "n_photos": len(photos_list), "crop": crop, "batch_size": batch_size, "world_size": world,
        "lr": lr, "loss_weights": weights.as_dict(), "vgg_every": vgg_every,
        "mask_kinds": list(mask_kinds), "seed": seed, "device": dev.type,
    }
    if state is not None:
        meta["seconds"] = float(state.get("meta", {}).get("seconds", 0.0))
    prior_seconds = float(meta.get("seconds", 0.0))

    def lr_at(step: int) -> float:
        return lr * (0.5 if step >= 0.6 * steps else 1.0) * (0.5 if step >= 0.85 * steps else 1.0)

    def checkpoint(step: int, elapsed: float) -> None:
        if not main_proc:
            return
        rng_states = {f"numpy{rank}": rng.bit_generator.state, "torch": torch.get_rng_state()}
        blob = {"format": "imgkit-context-encoder", "version": 1, "config": dict(net.config),
                "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "optimizer": opt.state_dict(), "step": step, "rng": rng_states,
                "meta": {**meta, "steps": step, "seconds": prior_seconds + elapsed}}
        if disc is not None:
            blob["discriminator"] = disc.state_dict()
            blob["discriminator_optimizer"] = disc_opt.state_dict()
        _atomic_save(blob, last)
        numbered = ckpt_dir / f"step_{step:07d}.pt"
        _atomic_save(blob, numbered)
        for old in sorted(ckpt_dir.glob("step_*.pt"))[:-3]:
            old.unlink()

    def validate(step: int) -> float:
        net.eval()
        with torch.no_grad():
            o = net(val_img, val_mask)
            v = float(hole_l1(o, val_img, val_mask))
        net.train()
        if main_proc and val_every:
            _write_grid(ckpt_dir / f"val_{step:07d}.png", val_img.cpu().numpy(), val_mask.cpu().numpy(),
                        o.cpu().numpy())
        return v

    show_bar = main_proc and (sys.stderr.isatty() if progress is None else bool(progress))
    bar = None
    if show_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start, desc="train inpaint", unit="step", dynamic_ncols=True)
    history: list[dict[str, float]] = []
    val_history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    t_log, n_log = t0, 0
    step = start
    try:
        while step < steps:
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            img_np, mask_np = sample_batch(photos_list, batch_size, crop, rng, mask_kinds)
            img = torch.from_numpy(img_np).to(dev)
            mask = torch.from_numpy(mask_np).to(dev)
            o = model(img, mask)
            terms = criterion(o, img, mask, vgg=(step % vgg_every == 0))
            opt.zero_grad(set_to_none=True)
            terms["total"].backward()
            opt.step()
            if disc is not None:
                disc_opt.zero_grad(set_to_none=True)
                criterion.discriminator_loss(o.detach(), img, mask).backward()
                disc_opt.step()
            step += 1
            n_log += 1
            rec = {"step": step, "hole_l1": float(hole_l1(o.detach(), img, mask))}
            rec.update({k: float(v.detach()) for k, v in terms.items()})
            history.append(rec)
            elapsed = time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                rate = bar.format_dict.get("rate") or 0.0  # steps/s (None before tqdm has a rate)
                bar.set_postfix(hole=f"{rec['hole_l1']:.4f}", loss=f"{rec['total']:.3f}",
                                img_s=f"{batch_size * world * rate:.1f}")
            elif main_proc and (step % log_every == 0 or step == steps):
                now = time.perf_counter()
                ips = n_log * batch_size * world / max(now - t_log, 1e-9)
                recent = history[-log_every:]
                mean = {k: float(np.mean([r[k] for r in recent])) for k in rec if k != "step"}
                print(f"step {step}/{steps} hole_l1 {mean['hole_l1']:.4f} loss {mean['total']:.4f} "
                      + " ".join(f"{k} {v:.4f}" for k, v in mean.items() if k not in ("hole_l1", "total"))
                      + f" | {ips:.2f} img/s | {elapsed / 60:.1f} min", flush=True)
                t_log, n_log = now, 0
            if val_every and step % val_every == 0:
                v = validate(step)
                val_history.append({"step": step, "val_hole_l1": v})
                if main_proc and bar is None:
                    print(f"step {step} validation hole_l1 {v:.4f}", flush=True)
            if step % checkpoint_every == 0:
                checkpoint(step, elapsed)
            stop = callback is not None and callback(step, steps, rec) is False
            if stop or (max_minutes is not None and elapsed > 60 * max_minutes):
                break
        elapsed = time.perf_counter() - t0
        checkpoint(step, elapsed)
        if main_proc:
            save_model(net, out, half=half,
                       meta={**meta, "steps": step, "seconds": prior_seconds + elapsed,
                             "dtype": "float16" if half else "float32"})
    finally:
        if bar is not None:
            bar.close()
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    return TrainResult(model=out, checkpoint=last, steps=step, seconds=elapsed, history=history,
                       val_history=val_history)


# ---------------------------------------------------------------------------------------------
# command line: imgkit train inpaint ...
# ---------------------------------------------------------------------------------------------


def build_parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="imgkit train inpaint",
        description="Train the context-encoder inpainting network on a folder of photos "
                    "(multi-GPU: launch under torchrun).")
    p.add_argument("--photos", required=True, action="append", type=Path,
                   help="folder of training photos (repeat for several)")
    p.add_argument("-o", "--out", required=True, type=Path, help="model file to write (.pt)")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--no-fourier", action="store_true", help="drop the Fourier unit")
    p.add_argument("--biharmonic", type=int, default=16, help="biharmonic relaxations per prefill level")
    p.add_argument("--no-prefill", action="store_true",
                   help="zeroed hole and a sigmoid output instead of a correction of the push-pull fill")
    for name, default in dataclasses.asdict(_loss_defaults()).items():
        p.add_argument(f"--w-{name}", type=float, default=default, help=f"weight of the {name} loss")
    p.add_argument("--vgg-every", type=int, default=1,
                   help="apply the VGG terms (perceptual, style, lpips) every N steps "
                        "(CPU: they dominate the cost)")
    p.add_argument("--mask-kinds", default=",".join(MASK_KINDS), help="comma-separated hole kinds")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", default=None, help="checkpoint to continue from, or 'auto'")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--half", action="store_true", help="write the model in fp16")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    return p


def _loss_defaults():
    from ..nets.inpaint_loss import LossWeights

    return LossWeights()


def cli_main(argv: list[str]) -> int:
    """``imgkit train inpaint ...``; returns the exit status (errors are raised to the caller)."""
    args = build_parser().parse_args(argv)
    weights = {k: getattr(args, f"w_{k}") for k in dataclasses.asdict(_loss_defaults())}
    res = train(
        args.photos, args.out, steps=args.steps, batch_size=args.batch_size, crop=args.crop, lr=args.lr,
        width=args.width, fourier=not args.no_fourier, prefill=not args.no_prefill,
        biharmonic=args.biharmonic, loss_weights=weights, vgg_every=args.vgg_every,
        mask_kinds=[k.strip() for k in args.mask_kinds.split(",") if k.strip()], device=args.device,
        seed=args.seed, resume=args.resume, checkpoint_every=args.checkpoint_every,
        val_every=args.val_every, log_every=args.log_every, max_minutes=args.max_minutes,
        threads=args.threads, half=args.half, progress=False if args.no_progress else None,
    )
    if int(os.environ.get("RANK", 0)) == 0:
        print(f"wrote {res.model} after {res.steps} steps ({res.seconds / 60:.1f} min); "
              f"checkpoint {res.checkpoint}")
    return 0
