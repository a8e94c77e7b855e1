"""Speed of the PatchMatch NNF kernels (kernels/patchmatch.py), the voting kernel
(kernels/voting.py) and PatchMatch completion (``imgkit.inpaint(..., method="patchmatch")``).

Rows: the CPU kernel on 512×512 ↔ 512×512 RGB, patch 7, 5 iterations (the issue's target:
≤ 0.5 s warm on 2 cores), the same with the sequential scan (one band), full patch-distance
throughput of the kernel against the brute-force NumPy reference (benchmarks/reference/naive_patchmatch.py)
on a small size, the vote of a completion-sized hole, completion of a 512×512 photo with a
10 % blob hole (the issue's target: ≤ 1 s warm) and of a 256×256 one, each also on one thread
(NUMBA_NUM_THREADS-independent figure, less sensitive to a shared machine), and the CUDA twins
when a real GPU is present.

Warm figures are medians of repeated runs after a warm-up; ``first_call_s`` is measured in a
fresh process with an empty Numba cache (JIT compile included); ``peak_mem_mb`` is that
process's peak resident set size (interpreter, NumPy, Numba and LLVM included).

Run ``python -m benchmarks.speed.speed_patchmatch [--quick] [--out DIR]``; writes
``benchmarks/results/speed_patchmatch[_quick].md`` and ``.json``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from ._harness import empty_numba_cache, fresh_process, kernel_row, load_text, median_runs, speed_main

FAMILY = "patchmatch"
_PATCH = 7
_ITERS = 5


def _load() -> str:
    return load_text("load", 1)


def _images(n: int):
    from imgkit import data

    return data.photo("chelsea", n), data.photo("astronaut", n)


_CPU: dict[str, float] = {}


def _median(fn, repeats: int) -> float:
    """Median wall seconds after a warm-up; the median process CPU seconds (all threads) go to
    ``_CPU["last"]``, a figure that shared-machine contention inflates much less than wall time."""
    runs = median_runs(fn, repeats, warmup=True)
    _CPU["last"] = runs.cpu_s
    return runs.median_s


def _cpu_note() -> str:
    return f"CPU time {_CPU['last']:.3f} s (all threads)"


_FRESH = """
import resource, sys, time
t0 = time.perf_counter()
from imgkit import data
from imgkit.kernels import patchmatch as pm
T, S = data.photo("chelsea", {n}), data.photo("astronaut", {n})
t = time.perf_counter()
pm.patchmatch(T, S, {p}, iterations={it}, seed=0)
first = time.perf_counter() - t
print(first, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


_FRESH_COMPLETION = """
import resource, sys, time
import imgkit
from imgkit import data
img, mask = data.photo("astronaut", {n}), data.mask("blobs", ({n}, {n}), area=0.10)
t = time.perf_counter()
imgkit.inpaint(img, mask, method="patchmatch", seed=0, device="cpu")
first = time.perf_counter() - t
print(first, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


def _fresh_process(n: int, code: str = _FRESH) -> tuple[float | None, float | None]:
    """First call (JIT compile with an empty cache) and peak RSS in a fresh interpreter."""
    with empty_numba_cache() as env:
        try:
            out = fresh_process(["-c", code.format(n=n, p=_PATCH, it=_ITERS)], env=env, timeout=600).split()
            return float(out[0]), float(out[1])
        except (subprocess.SubprocessError, IndexError, ValueError):
            return None, None


def _row(kernel, device, size, median_s, throughput, unit, notes, first=None, peak=None) -> dict:
    return kernel_row(FAMILY, kernel, device, size, median_s, throughput, unit, notes, first, peak, digits=3)


def kernel_rows(quick: bool) -> list[dict]:
    """Benchmark rows (see the module docstring); ``quick`` uses 128×128 and fewer repeats."""
    import numba
    from imgkit.kernels import config
    from imgkit.kernels import patchmatch as pm

    n = 128 if quick else 512
    repeats = 3 if quick else 7
    T, S = _images(n)
    threads = numba.get_num_threads()
    size = f"{n}x{n}<-{n}x{n}x3 P{_PATCH} it{_ITERS}"
    rows = []

    first, peak = (None, None) if quick else _fresh_process(n)
    t_band = _median(lambda: pm.patchmatch(T, S, _PATCH, iterations=_ITERS, seed=0), repeats)
    cpu_note = _cpu_note()
    _, dist = pm.patchmatch(T, S, _PATCH, iterations=_ITERS, seed=0)
    rows.append(_row(
        "patchmatch (banded parallel)", "cpu", size, t_band, n * n * _ITERS / t_band / 1e6, "Mpx·it/s",
        f"{threads} threads, band_rows={config.PM_BAND_ROWS}, mean dist {float(dist.mean()):.5f}; "
        f"{cpu_note}; {_load()}", first, peak,
    ))
    t_seq = _median(lambda: pm.patchmatch(T, S, _PATCH, iterations=_ITERS, seed=0, band_rows=n), repeats)
    _, dist_seq = pm.patchmatch(T, S, _PATCH, iterations=_ITERS, seed=0, band_rows=n)
    rows.append(_row(
        "patchmatch (sequential scan)", "cpu", size, t_seq, n * n * _ITERS / t_seq / 1e6, "Mpx·it/s",
        f"one band = the paper's scan on 1 thread, mean dist {float(dist_seq.mean()):.5f}; "
        f"{_cpu_note()}; {_load()}",
    ))

    # full patch distances per second: kernel vs brute-force NumPy reference
    field = pm.random_nnf((n, n), pm.valid_centres(np.ones((n, n), bool), _PATCH), seed=0)
    t_pd = _median(lambda: pm.patch_distances(T, S, _PATCH, field), repeats)
    rows.append(_row(
        "patch_distances", "cpu", f"{n}x{n} P{_PATCH} C3", t_pd, n * n / t_pd / 1e6, "M dist/s",
        f"one full distance per target pixel, {threads} threads; {_cpu_note()}; {_load()}",
    ))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.reference import naive_patchmatch as nv

    m = 24 if quick else 40
    Ts, Ss = _images(m)
    t_ref = _median(lambda: nv.exact_nnf(Ts, Ss, _PATCH), 3)
    n_src = (m - _PATCH + 1) ** 2
    rows.append(_row(
        "exact_nnf (NumPy reference)", "cpu", f"{m}x{m}<-{m}x{m}x3 P{_PATCH}", t_ref,
        m * m * n_src / t_ref / 1e6, "M dist/s", f"brute force, BLAS float64; {_load()}",
    ))

    rows += _completion_rows(quick, repeats, threads)

    from imgkit.device import cuda_simulator, gpu_status

    ok, why = gpu_status("numba")
    if ok and not cuda_simulator():  # pragma: no cover - needs a GPU
        import cupy

        Tg, Sg = cupy.asarray(T), cupy.asarray(S)

        def run_gpu():
            pm.patchmatch(Tg, Sg, _PATCH, iterations=_ITERS, seed=0, device="cuda")
            cupy.cuda.Device().synchronize()

        t_gpu = _median(run_gpu, repeats)
        rows.append(_row(
            "patchmatch (jump flood)", "cuda", size, t_gpu, n * n * _ITERS / t_gpu / 1e6, "Mpx·it/s",
            cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
        ))
    else:
        rows.append(_row("patchmatch (jump flood)", "cuda", size, None, None, "Mpx·it/s",
                         f"skipped: {why}"))
    return rows


def _completion_rows(quick: bool, repeats: int, threads: int) -> list[dict]:
    """The vote kernel and whole completions (``imgkit.inpaint(..., method="patchmatch")``)."""
    import numba
    from imgkit.kernels import patchmatch as pm
    from imgkit.kernels import voting

    import imgkit
    from imgkit import data

    rows = []
    # the vote of a finest-level step: a 10 % blob hole of a 512×512 image, its crop, mean shift
    n = 128 if quick else 512
    src = data.photo("astronaut", n)
    hole = data.mask("blobs", (n, n), area=0.10)
    ys, xs = np.nonzero(hole)
    box = (slice(max(ys.min() - 6, 0), ys.max() + 7), slice(max(xs.min() - 6, 0), xs.max() + 7))
    field = pm.random_nnf(hole[box].shape, pm.valid_centres(~hole, _PATCH), seed=0)
    lw = -np.random.default_rng(0).random(hole[box].shape).astype(np.float32)
    tgt = np.ascontiguousarray(src[box])
    t_vote = _median(lambda: voting.vote(tgt, src, field, lw, _PATCH, vote_mask=hole[box], mode="meanshift",
                                         bandwidth=0.05), repeats)
    nv = int(hole.sum())
    rows.append(_row("vote (mean + 1 mean-shift pass)", "cpu", f"{nv} px of {n}x{n}x3 P{_PATCH}", t_vote,
                     nv / t_vote / 1e6, "Mpx/s", f"{threads} threads; {_cpu_note()}; {_load()}"))

    sizes = (128,) if quick else (512, 256)
    for n in sizes:
        img, mask = data.photo("astronaut", n), data.mask("blobs", (n, n), area=0.10)

        def run(img=img, mask=mask):
            imgkit.inpaint(img, mask, method="patchmatch", seed=0, device="cpu")

        first, peak = (None, None) if quick or n != 512 else _fresh_process(n, _FRESH_COMPLETION)
        t = _median(run, repeats)
        size = f"{n}x{n}x3, blob hole {mask.mean():.1%}"
        rows.append(_row("completion (inpaint patchmatch, defaults)", "cpu", size, t, 1 / t, "images/s",
                         f"{threads} threads; astronaut; {_cpu_note()}; {_load()}", first, peak))
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            t1 = _median(run, repeats)
        finally:
            numba.set_num_threads(before)
        rows.append(_row("completion (inpaint patchmatch, defaults)", "cpu (1 thread)", size, t1, 1 / t1,
                         "images/s", f"1 thread; {_cpu_note()}; {_load()}"))

    from imgkit.device import cuda_simulator, gpu_status

    ok, why = gpu_status("numba")
    n = sizes[0]
    size = f"{n}x{n}x3, blob hole 10%"
    if ok and not cuda_simulator():  # pragma: no cover - needs a GPU
        import cupy

        img = cupy.asarray(data.photo("astronaut", n))
        mask = cupy.asarray(data.mask("blobs", (n, n), area=0.10))

        def run_gpu():
            imgkit.inpaint(img, mask, method="patchmatch", seed=0, device="cuda")
            cupy.cuda.Device().synchronize()

        t = _median(run_gpu, repeats)
        rows.append(_row("completion (inpaint patchmatch, defaults)", "cuda", size, t, 1 / t, "images/s",
                         cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()))
    else:
        rows.append(_row("completion (inpaint patchmatch, defaults)", "cuda", size, None, None, "images/s",
                         f"skipped: {why}"))
    return rows


def main(argv: list[str] | None = None) -> None:
    speed_main(kernel_rows, "speed_patchmatch", "PatchMatch kernel speed", argv, doc=__doc__,
               quick_help="128×128, fewer repeats, no fresh process",
               suffix=lambda args: "_quick" if args.quick else "")


if __name__ == "__main__":
    main()
