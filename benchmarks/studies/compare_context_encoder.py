"""The shipped context-encoder network against the classical fills and the PatchMatch peer, per
mask kind, on the corpus's held-out photos (issue 19's done-when figures).

Every method runs at 1 thread in one process (``NUMBA_NUM_THREADS=OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), on the benchmark's inpainting cases
(:func:`benchmarks.suite.cases.inpaint_pair`: ``imgkit.data.photo(name, size)`` with the
suite's seeded ``imgkit.data.mask(kind, ...)``). Score: LPIPS-VGG on the full composited image
(``imgkit.metrics.lpips(truth, out, net="vgg")``), as the independent evaluation. Per kind:
median LPIPS, and the number of cases where ``context_encoder`` beats each method. Wall time
is one warm run per case (JIT compiled by a warm-up case first). A 512×512 timing of the
network (median of 5 warm runs) at 1 and 2 threads closes the report.

Methods: ``context_encoder``, ``telea``, ``biharmonic``, ``fsr_fast``, ``criminisi``,
``patchmatch``, ``patchmatch_net`` (``patchmatch`` with ``init="network"``: the hybrid) and the
peer ``pypatchmatch_r3`` (PyPI pypatchmatch, patch radius 3; ``pip install -e ".[peers]"``).

``--reuse FILE.json`` keeps the rows of methods not listed in ``--methods`` from an earlier run
(used to score new network checkpoints without rerunning the classical rows; the report says
which rows came from which run).

Run::

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.studies.compare_context_encoder \\
        --split heldout --size 256 --out benchmarks/results/compare_context_encoder
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("box", "strokes", "thick", "blobs", "scribbles")
METHODS = ("context_encoder", "telea", "biharmonic", "fsr_fast", "criminisi", "patchmatch",
           "patchmatch_net", "pypatchmatch_r3")
#: Methods that fill in one pass (no iterations, no exemplar search loop).
NON_ITERATIVE = ("context_encoder", "telea", "biharmonic", "fsr_fast")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def runner(method: str, weights: str | None):
    import imgkit

    if method == "pypatchmatch_r3":
        import patchmatch as ppm  # PyPI pypatchmatch

        def run(img, mask):
            ppm.set_random_seed(0)
            u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
            fill = ppm.inpaint(u8, mask, patch_size=3).astype(np.float32) / 255.0
            return np.where(mask[:, :, None], fill, img).astype(np.float32)

        return run
    if method == "patchmatch_net":
        if weights is not None:  # init="network" reads the shipped file: point it at this one
            from imgkit.nets import inpaint_fill

            inpaint_fill.DEFAULT_WEIGHTS = Path(weights).resolve()
        return lambda img, mask: imgkit.inpaint(img, mask, method="patchmatch", init="network", seed=0)
    if method == "context_encoder":
        opts = {} if weights is None else {"weights": weights}
        return lambda img, mask: imgkit.inpaint(img, mask, method="context_encoder", **opts)
    return lambda img, mask: imgkit.inpaint(img, mask, method=method, seed=0)


def time_512(weights: str | None, threads: int) -> float:
    import torch

    import imgkit
    from imgkit import data

    torch.set_num_threads(threads)
    img = data.photo("astronaut", 512)
    mask = data.mask("thick", (512, 512), seed=1)
    opts = {} if weights is None else {"weights": weights}
    imgkit.inpaint(img, mask, method="context_encoder", region="full", **opts)
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        imgkit.inpaint(img, mask, method="context_encoder", region="full", **opts)
        ts.append(time.perf_counter() - t)
    torch.set_num_threads(1)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> int:
    import torch

    from benchmarks.suite.cases import inpaint_pair
    from imgkit.data import corpus
    from imgkit.metrics import lpips

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="heldout", choices=("tune", "heldout"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--weights", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--reuse", type=Path, default=None, help="keep other methods' rows from this JSON")
    ap.add_argument("--limit", type=int, default=None, help="first N photos only")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--grid", nargs="*", default=None, metavar="PHOTO:KIND",
                    help="also write <out>.jpg: rows = these cases, columns = input, each method, photo")
    ap.add_argument("--out", type=Path, required=True, help="output stem (.md and .json)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    photos = [p.name for p in corpus(args.split)][: args.limit]
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"split": args.split, "size": args.size, "photos": photos,
                            "weights": args.weights or "shipped", "load_start": _load(),
                            "when": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                            "threads": 1, "reused_from": None}
    if args.reuse is not None:
        old = json.loads(args.reuse.read_text())
        rows = [r for r in old["rows"] if r["method"] not in args.methods]
        meta["reused_from"] = {"file": str(args.reuse), "when": old["meta"]["when"],
                               "methods": sorted({r["method"] for r in rows})}
    t0 = time.perf_counter()
    if args.grid:
        write_grid(args, [tuple(c.split(":")) for c in args.grid])
    runs = {m: runner(m, args.weights) for m in args.methods}
    for run in runs.values():  # warm-up: JIT compile, model load
        img, mask = inpaint_pair(photos[0], "blobs", 64 if args.size > 64 else args.size)
        run(img.copy(), mask.copy())
    scorer = LpipsScorer()
    checked = False
    for name in photos:
        for kind in KINDS:
            img, mask = inpaint_pair(name, kind, args.size)
            outs = {}
            for method, run in runs.items():
                t = time.perf_counter()
                outs[method] = run(img.copy(), mask.copy())
                outs[method] = (outs[method], time.perf_counter() - t)
            scores = scorer(img, [o for o, _ in outs.values()])
            if not checked:  # the shared-reference scorer is imgkit.metrics.lpips, batched
                first = next(iter(outs.values()))[0]
                assert abs(scores[0] - lpips(img, first, net="vgg", device="cpu")) < 1e-4
                checked = True
            for (method, (_, dt)), score in zip(outs.items(), scores):
                rows.append({"photo": name, "kind": kind, "method": method, "lpips": score, "seconds": dt,
                             "hole_frac": float(mask.mean())})
        print(f"{name}: done ({time.perf_counter() - t0:.0f} s, load {_load()})", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".partial.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    meta["load_end"] = _load()
    meta["wall_s"] = time.perf_counter() - t0
    if not args.no_timing:
        meta["net_512_s_1thread"] = time_512(args.weights, 1)
        meta["net_512_s_2threads"] = time_512(args.weights, 2)
        meta["load_timing"] = _load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    args.out.with_suffix(".md").write_text(report(meta, rows))
    print(report(meta, rows))
    return 0


class LpipsScorer:
    """``imgkit.metrics.lpips(truth, out, net="vgg")`` for several outputs of one case, the
    truth's VGG features computed once (the same arithmetic as :class:`imgkit.nets.lpips.LPIPS`)."""

    def __init__(self) -> None:
        from imgkit.nets.lpips import get_lpips

        self.model = get_lpips("vgg16", "cpu")

    def __call__(self, truth: np.ndarray, outs: list[np.ndarray]) -> list[float]:
        import torch
        import torch.nn.functional as F

        from imgkit.nets.lpips import unit_normalize

        m = self.model

        def feats(imgs):
            x = torch.from_numpy(np.stack([np.asarray(i, np.float32) for i in imgs])).permute(0, 3, 1, 2)
            x = ((x * 2 - 1) - m.shift) / m.scale
            return m.encoder(x, m.taps, normalized=True)

        with torch.no_grad():
            ref = feats([truth])
            got = feats(outs)
            total = torch.zeros(len(outs))
            for tap, head in zip(m.taps, m.heads):
                d = (unit_normalize(got[tap]) - unit_normalize(ref[tap])) ** 2
                total = total + F.conv2d(d, head).mean(dim=(1, 2, 3))
        return [float(v) for v in total]


