"""Image analogies on the benchmark's 8 learned filters: imgkit ``hertzmann`` against the naive
baselines (issue 17).

Cases: the corpus pairs of one split (:func:`benchmarks.suite.cases.analogy_pairs`; A, A′ = f(A)
from the first photo, B from the second) × the 8 filters of
:data:`benchmarks.suite.cases.FILTERS` × sizes. Rows: ``unchanged`` (B), ``naive`` (nearest 5×5
luminance patch, A′ luminance + B chroma), ``naive_rgb`` (the same match, A′'s RGB), ``lut``
(per-channel tone curve) from :mod:`benchmarks.reference.analogy_baselines`, and imgkit
``hertzmann`` at its defaults plus any ``--config NAME:opt=value,...`` variants (the tuning
runs). Metrics: RGB PSNR of B′ against f(B) and luminance PSNR; per filter the median over
pairs and sizes, and the number of filters where a row beats ``naive``.

Run ``python -m benchmarks.studies.analogy_filters --split tune|heldout [--sizes 128 256]
[--pairs N] [--filters ...] [--config NAME:opt=v,...] [--report FILE] [--grid FILE]
[--json FILE]``. Tune on ``--split tune``; read claims from ``--split heldout``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "results"
BASELINES = ("unchanged", "naive", "naive_rgb", "lut")


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR (dB, peak 1) of two float images."""
    mse = float(np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def psnr_y(x: np.ndarray, y: np.ndarray) -> float:
    """Luminance (Y of YIQ) PSNR."""
    from imgkit._color import luminance

    return psnr(luminance(np.asarray(x, np.float32)), luminance(np.asarray(y, np.float32)))


def parse_config(text: str) -> tuple[str, dict]:
    """``"name:opt=value,opt=value"`` -> (name, options); values parsed as JSON, else strings."""
    name, _, rest = text.partition(":")
    opts = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        try:
            opts[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            opts[k.strip()] = v.strip()
    return name.strip(), opts


def baseline(name: str, a, ap, b) -> np.ndarray:
    """Output of baseline ``name`` (one of :data:`BASELINES`)."""
    from benchmarks.reference import analogy_baselines as ab

    if name == "unchanged":
        return ab.unchanged(a, ap, b)
    if name == "naive":
        return ab.naive_patch(a, ap, b, color="yiq")
    if name == "naive_rgb":
        return ab.naive_patch(a, ap, b, color="rgb")
    if name == "lut":
        return ab.channel_lut(a, ap, b)
    raise ValueError(name)


def run(split: str, sizes, n_pairs, filters, configs, *, grid_outputs=None, log=print) -> list[dict]:
    """One row per (pair, filter, size, method): psnr, psnr_y, seconds."""
    import imgkit
    from benchmarks.suite.cases import FILTERS, analogy_cases, analogy_pairs

    pairs = analogy_pairs(split)[:n_pairs]
    filters = tuple(filters or FILTERS)
    rows = []
    for case in analogy_cases(pairs, filters, sizes):
        arr = case.arrays()
        a, ap, b, truth = arr["a"], arr["a_prime"], arr["b"], arr["truth"]
        outs = {}
        for name in BASELINES:
            t = time.perf_counter()
            outs[name] = (baseline(name, a, ap, b), time.perf_counter() - t)
        for name, opts in configs:
            t = time.perf_counter()
            out = imgkit.analogy(a, ap, b, seed=case.seed, **opts)
            outs[name] = (out, time.perf_counter() - t)
        for name, (out, sec) in outs.items():
            rows.append({"pair": case.image, "filter": case.variant, "size": case.size, "method": name,
                         "psnr": psnr(out, truth), "psnr_y": psnr_y(out, truth), "seconds": sec})
        if grid_outputs is not None and case.size == max(sizes) and case.image == pairs[0]:
            grid_outputs[case.variant] = {"A": a, "A′": ap, "B": b, "f(B)": truth,
                                          **{k: v[0] for k, v in outs.items()}}
        log(f"{case.id}: " + "  ".join(f"{r['method']} {r['psnr']:.2f}/{r['psnr_y']:.2f}"
                                       for r in rows[-len(outs):]))
    return rows


def table(rows: list[dict], methods: list[str]) -> str:
    """Markdown: per filter the median RGB PSNR / luminance PSNR of each method."""
    filters = list(dict.fromkeys(r["filter"] for r in rows))
    head = "| filter | " + " | ".join(methods) + " |"
    lines = [head, "|" + "---|" * (len(methods) + 1)]
    wins = {m: [0, 0] for m in methods}
    med = {}
    for f in filters:
        cells = []
        for m in methods:
            sel = [r for r in rows if r["filter"] == f and r["method"] == m]
            p = float(np.median([r["psnr"] for r in sel]))
            py = float(np.median([r["psnr_y"] for r in sel]))
            med[f, m] = (p, py)
            cells.append(f"{p:.2f} / {py:.2f}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
        for m in methods:
            wins[m][0] += med[f, m][0] > med[f, "naive"][0]
            wins[m][1] += med[f, m][1] > med[f, "naive"][1]
    lines.append("| **filters beating naive (RGB / Y)** | "
                 + " | ".join(f"{wins[m][0]} / {wins[m][1]}" for m in methods) + " |")
    allp = {m: float(np.median([r["psnr"] for r in rows if r["method"] == m])) for m in methods}
    lines.append("| **median over all cases (RGB)** | " + " | ".join(f"{allp[m]:.2f}" for m in methods)
                 + " |")
    big = max(r["size"] for r in rows)
    secs = {m: float(np.median([r["seconds"] for r in rows if r["method"] == m and r["size"] == big]))
            for m in methods}
    lines.append(f"| median s at {big} px (loaded machine; first calls included) | "
                 + " | ".join(f"{secs[m]:.2f}" for m in methods) + " |")
    return "\n".join(lines)


def image_grid(rows: dict, cols: list[str], path: Path, *, cell: tuple[float, float] = (1.6, 1.7),
               label_size: int = 8) -> None:
    """Write a PNG of pictures: one row per ``rows`` entry (label → {column: image}), ``cols`` in
    order, each cell ``cell`` inches (width, height)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(cols), figsize=(cell[0] * len(cols), cell[1] * len(rows)),
                             squeeze=False)
    for i, (label, outs) in enumerate(rows.items()):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            ax.imshow(np.clip(outs[c], 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(c, fontsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=label_size)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def save_grid(outputs: dict, path: Path, columns: list[str]) -> None:
    """One row per filter: A, A′, B, f(B), then ``columns`` (PNG)."""
    image_grid(outputs, ["A", "A′", "B", "f(B)", *columns], path)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.studies.analogy_filters", description=__doc__)
    p.add_argument("--split", choices=("tune", "heldout"), required=True)
    p.add_argument("--sizes", nargs="+", type=int, default=[128, 256])
    p.add_argument("--pairs", type=int, default=None, help="first N pairs of the split (default all)")
    p.add_argument("--filters", nargs="+", default=None)
    p.add_argument("--config", action="append", default=[], metavar="NAME:opt=v,...",
                   help="an imgkit hertzmann variant (repeatable); 'hertzmann' (defaults) always runs")
    p.add_argument("--no-default", action="store_true", help="do not run hertzmann at its defaults")
    p.add_argument("--report", type=Path, help="Markdown output")
    p.add_argument("--json", type=Path, help="per-case rows as JSON")
    p.add_argument("--grid", type=Path, help="PNG grid of the first pair at the largest size")
    p.add_argument("--rebuild", type=Path, metavar="JSON",
                   help="rebuild the Markdown table from a --json file of an earlier run (runs nothing)")
    args = p.parse_args(argv)
    if args.rebuild:
        rows = json.loads(args.rebuild.read_text())
        methods = list(dict.fromkeys(r["method"] for r in rows))
        print(table(rows, methods))
        return
    configs = [] if args.no_default else [("hertzmann", {})]
    configs += [parse_config(c) for c in args.config]
    grid = {} if args.grid else None
    t0 = time.perf_counter()
    rows = run(args.split, args.sizes, args.pairs, args.filters, configs, grid_outputs=grid)
    methods = [*BASELINES, *(n for n, _ in configs)]
    from benchmarks.suite.cases import analogy_pairs

    pairs = analogy_pairs(args.split)[: args.pairs]
    load = os.getloadavg()[0]
    md = (f"# Image analogies on 8 learned filters, split `{args.split}`\n\n"
          f"Pairs ({len(pairs)}): {', '.join(pairs)}; sizes {args.sizes}; "
          f"{time.perf_counter() - t0:.0f} s, load {load:.1f}, NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'all')}.\n\n"
          "Median over pairs and sizes of RGB PSNR / luminance PSNR (dB) of B′ against f(B).\n"
          f"Configs: {json.dumps(dict(configs))}\n\n" + table(rows, methods) + "\n")
    print(md)
    if args.report:
        args.report.write_text(md)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.grid:
        save_grid(grid, args.grid, [m for m in ("naive", "hertzmann") if m in methods])


if __name__ == "__main__":
    main()
