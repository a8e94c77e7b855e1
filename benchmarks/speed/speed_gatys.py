"""Speed of Gatys neural style transfer (``imgkit.stylize(method="gatys")``).

Two measurements:

* **per-iteration overhead** — seconds per L-BFGS iteration of the public call against a bare
  PyTorch loop on the same inputs that uses the same encoder
  (:func:`imgkit.nets.encoder.get_encoder`), the same loss functions (:mod:`imgkit.nets.losses`),
  the same weights and one ``LBFGS.step(max_iter=N)`` (one loss evaluation per iteration in
  both). Both are timed as whole calls (targets, loop, conversion back to NumPy), divided by
  ``N``. Runs alternate (imgkit, bare, imgkit, ...) so that load changes hit both; figures are
  medians over repeats, in wall time and in process CPU time (the latter is steadier on a
  shared machine). Target: imgkit ≤ 1.05 × bare.
* **wall time** of the public call for a 256² content (one scale) and a 512² content (two
  scales: 256² then 512²), each in a fresh process: ``first_call_s`` is the first call
  (weights loading, oneDNN/cuDNN set-up included), ``median_s`` the median of the following
  calls, ``peak_mem_mb`` the process's peak RSS (CPU) or torch's peak allocation (CUDA).

Run ``python -m benchmarks.speed.speed_gatys [--quick] [--threads N] [--out DIR]``; it prints a Markdown
table and writes ``benchmarks/results/speed_gatys[_quick][_tN].md`` and ``.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from functools import partial
from typing import Any

from ._harness import Runs, fresh_process, speed_main, speed_parser, timed

CONTENT, STYLE = "astronaut", "immunohistochemistry"


def _devices() -> list[str]:
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _bare_run(content, style, iterations: int, device: str) -> int:
    """A plain PyTorch Gatys loop: same encoder, losses, weights and L-BFGS settings as imgkit.

    Returns the number of loss evaluations (one per iteration).
    """
    import torch

    from imgkit._torch import from_tensor, to_tensor
    from imgkit.nets.encoder import get_encoder
    from imgkit.nets.layers import CONTENT_LAYER, STYLE_LAYERS
    from imgkit.nets.losses import content_loss, gram_matrix, style_layer_loss, total_variation
    from imgkit.registry import get_method
    from imgkit.style.gatys import default_layer_weights

    defaults = get_method("gatys", "stylize").defaults
    cw, sw, tvw = defaults["content_weight"], defaults["style_weight"], defaults["tv_weight"]
    lw = dict(zip(STYLE_LAYERS, default_layer_weights(STYLE_LAYERS)))
    enc = get_encoder("vgg16", device)
    c, s = to_tensor(content, device), to_tensor(style, device)
    with torch.no_grad():
        p = enc(c, [CONTENT_LAYER])[CONTENT_LAYER]
        a = {k: gram_matrix(v) for k, v in enc(s, STYLE_LAYERS).items()}
    layers = (*STYLE_LAYERS, CONTENT_LAYER)
    x = c.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iterations, history_size=100,
                            tolerance_grad=1e-9, tolerance_change=0.0)

    def closure():
        opt.zero_grad(set_to_none=True)
        f = enc(x, layers)
        style = sum(lw[k] * style_layer_loss(gram_matrix(f[k]), a[k]).sum() for k in STYLE_LAYERS)
        loss = cw * content_loss(f[CONTENT_LAYER], p).sum() + sw * style + tvw * total_variation(x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    from_tensor(x.detach().clamp(0, 1))
    return opt.state[x]["func_evals"]


def overhead_rows(quick: bool) -> list[dict[str, Any]]:
    """Per-iteration time, imgkit against the bare loop (alternating runs)."""
    import imgkit
    from imgkit import data

    size, iterations, repeats = (128, 5, 3) if quick else (256, 10, 5)
    content, style = data.photo(CONTENT, size), data.photo(STYLE, size)
    rows = []
    for device in _devices():

        def ours(n: int, device: str = device) -> None:
            imgkit.stylize(content, style, method="gatys", iterations=n, max_size=None, device=device,
                           seed=0)

        def bare(n: int, device: str = device) -> None:
            evals = _bare_run(content, style, n, device)
            assert evals == n, (evals, n)

        ours(2)  # warm-up: weights, oneDNN/cuDNN kernels for these shapes
        bare(2)
        res = {"ours": Runs(), "bare": Runs()}
        sync = partial(_sync, device)
        for _ in range(repeats):
            res["ours"].add(*timed(lambda: ours(iterations), sync))
            res["bare"].add(*timed(lambda: bare(iterations), sync))
        med = {k: [r.median_s / iterations, r.cpu_s / iterations] for k, r in res.items()}
        wall_ratio = med["ours"][0] / med["bare"][0]
        cpu_ratio = med["ours"][1] / med["bare"][1]
        spread = {k: r.spread(1 / iterations) for k, r in res.items()}
        common = dict(family="gatys", device=device, size=f"{size}x{size}", unit="it/s")
        rows.append(dict(common, kernel="lbfgs iteration (imgkit.stylize)", median_s=med["ours"][0],
                         throughput=1.0 / med["ours"][0], ratio_wall=wall_ratio, ratio_cpu=cpu_ratio,
                         notes=f"{wall_ratio:.3f}x the bare loop in wall time, {cpu_ratio:.3f}x in "
                               f"process CPU time (target <= 1.05x); CPU {med['ours'][1]:.3f} s/it; "
                               f"whole call / {iterations} it, {repeats} alternating runs; "
                               f"wall spread {spread['ours']}"))
        rows.append(dict(common, kernel="lbfgs iteration (bare torch loop)", median_s=med["bare"][0],
                         throughput=1.0 / med["bare"][0],
                         notes=f"same encoder + losses + targets, one LBFGS.step(max_iter={iterations}); "
                               f"CPU {med['bare'][1]:.3f} s/it; wall spread {spread['bare']}"))
    return rows


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run inside a fresh process: first call, then repeated calls of one configuration."""
    import resource

    import torch

    import imgkit
    from imgkit import data

    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    content, style = data.photo(CONTENT, cfg["size"]), data.photo(STYLE, cfg["size"])
    kw = dict(method="gatys", iterations=cfg["iterations"], scales=cfg["scales"],
              max_size=cfg["size"], device=cfg["device"], seed=0)
    if cfg["device"] == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(1 + cfg["repeats"]):
        _sync(cfg["device"])
        t0 = time.perf_counter()
        imgkit.stylize(content, style, **kw)
        _sync(cfg["device"])
        times.append(time.perf_counter() - t0)
    if cfg["device"] == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"first_call_s": times[0], "times": times[1:], "peak_mem_mb": peak,
            "threads": torch.get_num_threads()}


