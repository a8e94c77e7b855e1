"""Deep Image Prior against the diffusion baselines on thin masks (scribbles over photos).

For each photo (256², the inpainting benchmark's ``strokes`` mask of that photo: about 5 % of the
pixels in 1–2 %-wide scribbles, seeded as in ``benchmarks/suite/cases.py``) it runs ``telea``, ``ns``,
``biharmonic``, ``fsr_fast`` and ``dip`` with their defaults (seed 0) and reports hole PSNR, hole
LPIPS (VGG over :func:`imgkit.metrics.hole_box`, the benchmark's ``lpips_hole``), whole-image
SSIM and seconds; it writes ``benchmarks/results/compare_dip.md`` and a grid ``compare_dip.jpg``
(rows = photos; columns = input with the hole in magenta, the fills, ground truth).

A default DIP call at 256² takes minutes on a CPU (more on a loaded machine), so outputs can be
kept: ``--cache DIR`` stores each DIP fill as ``DIR/<photo>_dip.npy`` and reuses it on the next
run (its seconds are then shown as "cached"; the baselines always run).

Run ``python -m benchmarks.studies.compare_dip [--photos astronaut chelsea ...] [--cache DIR] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
METHODS = ("telea", "ns", "biharmonic", "fsr_fast", "dip")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
SIZE = 256


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.studies.compare_dip",
                                description=__doc__.splitlines()[0])
    p.add_argument("--photos", nargs="*", default=list(PHOTOS))
    p.add_argument("--cache", type=Path, default=None, help="folder keeping the fills (.npy)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = p.parse_args(argv)
    import cv2
    import torch

    import imgkit
    from imgkit import metrics

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    from ..suite.cases import inpaint_pair

    lines = ["| photo | method | hole PSNR (dB) | hole LPIPS (vgg) | SSIM | seconds |",
             "|---|---|---:|---:|---:|---:|"]
    means: dict[str, list[float]] = {m: [] for m in METHODS}
    lp_means: dict[str, list[float]] = {m: [] for m in METHODS}
    rows = []
    for name in args.photos:
        truth, hole = inpaint_pair(name, "strokes", SIZE)
        ys, xs = metrics.hole_box(hole)
        shown = truth.copy()
        shown[hole] = (1.0, 0.0, 1.0)
        tiles = [shown]
        for method in METHODS:
            cached = args.cache / f"{name}_{method}.npy" if args.cache and method == "dip" else None
            if cached is not None and cached.exists():
                out, secs = np.load(cached), "cached"
            else:
                t0 = time.perf_counter()
                out = imgkit.inpaint(truth, hole, method=method, seed=0)
                secs = f"{time.perf_counter() - t0:.1f}"
                if cached is not None:
                    np.save(cached, out)
            score = metrics.psnr(out, truth, mask=hole)
            lp = metrics.lpips(out[ys, xs], truth[ys, xs], device="cpu")
            means[method].append(score)
            lp_means[method].append(lp)
            lines.append(f"| {name} | {method} | {score:.2f} | {lp:.4f} | {metrics.ssim(out, truth):.4f} | "
                         f"{secs} |")
            tiles.append(out)
        tiles.append(truth)
        rows.append(np.concatenate(tiles, axis=1))
    lines.append("")
    lines.append("Mean hole PSNR: " + ", ".join(f"{m} {np.mean(v):.2f} dB" for m, v in means.items()) + ".")
    lines.append("")
    lines.append("Mean hole LPIPS: " + ", ".join(f"{m} {np.mean(v):.4f}" for m, v in lp_means.items()) + ".")
    head = (f"# Deep Image Prior vs diffusion baselines on thin masks\n\n{SIZE}² photos, "
            f"the benchmark's strokes masks, defaults, seed 0; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}; "
            f"{time.strftime('%Y-%m-%d %H:%M')}. Grid: compare_dip.jpg (input, "
            f"{', '.join(METHODS)}, truth).\n\n")
    text = head + "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare_dip.md").write_text(text)
    grid = np.round(np.clip(np.concatenate(rows, axis=0), 0, 1) * 255).astype(np.uint8)
    cv2.imwrite(str(RESULTS / "compare_dip.jpg"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
