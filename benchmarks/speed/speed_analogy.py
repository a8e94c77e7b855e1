"""Speed of image analogies (imgkit.analogy, method "hertzmann"; kernels/analogy.py + the PatchMatch
engine).

Rows: the default (approximate, PatchMatch) mode with A and B 256×256 (issue 17's target: ≤ 1 s
warm on 2 threads, linear transfer and vote included), exact mode on 64×64, the brute-force NumPy
reference (benchmarks/reference/naive_analogy.py) on a tiny case for scale, and the CUDA path when
a real GPU is present. The filter learnt is a Gaussian blur (σ = 2) of astronaut, applied to
coffee; the notes give the luminance PSNR of B′ against the true blur of B.

Warm figures are medians of repeated runs after a warm-up; ``first_call_s`` is measured in a
fresh process with an empty Numba cache (JIT compile of the analogy kernels and the PatchMatch
engine included); ``peak_mem_mb`` is that process's peak resident set size (interpreter, NumPy,
Numba and LLVM included). Notes carry the median process CPU seconds (all threads), which the
shared machine's load inflates less than wall time, and the load average.

Run ``python -m benchmarks.speed.speed_analogy [--quick] [--out DIR]``; writes
``benchmarks/results/speed_analogy[_quick].md`` and ``.json``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from ._harness import ROOT, empty_numba_cache, fresh_process, kernel_row, load_text, median_runs, speed_main

FAMILY = "analogy"


def _load() -> str:
    return load_text("load", 1)


def _blur(img):
    from skimage.filters import gaussian

    return gaussian(img, sigma=2, channel_axis=-1).astype(np.float32)


def _case(n: int):
    from imgkit import data

    a, b = data.photo("astronaut", n), data.photo("coffee", n)
    return a, _blur(a), b


def _psnr_y(bp, b) -> float:
    from imgkit._color import luminance

    truth = luminance(_blur(b))
    return float(10 * np.log10(1.0 / np.mean((luminance(np.asarray(bp)) - truth) ** 2)))


_FRESH = """
import time
from benchmarks.speed._mem import peak_rss_mb
import numpy as np
from skimage.filters import gaussian
import imgkit
from imgkit import data
a, b = data.photo("astronaut", {n}), data.photo("coffee", {n})
ap = gaussian(a, sigma=2, channel_axis=-1).astype(np.float32)
t = time.perf_counter()
imgkit.analogy(a, ap, b, seed=0, exact={exact}, device="cpu")
print(time.perf_counter() - t, peak_rss_mb())
"""


def _fresh_process(n: int, exact: bool) -> tuple[float | None, float | None]:
    """First call (JIT compile with an empty Numba cache) and peak RSS in a fresh interpreter."""
    with empty_numba_cache() as env:
        try:
            out = fresh_process(["-c", _FRESH.format(n=n, exact=exact)], env=env, timeout=900).split()
            return float(out[0]), float(out[1])
        except (subprocess.SubprocessError, IndexError, ValueError):
            return None, None


def _row(kernel, device, size, median_s, throughput, unit, notes, first=None, peak=None) -> dict:
    return kernel_row(FAMILY, kernel, device, size, median_s, throughput, unit, notes, first, peak)


def _phases(info) -> str:
    t = info.timings
    return ", ".join(f"{k} {t[k]:.3f} s" for k in ("patchmatch", "scanline", "transfer") if k in t)


def kernel_rows(quick: bool) -> list[dict]:
    """Benchmark rows (see the module docstring); ``quick`` uses 128² / 32² and fewer repeats."""
    import numba

    import imgkit

    n_app = 128 if quick else 256
    n_ex = 32 if quick else 64
    repeats = 3 if quick else 5
    threads = numba.get_num_threads()
    rows = []

    # default (approximate) mode
    a, ap, b = _case(n_app)
    first, peak = (None, None) if quick else _fresh_process(n_app, False)
    runs = median_runs(lambda: imgkit.analogy(a, ap, b, seed=0, device="cpu"), repeats, warmup=True)
    t_app, cpu = runs.median_s, runs.cpu_s
    bp, info = imgkit.analogy(a, ap, b, seed=0, device="cpu", return_info=True)
    rows.append(_row(
        "analogy hertzmann (PatchMatch search)", "cpu", f"A {n_app}x{n_app}, B {n_app}x{n_app}", t_app,
        n_app * n_app / t_app / 1e6, "Mpx/s (B)",
        f"{threads} threads, {info.levels} levels, pm_iterations 4; {_phases(info)}; "
        f"PSNR(Y) vs blur(B) {_psnr_y(bp, b):.2f} dB; CPU time {cpu:.3f} s; {_load()}", first, peak,
    ))

    # exact mode
    a, ap, b = _case(n_ex)
    first, peak = (None, None) if quick else _fresh_process(n_ex, True)
    runs = median_runs(lambda: imgkit.analogy(a, ap, b, seed=0, exact=True, device="cpu"),
                       max(2, repeats - 2), warmup=True)
    t_ex, cpu = runs.median_s, runs.cpu_s
    bp, info = imgkit.analogy(a, ap, b, seed=0, exact=True, device="cpu", return_info=True)
    rows.append(_row(
        "analogy hertzmann (exact)", "cpu", f"A {n_ex}x{n_ex}, B {n_ex}x{n_ex}", t_ex,
        n_ex * n_ex / t_ex / 1e6, "Mpx/s (B)",
        f"{threads} threads, {info.levels} levels, exhaustive search; PSNR(Y) {_psnr_y(bp, b):.2f} dB; "
        f"CPU time {cpu:.3f} s; {_load()}", first, peak,
    ))

    # NumPy reference, for scale
    sys.path.insert(0, str(ROOT))
    from benchmarks.reference import naive_analogy as nv
    from imgkit._color import luminance

    m = 16
    a, ap, b = _case(m)
    ya, yap, yb = luminance(a), luminance(ap), luminance(b)
    t_ref = median_runs(lambda: nv.exact_analogy(ya, yap, yb, levels=2, kappa=1.0), 2, warmup=True).median_s
    t_k = median_runs(lambda: imgkit.analogy(a, ap, b, seed=0, exact=True, levels=2, device="cpu"), 3,
                      warmup=True).median_s
    rows.append(_row(
        "exact_analogy (NumPy reference)", "cpu", f"A {m}x{m}, B {m}x{m}, 2 levels", t_ref,
        m * m / t_ref / 1e6, "Mpx/s (B)", f"vectorised over A, loops over B; the exact kernel: "
        f"{t_k:.4f} s on the same case; {_load()}",
    ))

    from imgkit.device import cuda_simulator, gpu_status

    ok, why = gpu_status("numba")
    if ok and not cuda_simulator():  # pragma: no cover - needs a GPU
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        for label, n, exact in (("PatchMatch search", n_app, False), ("exact", n_ex, True)):
            a, ap, b = (cupy.asarray(x) for x in _case(n))

            def run_gpu(a=a, ap=ap, b=b, exact=exact):
                imgkit.analogy(a, ap, b, seed=0, exact=exact, device="cuda")

            t_gpu = median_runs(run_gpu, repeats, warmup=True, sync=cupy.cuda.Device().synchronize).median_s
            rows.append(_row(f"analogy hertzmann ({label})", "cuda", f"A {n}x{n}, B {n}x{n}", t_gpu,
                             n * n / t_gpu / 1e6, "Mpx/s (B)", name))
    else:
        for label, n in (("PatchMatch search", n_app), ("exact", n_ex)):
            rows.append(_row(f"analogy hertzmann ({label})", "cuda", f"A {n}x{n}, B {n}x{n}", None, None,
                             "Mpx/s (B)", f"skipped: {why}"))
    return rows


def main(argv: list[str] | None = None) -> None:
    speed_main(kernel_rows, "speed_analogy", "Image analogies speed", argv, doc=__doc__,
               quick_help="128² / 32², fewer repeats, no fresh process",
               suffix=lambda args: "_quick" if args.quick else "")


if __name__ == "__main__":
    main()
