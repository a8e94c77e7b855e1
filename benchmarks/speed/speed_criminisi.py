"""Speed of Criminisi exemplar inpainting and of its masked-SSD search kernel.

Case (the issue's target): a 512×512 RGB photo (``astronaut``) with a ~10 % blob hole
(``imgkit.data.mask("blobs", (512, 512), area=0.10)``), patch 9, exhaustive search, in Lab.

Rows
----
* the whole fill on the CPU, warm (median of repeated runs), with all Numba threads and with
  one; first call in a fresh process (on-disk JIT cache warm; the cold compile with an empty
  cache is in the notes) and the extra peak RSS of the fill;
* the search kernel alone on a mid-fill state, as effective candidate-pixel comparisons per
  second (valid candidates × known target pixels / time: what an exhaustive search would
  compute), against the plain NumPy exhaustive search of ``benchmarks/reference/naive_criminisi.py``;
* reference rows: the PyPI package ``criminisi`` (not on this index: skipped with the reason),
  and ``exemplar-based-inpainting`` (a PyPI implementation of the same paper that runs a
  masked ``cv2.matchTemplate`` over the image per step) when it is installed;
* the CUDA path at 512² and 2048² when a GPU is usable (skipped otherwise).

Run ``python -m benchmarks.speed.speed_criminisi [--quick] [--out DIR]``; writes
``benchmarks/results/speed_criminisi.md`` and ``.json``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from ._harness import ROOT, empty_numba_cache, fresh_process, load_text, median_runs, speed_main

FAMILY = "criminisi"


def _case(n: int):
    from imgkit import data

    return data.photo("astronaut", n), data.mask("blobs", (n, n), area=0.10)


def _load() -> str:
    return load_text("load", 2)


_CHILD = r"""
import json, resource, sys, time, tracemalloc
n, warm = int(sys.argv[1]), sys.argv[2] == "1"
t0 = time.perf_counter()
import imgkit
from imgkit import data
t_import = time.perf_counter() - t0
img, m = data.photo("astronaut", n), data.mask("blobs", (n, n), area=0.10)
if warm:  # load the kernels first, so the RSS growth below is the fill's own
    imgkit.inpaint(data.photo("astronaut", 24), data.mask("box", (24, 24)), method="criminisi",
                   patch_size=5)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if warm:
    tracemalloc.start()
t = time.perf_counter()
imgkit.inpaint(img, m, method="criminisi", device="cpu")
first = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1] if warm else 0
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": t_import, "first_s": first, "rss0_mb": rss0 / 1024,
                  "rss1_mb": rss1 / 1024, "traced_mb": peak / 2**20}))
