"""Thread scaling of imgkit's multi-threaded methods: the same call on 1 and on 2 threads.

The quality + speed tables of ``python -m benchmarks`` run everyone on one thread count (default
1, ``--threads``) so that imgkit and the single-threaded peers compare per core; this module is
the separate table of how imgkit itself scales with threads.

Every configuration (method × thread count) runs in its own fresh process whose environment fixes
the thread count of every library (:func:`benchmarks.suite.threads.thread_env`: Numba, OpenMP,
BLAS, OpenCV; torch follows ``OMP_NUM_THREADS``) and whose ``NUMBA_CACHE_DIR`` is a new empty
folder. The child reports:

* ``first_call_s``: the first call, cold (lazy imports, JIT compilation with the empty cache,
  weights) — its own column, never mixed into the warm time;
* ``median_s``: the median of the following warm calls;
* ``peak_mem_mb``: the process's ``VmHWM`` after the calls (:mod:`benchmarks.speed._mem`).

Rows: patchmatch and criminisi inpainting (blob hole, 10 %), hertzmann analogy (blur learned
from one photo), gatys (L-BFGS, few iterations). ``notes`` give the speed-up of 2 threads over 1
and the load average; on a shared 2-core machine the 2-thread figure is the more fragile one.

Run ``python -m benchmarks.speed.speed_threads [--quick] [--out DIR]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from ._harness import empty_numba_cache, fresh_process, kernel_row, load_text, speed_main

FAMILY = "threads"
THREADS = (1, 2)


def _configs(quick: bool) -> list[dict[str, Any]]:
    n, small = (128, 64) if quick else (256, 128)
    reps = 2 if quick else 3
    return [
        dict(task="inpaint", method="patchmatch", size=n, repeats=reps, options={}),
        dict(task="inpaint", method="criminisi", size=n, repeats=reps, options={}),
        dict(task="analogy", method="hertzmann", size=small, repeats=reps, options={}),
        dict(task="stylize", method="gatys", size=small, repeats=1 if quick else 2,
             options={"iterations": 5 if quick else 10, "max_size": None}),
    ]


def _call(cfg: dict[str, Any]):
    import numpy as np

    import imgkit
    from imgkit import data

    n = cfg["size"]
    img = data.photo("astronaut", n)
    opts = dict(cfg["options"], method=cfg["method"], seed=0, device="cpu")
    if cfg["task"] == "inpaint":
        mask = data.mask("blobs", (n, n), seed=1, area=0.10)
        return lambda: imgkit.inpaint(img, mask, **opts)
    if cfg["task"] == "analogy":
        from imgkit._pyramid import blur

        b = data.photo("coffee", n)
        ap = np.clip(blur(img, sigma=2.0), 0, 1).astype(np.float32)
        return lambda: imgkit.analogy(img, ap, b, **opts)
    style = data.photo("gravel", n)
    return lambda: imgkit.stylize(img, style, **opts)


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """Inside a fresh process: the cold first call, then warm calls, then VmHWM."""
    from ._mem import peak_rss_mb

    fn = _call(cfg)
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(cfg["repeats"]):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    import numba

    state = {"numba": numba.get_num_threads()}
    if "torch" in sys.modules:
        state["torch"] = sys.modules["torch"].get_num_threads()
    return {"first_call_s": first, "times": times, "peak_mem_mb": peak_rss_mb(), "threads": state}


def _run(cfg: dict[str, Any], threads: int) -> dict[str, Any] | str:
    from ..suite.threads import thread_env

    with empty_numba_cache() as env:
        env = thread_env(threads, env)
        try:
            out = fresh_process(["-m", "benchmarks.speed.speed_threads", "--worker", json.dumps(cfg)],
                                env=env, timeout=1200)
            return json.loads(out)
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or "").strip().splitlines()[-1:] or ["(no output)"]
            return f"error: exit {exc.returncode}: {tail[0][:300]}"
        except (subprocess.SubprocessError, IndexError, ValueError) as exc:
            return f"error: {type(exc).__name__}: {exc}"


def kernel_rows(quick: bool) -> list[dict[str, Any]]:
    """One row per method × thread count (see the module docstring)."""
    rows = []
    for cfg in _configs(quick):
        one = None
        for threads in THREADS:
            res = _run(cfg, threads)
            kernel = f"{cfg['task']}:{cfg['method']} @ {threads} thread{'s' if threads > 1 else ''}"
            size = f"{cfg['size']}x{cfg['size']}"
            if isinstance(res, str):
                rows.append(kernel_row(FAMILY, kernel, "cpu", size, None, None, "calls/s", res))
                continue
            med = statistics.median(res["times"])
            if threads == 1:
                one = med
            scale = f"speed-up {one / med:.2f}x over 1 thread; " if one and threads > 1 else ""
            opts = ", ".join(f"{k}={v}" for k, v in cfg["options"].items())
            rows.append(kernel_row(
                FAMILY, kernel, "cpu", size, med, 1.0 / med, "calls/s",
                f"{scale}threads in force {res['threads']}; warm median of {len(res['times'])} after "
                f"the cold first call (empty Numba cache, fresh process){'; ' + opts if opts else ''}; "
                f"{load_text()}",
                res["first_call_s"], res["peak_mem_mb"]))
    return rows


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["--worker"]:
        print(json.dumps(_worker(json.loads(args[1]))))
        return
    speed_main(kernel_rows, "speed_threads", "imgkit thread scaling (1 vs 2 threads)", args, doc=__doc__,
               quick_help="smaller images, fewer repeats",
               suffix=lambda a: "_quick" if a.quick else "")


if __name__ == "__main__":
    main()
