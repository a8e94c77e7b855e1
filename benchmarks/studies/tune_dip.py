"""Tuning study of Deep Image Prior's defaults on thin masks (issue 6).

For each configuration of ``method="dip"`` options and each photo (the inpainting benchmark's
``strokes`` masks: thin scribbles, seeded as in ``benchmarks/suite/cases.py``), it runs DIP and the
fast classical fills (``biharmonic``, ``fsr_fast``, ``ns``, ``telea``), and reports hole PSNR,
hole LPIPS (VGG, over :func:`imgkit.metrics.hole_box`, the benchmark's ``lpips_hole``) and
seconds; per configuration the mean over photos and the number of photos where DIP's hole LPIPS
beats ``biharmonic`` and ``fsr_fast`` (the two best classical fills on strokes in the full
benchmark). Writes ``benchmarks/results/tune_dip[_<size>].md``.

Each DIP fill can be kept (``--cache DIR``: ``DIR/<size>_<photo>_<config>.npy``, with the
seconds it took in a ``.seconds`` file beside it) and is then reused, so a report can be rebuilt
or extended without rerunning old configurations.

Run ``python -m benchmarks.studies.tune_dip [--size 256] [--photos ...] [--configs ...] [--cache DIR]
[--threads N] [--out DIR] [--report NAME]``; ``--list`` prints the configurations.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from ..suite.cases import inpaint_pair

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
BASELINES = ("biharmonic", "fsr_fast", "ns", "telea")

#: name -> dip options (explicit, so that a name keeps its meaning when the defaults change;
#: "base" was the default before this study, "avg_skip16" is the default after it).
_OLD = dict(average=0.0, skip_channels=4)
CONFIGS: dict[str, dict] = {
    "base": dict(_OLD),
    "avg": dict(_OLD, average=0.99),
    "avg_noise05": dict(_OLD, average=0.99, input_noise=0.05),
    "avg_lr005": dict(_OLD, average=0.99, lr=0.005),
    "avg_skip16": dict(average=0.99, skip_channels=16),
    "avg_skip64": dict(average=0.99, skip_channels=64),
    "avg_ch8_skip16_2x": dict(average=0.99, channels=8, skip_channels=16, iterations=2400),
    "avg_ch32_half": dict(_OLD, average=0.99, channels=32, iterations=600),
    "avg_it2000": dict(_OLD, average=0.99, iterations=2000),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.studies.tune_dip",
                                description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--photos", nargs="*", default=list(PHOTOS))
    p.add_argument("--configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--iterations", type=int, default=None, help="override every configuration's iterations")
    p.add_argument("--cache", type=Path, default=None, help="folder keeping the DIP fills (.npy)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the report (default: %(default)s)")
    p.add_argument("--report", default=None,
                   help="report file name in --out (default: tune_dip.md at 256 px, tune_dip_<size>.md else)")
    p.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = p.parse_args(argv)
    if args.list:
        for k, v in CONFIGS.items():
            print(k, v)
        return 0
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown:
        p.error(f"unknown configuration(s) {unknown}; known: {sorted(CONFIGS)}")
    import torch

    import imgkit
    from imgkit import metrics

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)

    def score(out, truth, hole):
        ys, xs = metrics.hole_box(hole)
        return (metrics.psnr(out, truth, mask=hole),
                metrics.lpips(out[ys, xs], truth[ys, xs], device="cpu"))

    base: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name in args.photos:
        truth, hole = inpaint_pair(name, "strokes", args.size)
        base[name] = {}
        for method in BASELINES:
            t0 = time.perf_counter()
            out = imgkit.inpaint(truth, hole, method=method, seed=0)
            base[name][method] = (*score(out, truth, hole), time.perf_counter() - t0)
    results: dict[str, dict[str, tuple[float, float, str]]] = {}
    conditions: set[str] = set()  # how the DIP seconds were measured
    for cfg in args.configs:
        opts = dict(CONFIGS[cfg])
        if args.iterations:
            opts["iterations"] = args.iterations
        results[cfg] = {}
        for name in args.photos:
            truth, hole = inpaint_pair(name, "strokes", args.size)
            tag = f"{args.size}_{name}_{cfg}" + (f"_it{args.iterations}" if args.iterations else "")
            cached = args.cache / f"{tag}.npy" if args.cache else None
            took = cached.with_suffix(".seconds") if cached is not None else None
            where = f"{torch.get_num_threads()} torch threads, load {os.getloadavg()[0]:.1f}"
            if cached is not None and cached.exists():
                out = np.load(cached)
                secs, where = "?", "not recorded"
                if took.exists():  # "<seconds> s, <conditions>"
                    secs, _, where = took.read_text().strip().partition(" s, ")
                secs += " (cached)"
            else:
                t0 = time.perf_counter()
                out = imgkit.inpaint(truth, hole, method="dip", seed=0, **opts)
                secs = f"{time.perf_counter() - t0:.0f}"
                if cached is not None:
                    np.save(cached, out)
                    took.write_text(f"{secs} s, {where}\n")
            conditions.add(where)
            psnr, lp = score(out, truth, hole)
            results[cfg][name] = (psnr, lp, secs)
            print(f"{cfg:>16} {name:>10}: hole PSNR {psnr:.2f} dB, hole LPIPS {lp:.4f}, {secs} s "
                  f"(biharmonic {base[name]['biharmonic'][1]:.4f}, fsr_fast {base[name]['fsr_fast'][1]:.4f})",
                  flush=True)

    lines = [f"# Deep Image Prior tuning on thin strokes, {args.size}²", "",
             f"Photos {', '.join(args.photos)}; the benchmark's `strokes` masks; seed 0; torch "
             f"{torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}; "
             f"{time.strftime('%Y-%m-%d %H:%M')}. Command: `python -m benchmarks.studies.tune_dip "
             f"--size {args.size}"
             f"{' --iterations ' + str(args.iterations) if args.iterations else ''} --photos "
             f"{' '.join(args.photos)} --configs {' '.join(args.configs)}`. "
             "Hole LPIPS: VGG over `metrics.hole_box` (lower is better).", "",
             "## Baselines", "", "| method | mean hole PSNR (dB) | mean hole LPIPS | mean seconds |",
             "|---|---|---|---|"]
    for method in BASELINES:
        v = np.array([base[n][method] for n in args.photos])
        lines.append(f"| {method} | {v[:, 0].mean():.2f} | {v[:, 1].mean():.4f} | {v[:, 2].mean():.2f} |")
    lines += ["", "## DIP configurations", "",
              "| config | options | mean hole PSNR (dB) | mean hole LPIPS | LPIPS wins vs biharmonic | "
              "vs fsr_fast | seconds per photo |", "|---|---|---|---|---|---|---|"]
    for cfg, per in results.items():
        v = np.array([(per[n][0], per[n][1]) for n in args.photos])
        wb = sum(per[n][1] < base[n]["biharmonic"][1] for n in args.photos)
        wf = sum(per[n][1] < base[n]["fsr_fast"][1] for n in args.photos)
        secs = ", ".join(per[n][2] for n in args.photos)
        opts = dict(CONFIGS[cfg], **({"iterations": args.iterations} if args.iterations else {}))
        lines.append(f"| {cfg} | `{opts}` | {v[:, 0].mean():.2f} | {v[:, 1].mean():.4f} | "
                     f"{wb}/{len(args.photos)} | {wf}/{len(args.photos)} | {secs} |")
    lines += ["", "DIP seconds measured with: " + "; ".join(sorted(conditions)) + ".",
              "", "## Per photo (hole LPIPS)", "",
              "| photo | " + " | ".join(BASELINES) + " | " + " | ".join(results) + " |",
              "|---|" + "---|" * (len(BASELINES) + len(results))]
    for n in args.photos:
        lines.append(f"| {n} | " + " | ".join(f"{base[n][m][1]:.4f}" for m in BASELINES) + " | "
                     + " | ".join(f"{results[c][n][1]:.4f}" for c in results) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.report or ("tune_dip.md" if args.size == 256 else f"tune_dip_{args.size}.md")
    (args.out / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