"""


def _child(n: int, warm: bool, env: dict[str, str]) -> dict:
    return json.loads(fresh_process(["-c", _CHILD, str(n), "1" if warm else "0"], env=env))


def _fill_rows(n: int, repeats: int) -> list[dict]:
    import numba

    import imgkit

    img, m = _case(n)
    holes = int(m.sum())
    imgkit.inpaint(img, m, method="criminisi")  # warm-up (JIT / cache load)
    rows = []
    info = None
    for threads in (numba.config.NUMBA_NUM_THREADS, 1):
        numba.set_num_threads(threads)

        def run():
            nonlocal info
            info = imgkit.inpaint(img, m, method="criminisi", device="cpu", return_info=True)[1]

        runs = median_runs(run, repeats)
        med, cpu = runs.median_s, sum(runs.cpu) / repeats
        t = info.timings
        rows.append(dict(
            family=FAMILY, kernel=f"inpaint (whole fill), {threads} thread(s)", device="cpu",
            size=f"{n}x{n}x3, p=9, {holes} hole px", median_s=med, throughput=holes / med,
            unit="hole px/s",
            notes=f"{info.steps} steps; process CPU time {cpu:.3f} s/run; search "
                  f"{t['search']:.3f} s, priority {t['priority']:.3f} s, fill {t['fill']:.3f} s, "
                  f"select {t['select']:.3f} s (last run); runs "
                  f"{', '.join(f'{x:.3f}' for x in runs.wall)}; {_load()}",
        ))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    # first call in a fresh process: cold (empty JIT cache) and with the cache written by it
    with empty_numba_cache() as env:
        cold = _child(n, False, env)
        hot = _child(n, False, env)
        mem = _child(n, True, env)
    rows[0]["first_call_s"] = hot["first_s"]
    rows[0]["peak_mem_mb"] = mem["traced_mb"]
    rows[0]["notes"] += (
        f"; first call in a fresh process {hot['first_s']:.2f} s with the JIT cache on disk, "
        f"{cold['first_s']:.2f} s cold (empty cache: compiles every kernel); import "
        f"{hot['import_s']:.2f} s; peak memory of the fill {mem['traced_mb']:.1f} MB "
        f"(tracemalloc: NumPy arrays), process peak RSS {mem['rss1_mb']:.0f} MB "
        f"(Python + NumPy + Numba/LLVM)"
    )
    return rows


def _states(n: int, every: int):
    """The search inputs of every ``every``-th step of the fill of the benchmark case."""
    from imgkit.kernels import criminisi as kc

    import imgkit

    img, m = _case(n)
    calls = []
    orig = kc.masked_ssd_search

    def spy(*args, **kw):
        if spy.k % every == every // 2:
            calls.append(([a.copy() if isinstance(a, np.ndarray) else a for a in args], kw))
        spy.k += 1
        return orig(*args, **kw)

    spy.k = 0
    kc.masked_ssd_search = spy
    try:
        imgkit.inpaint(img, m, method="criminisi")
    finally:
        kc.masked_ssd_search = orig
    return calls


def _work(features, valid, known, ty, tx):
    H, W = features.shape[1:]
    p = H - valid.shape[0] + 1
    yy, xx = np.mgrid[ty : ty + p, tx : tx + p]
    inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
    K = int(known[yy[inside], xx[inside]].sum())
    return int(valid.sum()) * K, K


def _kernel_rows(n: int, repeats: int) -> list[dict]:
    from imgkit.kernels import criminisi as kc

    states = _states(n, 150)  # six states spread over the fill
    C, H, W = states[0][0][0].shape
    p = H - states[0][0][1].shape[0] + 1
    cands = int(states[0][0][1].sum())
    size = f"{n}x{n}x{C}, p={p}, {cands} candidates, {len(states)} fill states"
    work = t_kernel = 0.0
    results = []
    for args, kw in states:
        kc.masked_ssd_search(*args, **kw)
        med = median_runs(lambda args=args, kw=kw: kc.masked_ssd_search(*args, **kw),
                          max(repeats, 7)).median_s
        t_kernel += med
        work += _work(*args[:5])[0]
        results.append(kc.masked_ssd_search(*args, **kw))
    rows = [dict(family=FAMILY, kernel="masked_ssd_search", device="cpu", size=size,
                 median_s=t_kernel / len(states), throughput=work / t_kernel / 1e9,
                 unit="G cand-px/s (effective)",
                 notes=f"Numba CPU, pruned SIMD; mean over the states of the median per call; "
                       f"effective = valid candidates x known target pixels / time; {_load()}")]
    try:
        sys.path.insert(0, str(ROOT))
        from benchmarks.reference.naive_criminisi import _search
    except ImportError as exc:  # pragma: no cover - benchmarks run from a checkout
        rows.append(dict(family=FAMILY, kernel="masked_ssd_search", device="numpy", size=size,
                         median_s=None, throughput=None, unit="", notes=f"skipped: {exc}"))
        return rows
    t_np = 0.0
    for (args, _), res in zip(states, results):
        features, valid, known, ty, tx = args[:5]
        F = np.ascontiguousarray(features.transpose(1, 2, 0)).astype(np.int32)
        offs, target = [], []
        for dy in range(p):
            for dx in range(p):
                y, x = ty + dy, tx + dx
                if 0 <= y < H and 0 <= x < W and known[y, x]:
                    offs.append((dy, dx))
                    target.append(F[y, x])
        target = np.array(target)
        full = (0, valid.shape[0], 0, valid.shape[1])
        assert tuple(_search(F, valid, target, offs, full)) == tuple(res)
        t = time.perf_counter()
        _search(F, valid, target, offs, full)
        t_np += time.perf_counter() - t
    rows.append(dict(family=FAMILY, kernel="masked_ssd_search", device="numpy", size=size,
                     median_s=t_np / len(states), throughput=work / t_np / 1e9, unit="G cand-px/s",
                     notes=f"reference: benchmarks/reference/naive_criminisi.py exhaustive vectorised int64 "
                           f"SSD "
                           f"on the same states (one run each), same results; the kernel is "
                           f"{t_np / t_kernel:.0f}x faster"))
    return rows


def _reference_rows(quick: bool) -> list[dict]:
    import importlib.util

    rows = [dict(family=FAMILY, kernel="PyPI 'criminisi' package", device="cpu", size="",
                 median_s=None, throughput=None, unit="",
                 notes="skipped: `pip install criminisi` finds no distribution on this "
                       "machine's package index")]
    if importlib.util.find_spec("exemplar_based_inpainting") is None:
        rows.append(dict(family=FAMILY, kernel="exemplar-based-inpainting 0.2.0 (PyPI)",
                         device="cpu", size="", median_s=None, throughput=None, unit="",
                         notes="skipped: not installed (pip install --no-deps "
                               "exemplar-based-inpainting rich)"))
        return rows
    import cv2
    from exemplar_based_inpainting.inpainter import Inpainter

    import imgkit

    n = 128  # about 20 ms per step: larger cases take minutes (and 256² hits an IndexError)
    img, m = _case(n)
    bgr = cv2.cvtColor(np.round(img * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    inp = Inpainter(patch_size=9, search_original_source_only=True, search_color_space="lab",
                    show_progress_bar=False)
    t = time.perf_counter()
    try:
        inp.inpaint(bgr, m.astype(np.uint8) * 255)
    except Exception as exc:  # a third-party reference row must not sink the benchmark
        rows.append(dict(family=FAMILY, kernel="exemplar-based-inpainting 0.2.0 (PyPI)",
                         device="cpu", size=f"{n}x{n}x3", median_s=None, throughput=None,
                         unit="", notes=f"failed: {type(exc).__name__}: {exc}"))
        return rows
    dt = time.perf_counter() - t
    imgkit.inpaint(img, m, method="criminisi")
    ours = median_runs(lambda: imgkit.inpaint(img, m, method="criminisi"), 3).median_s
    rows.append(dict(family=FAMILY, kernel="exemplar-based-inpainting 0.2.0 (PyPI)", device="cpu",
                     size=f"{n}x{n}x3, p=9, {int(m.sum())} hole px", median_s=dt,
                     throughput=int(m.sum()) / dt, unit="hole px/s",
                     notes=f"one run; {inp.iter} steps, {dt / inp.iter * 1e3:.1f} ms/step "
                           f"(masked cv2.matchTemplate per step); imgkit criminisi on the same "
                           f"case: {ours:.3f} s ({dt / ours:.0f}x faster); {_load()}"))
    return rows


def _gpu_rows(quick: bool) -> list[dict]:
    from imgkit.device import cuda_simulator, gpu_status

    ok, why = gpu_status("numba")
    if not ok or cuda_simulator():
        return [dict(family=FAMILY, kernel="inpaint (whole fill), CUDA", device="cuda", size="",
                     median_s=None, throughput=None, unit="",
                     notes=f"skipped: {why if not ok else 'CUDA simulator is on'}")]
    import cupy

    import imgkit

    rows = []
    for n in ((512,) if quick else (512, 2048)):
        img, m = _case(n)
        gi, gm = cupy.asarray(img), cupy.asarray(m)
        imgkit.inpaint(gi, gm, method="criminisi")
        cupy.cuda.Device().synchronize()

        def run(gi=gi, gm=gm):
            imgkit.inpaint(gi, gm, method="criminisi")

        med = median_runs(run, 1 if n > 512 else 3, sync=cupy.cuda.Device().synchronize).median_s
        rows.append(dict(family=FAMILY, kernel="inpaint (whole fill), CUDA", device="cuda",
                         size=f"{n}x{n}x3, p=9, {int(m.sum())} hole px", median_s=med,
                         throughput=int(m.sum()) / med, unit="hole px/s",
                         notes=cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()))
    return rows


def kernel_rows(quick: bool) -> list[dict]:
    """Speed rows of the Criminisi family (see the module docstring)."""
    n = 256 if quick else 512
    repeats = 3 if quick else 5
    rows = _fill_rows(n, repeats)
    rows += _kernel_rows(n, repeats)
    rows += _reference_rows(quick)
    rows += _gpu_rows(quick)
    return rows


def main(argv: list[str] | None = None) -> None:
    speed_main(kernel_rows, "speed_criminisi", "Criminisi speed", argv, doc=__doc__,
               quick_help="256x256 case, fewer repeats")


if __name__ == "__main__":
    main()