def wall_rows(quick: bool, threads: int | None = None) -> list[dict[str, Any]]:
    """Wall time of the public call at 256² and 512² (multi-scale), each in a fresh process."""
    if quick:
        configs = [dict(size=128, scales=1, iterations=10, repeats=1),
                   dict(size=256, scales=2, iterations=5, repeats=1)]
    else:
        configs = [dict(size=256, scales=1, iterations=30, repeats=2),
                   dict(size=512, scales=2, iterations=15, repeats=1)]
    rows = []
    for device in _devices():
        for cfg in configs:
            cfg = dict(cfg, device=device, threads=threads)
            res = json.loads(fresh_process(["-m", "benchmarks.speed.speed_gatys", "--worker",
                                            json.dumps(cfg)]))
            median = statistics.median(res["times"])
            total_it = cfg["iterations"] * cfg["scales"]
            sizes = " -> ".join(f"{cfg['size'] // 2**k}²" for k in range(cfg["scales"] - 1, -1, -1))
            plural = "s" if cfg["scales"] > 1 else ""
            rows.append(dict(
                family="gatys", kernel=f"stylize wall time ({cfg['scales']} scale{plural})",
                device=device, size=f"{cfg['size']}x{cfg['size']}", median_s=median,
                first_call_s=res["first_call_s"], peak_mem_mb=res["peak_mem_mb"],
                throughput=total_it / median, unit="it/s",
                notes=f"L-BFGS, {cfg['iterations']} it per scale ({sizes}), torch threads "
                      f"{res['threads']}, median of {len(res['times'])} after the first call",
            ))
    return rows


def kernel_rows(quick: bool, threads: int | None = None) -> list[dict[str, Any]]:
    """Rows for the benchmark suite (see the module docstring); ``threads`` sets torch's CPU
    thread count (default: torch's choice)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    return overhead_rows(quick) + wall_rows(quick, threads)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["--worker"]:  # one configuration inside a fresh process (see wall_rows)
        print(json.dumps(_worker(json.loads(args[1]))))
        return
    ap = speed_parser("speed_gatys", __doc__, "small sizes, few iterations")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    speed_main(kernel_rows, "speed_gatys", "Gatys speed", args, parser=ap,
               suffix=lambda a: ("_quick" if a.quick else "") + (f"_t{a.threads}" if a.threads else ""))


if __name__ == "__main__":
    main()