def write_grid(args: argparse.Namespace, cases: list[tuple[str, str]]) -> None:
    """One row per case: the input (hole grey), every method's composite, the photo."""
    from benchmarks.suite.cases import inpaint_pair
    from imgkit.io import save_image

    runs = {m: runner(m, args.weights) for m in args.methods}
    rows = []
    for name, kind in cases:
        img, mask = inpaint_pair(name, kind, args.size)
        tiles = [np.where(mask[:, :, None], np.float32(0.5), img)]
        tiles += [runs[m](img.copy(), mask.copy()) for m in args.methods]
        rows.append(np.concatenate([*tiles, img], axis=1))
    save_image(args.out.with_suffix(".jpg"), np.clip(np.concatenate(rows, axis=0), 0, 1))
    (args.out.parent / (args.out.name + "_grid.txt")).write_text(
        "columns: input, " + ", ".join(args.methods) + ", photo\nrows: " + ", ".join(args.grid) + "\n")


def report(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    by = {(r["method"], r["photo"], r["kind"]): r for r in rows}
    lines = [f"# Context encoder vs classical fills ({meta['split']}, {meta['size']} px)", "",
             "LPIPS-VGG on the full composited image (lower is better), median per mask kind over "
             f"{len(meta['photos'])} photos; every method at 1 thread in one process. Weights: "
             f"{meta['weights']}. Load average {meta['load_start']} → {meta['load_end']} (2 cores "
             f"shared with other jobs). {meta['when']} UTC.", ""]
    if meta.get("reused_from"):
        ru = meta["reused_from"]
        lines += [f"Rows of {', '.join(ru['methods'])} reused from `{ru['file']}` ({ru['when']} UTC).", ""]
    lines += ["| method | " + " | ".join(KINDS) + " | all | median s |", "|---" * (len(KINDS) + 3) + "|"]
    best: dict[str, str] = {}
    for k in KINDS:
        meds = {m: statistics.median(r["lpips"] for r in rows if r["method"] == m and r["kind"] == k)
                for m in methods}
        best[k] = min(meds, key=meds.get)
    for m in methods:
        cells = []
        for k in KINDS:
            v = statistics.median(r["lpips"] for r in rows if r["method"] == m and r["kind"] == k)
            cells.append(f"**{v:.4f}**" if best[k] == m else f"{v:.4f}")
        allv = statistics.median(r["lpips"] for r in rows if r["method"] == m)
        secs = statistics.median(r["seconds"] for r in rows if r["method"] == m)
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {allv:.4f} | {secs:.3g} |")
    if "context_encoder" in methods:
        lines += ["", "Cases where `context_encoder` has the lower LPIPS (wins / cases) per kind:", "",
                  "| vs | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
        for m in methods:
            if m == "context_encoder":
                continue
            cells = []
            for k in KINDS:
                pairs = [(by[("context_encoder", p, k)]["lpips"], by[(m, p, k)]["lpips"])
                         for p in meta["photos"] if (m, p, k) in by and ("context_encoder", p, k) in by]
                cells.append(f"{sum(a < b for a, b in pairs)}/{len(pairs)}")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if "net_512_s_1thread" in meta:
        lines += ["", f"Network fill of a 512×512 photo (thick strokes, region='full', median of 5 warm "
                      f"runs): {meta['net_512_s_1thread']:.3f} s at 1 thread, "
                      f"{meta['net_512_s_2threads']:.3f} s at 2 threads (load {meta['load_timing']})."]
    non_it = [m for m in NON_ITERATIVE if m in methods]
    lines += ["", f"Non-iterative methods: {', '.join(non_it)}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
