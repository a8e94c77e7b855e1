"""Side-by-side comparison of hole-filling methods on real photos and textures with box and blob
holes: imgkit's ``patchmatch`` completion against OpenCV's ``fsr_best`` / ``telea``,
scikit-image's ``biharmonic`` and, when installed, PyPI ``pypatchmatch`` (C++ PatchMatch
inpainting) at its default and other patch sizes.

Reported per case and method: hole PSNR (dB), hole LPIPS (VGG, on the hole's bounding box grown
by 8 px and to at least 32 px a side, as the benchmark suite's ``lpips_hole``; only when
``imgkit.metrics.lpips`` exists), whole-image LPIPS, and warm wall seconds (median of
``--repeats`` runs after one warm-up, so Numba compile time is excluded; methods slower than
``SLOW_S`` without a JIT are timed by one run), with the machine load.
Medians over the cases close the table.

Run ``python -m benchmarks.studies.compare_completion [--sizes 256 512] [--methods ...]``; results go to
``benchmarks/results/compare_completion.md`` (+ ``.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from imgkit.metrics import hole_box

IMAGES = ("astronaut", "coffee", "chelsea", "brick", "grass", "gravel")
MASKS = ("box", "blobs")
#: A method whose first run takes longer is timed by that run alone (it has no JIT to warm up).
SLOW_S = 5.0
METHODS = ("patchmatch", "fsr_best", "telea", "biharmonic", "pypatchmatch", "pypatchmatch_r3",
           "pypatchmatch_r7")


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def _threads() -> int:
    import numba

    return numba.get_num_threads()


def _runner(method: str, options: dict[str, Any]):
    import imgkit

    if method.startswith("pypatchmatch"):
        import patchmatch as ppm  # PyPI pypatchmatch

        radius = {"pypatchmatch": None, "pypatchmatch_r3": 3, "pypatchmatch_r7": 7}[method]

        def run(img, mask):
            ppm.set_random_seed(0)
            kw = {} if radius is None else {"patch_size": radius}
            u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
            fill = ppm.inpaint(u8, mask, **kw).astype(np.float32) / 255.0
            return np.where(mask[:, :, None], fill, img).astype(np.float32)

        return run

    def run(img, mask):
        return imgkit.inpaint(img, mask, method=method, seed=0,
                              **(options if method == "patchmatch" else {}))

    return run


def available(method: str) -> str | None:
    """None when ``method`` can run here, else why not."""
    if method.startswith("pypatchmatch"):
        try:
            import patchmatch as ppm
        except Exception as exc:
            return f"pypatchmatch not importable ({type(exc).__name__}: {exc})"
        if not getattr(ppm, "patchmatch_available", True):
            return "pypatchmatch's native library did not load"
    return None


def compare(images, masks, sizes, methods, options, repeats: int = 3, area: float = 0.10) -> list[dict]:
    import imgkit
    from imgkit import data

    lpips = getattr(imgkit.metrics, "lpips", None)
    rows = []
    for n in sizes:
        for name in images:
            img = data.photo(name, n)
            for kind in masks:
                mask = data.mask(kind, (n, n), area=area)
                ys, xs = hole_box(mask)
                for method in methods:
                    why = available(method)
                    row = {"image": name, "mask": kind, "size": n, "method": method}
                    if why:
                        rows.append({**row, "skipped": why})
                        continue
                    run = _runner(method, options)
                    t = time.perf_counter()
                    out = run(img, mask)  # warm-up (JIT, caches)
                    times = [time.perf_counter() - t]
                    if times[0] < SLOW_S or method == "patchmatch":  # slow methods: one run (no JIT)
                        times = []
                        for _ in range(repeats):
                            t = time.perf_counter()
                            out = run(img, mask)
                            times.append(time.perf_counter() - t)
                    row["seconds"] = statistics.median(times)
                    row["load"] = _load()
                    row["psnr_hole"] = imgkit.metrics.psnr(out, img, mask)
                    if lpips is not None:
                        row["lpips_hole"] = lpips(np.ascontiguousarray(out[ys, xs]),
                                                  np.ascontiguousarray(img[ys, xs]), net="vgg")
                        row["lpips"] = lpips(out, img, net="vgg")
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def summary(rows: list[dict], methods) -> list[dict]:
    out = []
    for size in sorted({r["size"] for r in rows}):
        for method in methods:
            rs = [r for r in rows if r["method"] == method and r["size"] == size and "seconds" in r]
            if not rs:
                continue
            out.append(_medians(rs, {"size": size, "method": method, "cases": len(rs)}))
    return out


def _medians(rs: list[dict], s: dict) -> dict:
    for col in ("psnr_hole", "lpips_hole", "lpips", "seconds"):
        vals = [r[col] for r in rs if col in r]
        if vals:
            s["median_" + col] = statistics.median(vals)
    return s


def _table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--images", nargs="+", default=list(IMAGES))
    ap.add_argument("--masks", nargs="+", default=list(MASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--area", type=float, default=0.10, help="hole fraction of box and blob masks")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="patchmatch option (repeatable), e.g. --option em_iterations=2")
    ap.add_argument("--out",
                    default=str(Path(__file__).resolve().parents[1] / "results" / "compare_completion"))
    args = ap.parse_args(argv)
    import imgkit

    spec = imgkit.registry.get_method("patchmatch", "inpaint")
    options = {}
    for item in args.option:
        k, v = item.split("=", 1)
        options[k] = spec.option(k).parse(v, "patchmatch")
    t0 = time.time()
    load0 = _load()
    rows = compare(args.images, args.masks, args.sizes, args.methods, options, args.repeats, args.area)
    summ = summary(rows, args.methods)
    cols = ["image", "mask", "size", "method", "psnr_hole", "lpips_hole", "lpips", "seconds", "load",
            "skipped"]
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(), "load_start": load0,
            "load_end": _load(), "wall_s": round(time.time() - t0, 1), "patchmatch_options": options,
            "area": args.area, "lpips": getattr(getattr(imgkit.metrics, "lpips", None), "__module__", None),
            "numba_threads": _threads()}
    text = (f"# Completion comparison\n\n{json.dumps(meta)}\n\n## Medians over cases\n\n"
            f"{_table(summ, list(summ[0].keys()) if summ else ['method'])}\n\n## Cases\n\n"
            f"{_table(rows, cols)}\n")
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "summary": summ, "rows": rows}, indent=1),
                                        encoding="utf-8")


if __name__ == "__main__":
    main()
