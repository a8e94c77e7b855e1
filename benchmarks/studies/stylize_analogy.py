"""``stylize(method="analogy")`` on the style benchmark's cases (issue 17): Gram drop and content.

Cases: the style benchmark's content × style pairs of one split
(:func:`benchmarks.suite.cases.split_images`, ``task="style"``) at one size. Rows per case:
``identity`` (the content unchanged: the benchmark's ``start``), ``color_stats`` (the content's
RGB channels given the style's mean and standard deviation: the simple baseline), imgkit
``analogy`` at its defaults plus any ``--config NAME:opt=value,...`` variants. Metrics, as the
style benchmark computes them (:mod:`benchmarks.suite.measure`): ``imgkit.metrics.gram_distance
(style, out)`` and ``imgkit.metrics.content_distance(content, out)``. Reported per row: the median
over cases of the Gram drop ``gram(identity) / gram(row)`` (the benchmark's style drop), the
median Gram and content distances, and the median seconds.

Run ``python -m benchmarks.studies.stylize_analogy --split tune|heldout [--size 128]
[--contents N] [--styles N] [--config NAME:opt=v,...] [--report FILE] [--json FILE]
[--grid FILE]``. Tune on ``--split tune``; read claims from ``--split heldout``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.studies.analogy_filters import image_grid, parse_config


def color_stats(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Each RGB channel of ``content`` shifted and scaled to the style's mean and std."""
    c = np.asarray(content, np.float64)
    s = np.asarray(style, np.float64)
    mc, sc = c.mean(axis=(0, 1)), c.std(axis=(0, 1))
    ms, ss = s.mean(axis=(0, 1)), s.std(axis=(0, 1))
    out = (c - mc) / np.maximum(sc, 1e-6) * ss + ms
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def run(split: str, size: int, n_contents, n_styles, configs, *, grid=None, log=print) -> list[dict]:
    """One row per (content, style, method): gram, content, seconds."""
    import imgkit
    from benchmarks.suite.cases import split_images, style_cases
    from imgkit.metrics import content_distance, gram_distance

    imgs = split_images("style", split, quick=False)
    contents = imgs["images"][:n_contents]
    styles = imgs["variants"][:n_styles]
    rows = []
    for case in style_cases(contents, styles, [size]):
        arr = case.arrays()
        content, style = arr["content"], arr["style"]
        outs = {"identity": (content, 0.0)}
        t = time.perf_counter()
        outs["color_stats"] = (color_stats(content, style), time.perf_counter() - t)
        for name, opts in configs:
            t = time.perf_counter()
            out = imgkit.stylize(content, style, method="analogy", seed=case.seed, **opts)
            outs[name] = (out, time.perf_counter() - t)
        for name, (out, sec) in outs.items():
            rows.append({"content": case.image, "style": case.variant, "method": name,
                         "gram": gram_distance(style, out),
                         "content_distance": content_distance(content, out),
                         "seconds": sec})
        if grid is not None:
            grid[(case.image, case.variant)] = {"content": content, "style": style,
                                                **{k: v[0] for k, v in outs.items() if k != "identity"}}
        log(f"{case.id}: " + "  ".join(f"{r['method']} g{r['gram']:.3g} c{r['content_distance']:.3g}"
                                       for r in rows[-len(outs):]))
    return rows


def table(rows: list[dict], methods: list[str]) -> str:
    """Markdown: per method the median Gram drop (with range), Gram and content distances, seconds."""
    cases = list(dict.fromkeys((r["content"], r["style"]) for r in rows))
    val = {(r["content"], r["style"], r["method"]): r for r in rows}
    lines = ["| method | median Gram drop (×) [min–max] | median gram | median content distance | "
             "median s |", "|---|---|---|---|---|"]
    for m in methods:
        drops = [val[(*c, "identity")]["gram"] / max(val[(*c, m)]["gram"], 1e-12) for c in cases]
        g = [val[(*c, m)]["gram"] for c in cases]
        cd = [val[(*c, m)]["content_distance"] for c in cases]
        s = [val[(*c, m)]["seconds"] for c in cases]
        lines.append(f"| {m} | {np.median(drops):.2f} [{np.min(drops):.2f}–{np.max(drops):.2f}] | "
                     f"{np.median(g):.3g} | {np.median(cd):.3g} | {np.median(s):.2f} |")
    return "\n".join(lines)


def save_grid(grid: dict, path: Path, columns: list[str]) -> None:
    """One row per case: content, style, then ``columns`` (PNG)."""
    rows = {f"{c} × {s}": outs for (c, s), outs in grid.items()}
    image_grid(rows, ["content", "style", *columns], path, cell=(2.0, 2.1), label_size=7)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.studies.stylize_analogy", description=__doc__)
    p.add_argument("--split", choices=("tune", "heldout"), required=True)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--contents", type=int, default=None, help="first N contents (default all)")
    p.add_argument("--styles", type=int, default=None, help="first N styles (default all)")
    p.add_argument("--config", action="append", default=[], metavar="NAME:opt=v,...")
    p.add_argument("--no-default", action="store_true", help="do not run analogy at its defaults")
    p.add_argument("--report", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--grid", type=Path)
    args = p.parse_args(argv)
    configs = [] if args.no_default else [("analogy", {})]
    configs += [parse_config(c) for c in args.config]
    grid = {} if args.grid else None
    t0 = time.perf_counter()
    rows = run(args.split, args.size, args.contents, args.styles, configs, grid=grid)
    methods = ["identity", "color_stats", *(n for n, _ in configs)]
    md = (f"# stylize(method=\"analogy\") on the style benchmark's cases, split `{args.split}`\n\n"
          f"{len(rows) // len(methods)} cases at {args.size} px; {time.perf_counter() - t0:.0f} s, load "
          f"{os.getloadavg()[0]:.1f}. Gram drop = gram(style, content) / gram(style, out) "
          "(imgkit.metrics.gram_distance; higher = closer to the style); content distance = "
          "imgkit.metrics.content_distance(content, out).\n"
          f"Configs: {json.dumps(dict(configs))}\n\n" + table(rows, methods) + "\n")
    print(md)
    if args.report:
        args.report.write_text(md)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.grid:
        save_grid(grid, args.grid, [m for m in methods if m != "identity"])


if __name__ == "__main__":
    main()
