"""Gatys in imgkit against a bare PyTorch Gatys loop at equal iterations (why imgkit stopped short).

The reference is the loop most PyTorch users write (the official neural-style tutorial's
losses) on imgkit's VGG16 (:func:`imgkit.nets.encoder.get_encoder`, max pooling, ImageNet
normalisation), paper layers (style relu1_1 … relu5_1, content relu4_2):

* Gram matrices ``F Fᵀ / (C·H·W)``;
* loss ``1 · mean((F − P)²)`` + ``1e6 · Σ_l mean((G_l − A_l)²)`` (no TV term);
* L-BFGS (learning rate 1, history 100, no line search), the image starting from the content
  and clamped to [0, 1] before each evaluation, one evaluation per iteration.

For every case (content, style at ``--size`` px) it runs the reference and each imgkit
configuration for ``--iterations`` iterations and measures, with :mod:`imgkit.metrics`:

* the **style drop** ``gram_distance(style, content) / gram_distance(style, out)`` (how many
  times closer to the style's Gram statistics the output is than the content);
* the **content distance** ``content_distance(content, out)``.

It prints and writes ``benchmarks/results/compare_gatys.md`` (medians over cases of the
ratios to the reference: target drop ≥ 0.8×, content ≤ 1.05×) and ``.json``.

Run ``python -m benchmarks.studies.compare_gatys [--size 128] [--iterations 100] [--threads 1]
[--configs ...]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
CONTENTS = ("astronaut", "chelsea", "coffee")
STYLES = ("immunohistochemistry", "hubble_deep_field")
#: VGG16 channels at the five style layers relu1_1 ... relu5_1.
CHANNELS = (64, 128, 256, 512, 512)

#: imgkit configurations: name -> gatys options ("old weights": the defaults before issue 18; the
#: image is now clamped before each evaluation in every configuration). "ref-equivalent" is the
#: reference's loss in imgkit's normalisations: mean((F−P)²) = 2 · ½ mean(...) (content_weight 2) and
#: mean((G−A)²) = Σ (G−A)² / N² = 4 E_l / N² (style_weight 1e6 · 4 / N_l² per layer).
CONFIGS: dict[str, dict[str, Any]] = {
    "old weights (sw 100, w_l 1/5, tv 30)": dict(style_weight=100.0, tv_weight=30.0,
                                                 style_layer_weights=(0.2,) * 5),
    "old weights, tv 0": dict(style_weight=100.0, tv_weight=0.0, style_layer_weights=(0.2,) * 5),
    "ref-equivalent": dict(content_weight=2.0, style_weight=1e6, tv_weight=0.0,
                           style_layer_weights=tuple(4.0 / n**2 for n in CHANNELS)),
    "defaults": dict(),
}


def reference(content, style, iterations: int, device: str = "cpu"):
    """The bare loop (see the module docstring); returns the output (H, W, 3) float32."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from imgkit._torch import from_tensor, to_tensor
    from imgkit.nets.encoder import get_encoder
    from imgkit.nets.layers import CONTENT_LAYER, STYLE_LAYERS

    enc = get_encoder("vgg16", device)

    def gram(f):
        b, c, h, w = f.shape
        x = f.reshape(b * c, h * w)
        return x @ x.t() / (b * c * h * w)

    c, s = to_tensor(content, device), to_tensor(style, device)
    with torch.no_grad():
        p = enc(c, [CONTENT_LAYER])[CONTENT_LAYER]
        a = {k: gram(v) for k, v in enc(s, STYLE_LAYERS).items()}
    x = c.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iterations, history_size=100, tolerance_grad=0.0,
                            tolerance_change=0.0)
    layers = (*STYLE_LAYERS, CONTENT_LAYER)

    def closure():
        with torch.no_grad():
            x.clamp_(0, 1)
        opt.zero_grad(set_to_none=True)
        f = enc(x, layers)
        loss = F.mse_loss(f[CONTENT_LAYER], p) + 1e6 * sum(F.mse_loss(gram(f[k]), a[k]) for k in STYLE_LAYERS)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return np.clip(from_tensor(x.detach()), 0, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.studies.compare_gatys",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--contents", nargs="*", default=list(CONTENTS))
    ap.add_argument("--styles", nargs="*", default=list(STYLES))
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), help=f"of {list(CONFIGS)}")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    import imgkit
    from imgkit import data, metrics

    torch.set_num_threads(args.threads)
    rows = []
    for cname in args.contents:
        for sname in args.styles:
            content, style = data.photo(cname, args.size), data.photo(sname, args.size)
            g0 = metrics.gram_distance(style, content, device="cpu")
            t = time.perf_counter()
            ref = reference(content, style, args.iterations)
            t_ref = time.perf_counter() - t
            r = {"case": f"{cname}/{sname}", "ref_drop": g0 / metrics.gram_distance(style, ref, device="cpu"),
                 "ref_content": metrics.content_distance(content, ref, device="cpu"), "ref_s": t_ref}
            for name in args.configs:
                t = time.perf_counter()
                out = imgkit.stylize(content, style, method="gatys", iterations=args.iterations,
                                     max_size=None, device="cpu", seed=0, **CONFIGS[name])
                r[f"{name}|s"] = time.perf_counter() - t
                r[f"{name}|drop"] = g0 / metrics.gram_distance(style, out, device="cpu")
                r[f"{name}|content"] = metrics.content_distance(content, out, device="cpu")
                r[f"{name}|mae_vs_ref"] = float(np.abs(out - ref).mean())
            rows.append(r)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}),
                  flush=True)

    def med(key):
        return statistics.median(r[key] for r in rows)

    lines = [f"# Gatys: imgkit against a bare PyTorch loop ({args.size} px, {args.iterations} iterations, "
             f"{len(rows)} cases, {args.threads} thread(s))", "",
             f"Reference: median style drop {med('ref_drop'):.1f}x, median content distance "
             f"{med('ref_content'):.4g}, median {med('ref_s'):.1f} s.", "",
             "| imgkit configuration | median drop | drop / ref (median of ratios) | content / ref "
             "(median of ratios) | mean abs diff to ref | median s |", "|---|---|---|---|---|---|"]
    for name in args.configs:
        dr = statistics.median(r[f"{name}|drop"] / r["ref_drop"] for r in rows)
        cr = statistics.median(r[f"{name}|content"] / r["ref_content"] for r in rows)
        lines.append(f"| {name} `{CONFIGS[name]}` | {med(name + '|drop'):.1f}x | {dr:.3f} | {cr:.3f} | "
                     f"{med(name + '|mae_vs_ref'):.4f} | {med(name + '|s'):.1f} |")
    lines += ["", "Targets: drop / ref >= 0.8, content / ref <= 1.05. Command: "
              "`python -m benchmarks.studies.compare_gatys " + " ".join(argv or []) + "`", ""]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare_gatys.md").write_text(text)
    (args.out / "compare_gatys.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
