"""Speed of Deep Image Prior inpainting (``imgkit.inpaint(method="dip")``).

For each size (128² and 256²; 64² and 128² with ``--quick``) and device (CPU, and CUDA when
PyTorch sees a GPU), in a fresh process per configuration:

* **seconds per iteration** of the public call (``snapshots=0``) with the default network (``channels=16``,
  ``depth=5``, ``input_depth=32``: widths 16–128), from ``info.timings["optimise"]`` of
  calls with ``N`` iterations (median of repeats after a warm-up call), next to a bare
  PyTorch loop on the same network and inputs (same :func:`imgkit.nets.unet.build_skip_net`,
  loss, Adam and input noise; no progress, callback or snapshots), so the overhead of the
  method's bookkeeping shows;
* **total time of a default call** (``iterations=1200``): measured once per size in full mode
  (a 256² call takes minutes on a 2-core CPU); estimated as set-up + 1200 × per-iteration
  median in quick mode (the row says which);
* ``first_call_s``: the first 1-iteration call in the fresh process (torch import excluded,
  network construction and oneDNN set-up included); ``peak_mem_mb``: peak RSS of the process
  (CPU) or torch's peak allocation (CUDA).

The machine load (``os.getloadavg``), torch's thread count and ``OMP_WAIT_POLICY`` are recorded
in every row: on a shared 2-core machine the figures move a lot with what else runs. With
two torch threads and other processes competing for the cores, OpenMP's default active waiting
makes each thread spin while the other is descheduled (measured at load ~2.5: 0.79 s per
iteration of a 64² test net with 2 threads, 0.04 s with ``OMP_WAIT_POLICY=PASSIVE``, 0.02 s
with 1 thread). ``--threads N`` sets torch's intra-op threads (default: torch's own choice);
export ``OMP_WAIT_POLICY=PASSIVE`` before the run to measure passive waiting.

Run ``python -m benchmarks.speed.speed_dip [--quick] [--threads N]``; it prints a Markdown table
and writes ``benchmarks/results/speed_dip[_quick][_tN].md`` and ``.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
PHOTO = "astronaut"


def _devices() -> list[str]:
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _bare_loop(img, hole, iterations: int, device: str, seed: int = 0) -> float:
    """The same fit without imgkit's bookkeeping; returns seconds per iteration."""
    import numpy as np
    import torch

    from imgkit._torch import generator, to_tensor
    from imgkit.inpainting.dip import channel_plan, running_average
    from imgkit.nets.unet import build_skip_net
    from imgkit.registry import get_method

    d = get_method("dip", "inpaint").defaults
    dev = torch.device(device)
    down, up, skip = channel_plan(d["depth"], d["channels"], d["skip_channels"])
    g = generator(seed, torch.device("cpu"))
    net = build_skip_net(d["input_depth"], img.shape[2], down, up, skip, generator=g, device=dev)
    h, w = hole.shape
    code = (torch.rand((1, d["input_depth"], h, w), generator=g) * 0.1).to(dev)
    target = to_tensor(img, dev)
    known = to_tensor((~hole)[:, :, None].astype(np.float32), dev)
    denom = float((~hole).sum()) * img.shape[2]
    opt = torch.optim.Adam(net.parameters(), lr=d["lr"])
    gn = generator(seed + 1, dev)
    avg = None
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iterations):
        inp = code + d["input_noise"] * torch.randn(code.shape, generator=gn, device=dev)
        out = net(inp)
        if d["average"] > 0:  # the averaged output, as the method keeps it
            avg = running_average(avg, out, d["average"])
        loss = ((out - target) ** 2 * known).sum() / denom
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())
    _sync(device)
    return (time.perf_counter() - t0) / iterations


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run in a fresh process: first call, per-iteration medians, optionally a default call."""
    import resource

    import torch

    if cfg["threads"]:
        torch.set_num_threads(cfg["threads"])
    import imgkit
    from imgkit import data

    size, device, n, repeats = cfg["size"], cfg["device"], cfg["iterations"], cfg["repeats"]
    img = data.photo(PHOTO, size)
    hole = data.mask("strokes", (size, size), seed=1)
    t0 = time.perf_counter()
    imgkit.inpaint(img, hole, method="dip", iterations=1, device=device, seed=0)
    _sync(device)
    first = time.perf_counter() - t0
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ours, bare, setup = [], [], []
    _bare_loop(img, hole, 2, device)  # warm-up
    for r in range(repeats):
        # snapshots=0: with few iterations the 6 snapshot forwards would weigh ~10 % (over the
        # default 1200 iterations they weigh 0.2 %; the default-call row includes them)
        _, info = imgkit.inpaint(img, hole, method="dip", iterations=n, device=device, seed=r,
                                 return_info=True, snapshots=0)
        ours.append(info.timings["optimise"] / n)
        setup.append(info.timings["total"] - info.timings["optimise"])
        bare.append(_bare_loop(img, hole, n, device, seed=r))
    out: dict[str, Any] = dict(first=first, ours=ours, bare=bare, setup=statistics.median(setup))
    if cfg["full_call"]:
        t0 = time.perf_counter()
        imgkit.inpaint(img, hole, method="dip", device=device, seed=0)
        _sync(device)
        out["full_call"] = time.perf_counter() - t0
    if device == "cuda":
        out["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["threads"] = torch.get_num_threads()
    return out


def _run_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed.speed_dip", "--worker", json.dumps(cfg)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {cfg} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kernel_rows(quick: bool, threads: int | None = None) -> list[dict[str, Any]]:
    """Rows for ``python -m benchmarks kernels`` (see the module docstring)."""
    from imgkit.registry import get_method

    default_its = get_method("dip", "inpaint").defaults["iterations"]
    sizes, n, repeats = ((64, 128), 10, 3) if quick else ((128, 256), 20, 3)
    rows = []
    for device in _devices():
        for size in sizes:
            load0 = os.getloadavg()[0]
            res = _run_worker(dict(size=size, device=device, iterations=n, repeats=repeats,
                                   threads=threads, full_call=not quick))
            load = (f"load {load0:.1f}->{os.getloadavg()[0]:.1f}, {res['threads']} torch threads, "
                    f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
            ours, bare = statistics.median(res["ours"]), statistics.median(res["bare"])
            common = dict(family="dip", device=device, size=f"{size}x{size}",
                          first_call_s=res["first"], peak_mem_mb=res["peak_mb"])
            spread = f"{min(res['ours']):.3f}-{max(res['ours']):.3f} s"
            rows.append(dict(common, kernel="iteration (imgkit.inpaint, defaults)", median_s=ours,
                             throughput=1.0 / ours, unit="it/s",
                             notes=f"{ours / bare:.2f}x the bare loop; {repeats} calls of {n} it, "
                                   f"spread {spread}; {load}"))
            rows.append(dict(common, kernel="iteration (bare torch loop)", median_s=bare,
                             throughput=1.0 / bare, unit="it/s",
                             notes=f"same net/loss/Adam/noise, no bookkeeping; {load}"))
            if "full_call" in res:
                total, how = res["full_call"], "measured once"
            else:
                total, how = res["setup"] + default_its * ours, "estimated: set-up + its x median"
            rows.append(dict(common, kernel=f"default call ({default_its} iterations)", median_s=total,
                             throughput=size * size / total / 1e6, unit="Mpx/s",
                             notes=f"{how}; {load}"))
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| device | size | what | median s | throughput | first call s | peak MB | notes |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['device']} | {r['size']} | {r['kernel']} | {r['median_s']:.3f} | "
                     f"{r['throughput']:.3g} {r['unit']} | {r['first_call_s']:.2f} | "
                     f"{r['peak_mem_mb']:.0f} | {r['notes']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m benchmarks.speed.speed_dip",
                                description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="64² and 128², estimated default call")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    import torch

    rows = kernel_rows(args.quick, args.threads)
    head = (f"# Deep Image Prior speed\n\n{platform.platform()}, {platform.processor() or 'cpu'}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}; "
            f"photo {PHOTO!r} with data.mask('strokes', seed=1); {time.strftime('%Y-%m-%d %H:%M')}\n\n")
    text = head + _table(rows) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "speed_dip" + ("_quick" if args.quick else "") + (f"_t{args.threads}" if args.threads else "")
    (RESULTS / f"{stem}.md").write_text(text)
    (RESULTS / f"{stem}.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
