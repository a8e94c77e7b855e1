"""Kernel builds: one serial nogil build per driver run part by part on a thread pool, small
problems on one thread, separate plain and weighted PatchMatch drivers (a call compiles only the
family it uses), and the one-line notice while compiling.

Numba keys its on-disk cache on the function (module, qualified name, line), the signature, the
CPU and the bytecode, not on ``parallel=True``; every build here therefore has its own qualified
name.
"""

import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from imgkit.kernels import _jit, config, patchmatch, voting
from imgkit.kernels.patchmatch import _cpu as pm_cpu

BUILDS = [
    (pm_cpu, "_patchmatch_plain"),
    (pm_cpu, "_patchmatch_pixelw"),
    (pm_cpu, "_patchmatch_weighted"),
    (pm_cpu, "_distances_plain"),
    (pm_cpu, "_distances_pixelw"),
    (pm_cpu, "_distances_weighted"),
    (voting, "_vote_cpu"),
]


@pytest.mark.parametrize(("module", "name"), BUILDS, ids=[b[1] for b in BUILDS])
def test_one_serial_nogil_build_per_driver_with_its_own_name(module, name):
    kernel = getattr(module, name)
    kernel = getattr(kernel, "part", kernel)  # the PatchMatch drivers: Python loop + one build
    assert kernel.targetoptions.get("nogil")
    assert not kernel.targetoptions.get("parallel")  # no prange lowering to compile
    assert kernel.py_func.__qualname__ == name  # its own cache entry
    # no sequential twins to compile as well
    assert not any(hasattr(module, n) for n in ("_patchmatch_seq", "_distances_seq", "_vote_seq"))


def test_plain_and_weighted_drivers_bind_their_own_scans():
    for kind in ("plain", "pixelw", "weighted"):
        for driver in ("_patchmatch", "_distances"):
            g = getattr(pm_cpu, f"{driver}_{kind}").part.py_func.__globals__
            assert g["_scan_band"] is getattr(pm_cpu, f"_scan_band_{kind}")
            assert g["_row_distances"] is getattr(pm_cpu, f"_row_distances_{kind}")


def test_run_parts_uses_the_thread_count_and_one_thread_for_small_problems(monkeypatch):
    @numba.njit(nogil=True)
    def part(out, k, n):
        for i in range(k, out.shape[0], n):
            out[i] = n * 100 + k

    monkeypatch.setattr(config, "PM_PARALLEL_MIN_PIXELS", 100)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        out = np.zeros(5, np.int64)
        _jit.run_parts(part, 99, out)
        assert (out == 100).all()  # one part of one
        _jit.run_parts(part, 100, out)
        np.testing.assert_array_equal(out, [200, 201, 200, 201, 200])  # parts 0 and 1 of 2
    finally:
        numba.set_num_threads(n0)


def test_run_parts_raises_the_error_of_a_part():
    def part(out, k, n):
        if k == 1:
            raise ValueError("part 1 failed")
        out[k] = 1

    part.overloads = {1: None}  # stands in for a compiled Numba build (no notice check)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        with pytest.raises(ValueError, match="part 1 failed"):
            _jit.run_parts(part, 10**9, np.zeros(2))
    finally:
        numba.set_num_threads(n0)


def test_threaded_results_do_not_depend_on_the_small_problem_path(monkeypatch):
    rng = np.random.default_rng(3)
    T = rng.random((40, 40, 3), dtype=np.float32)
    w = rng.random((40, 40)).astype(np.float32)
    monkeypatch.setattr(config, "PM_PARALLEL_MIN_PIXELS", 10**9)  # one thread
    a = patchmatch.patchmatch(T, T[::-1].copy(), 7, pixel_weights=w, iterations=2, seed=5, band_rows=8)
    monkeypatch.setattr(config, "PM_PARALLEL_MIN_PIXELS", 1)  # the whole team
    b = patchmatch.patchmatch(T, T[::-1].copy(), 7, pixel_weights=w, iterations=2, seed=5, band_rows=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_compile_notice_once_per_process(capsys, monkeypatch):
    monkeypatch.setitem(_jit._NOTICE, "shown", False)

    @numba.njit  # not cached: it always has to compile
    def add_one(x):
        return x + 1

    assert _jit.compile_notice(add_one, 1) == 2
    assert "compiling imgkit kernels, once per install" in capsys.readouterr().err

    @numba.njit
    def add_two(x):
        return x + 2

    assert _jit.compile_notice(add_two, 1) == 3
    assert capsys.readouterr().err == ""  # once per process


def test_a_cached_serial_build_never_serves_the_threaded_one(tmp_path):
    """The failure itself, end to end with a fresh cache directory: a process that compiled only
    the sequential build leaves its cache file; a second process must then *compile* the
    threaded build (a cache miss), not load the sequential code, and load only the sequential
    build from the cache. (The PatchMatch and voting kernels no longer need sequential twins; the
    helper stays for kernels that do.)"""
    (tmp_path / "twin_kernel.py").write_text(textwrap.dedent("""
        import sys

        import numba
        import numpy as np
        from imgkit.kernels._jit import parallel_and_serial

        def body(a):
            s = 0.0
            for i in numba.prange(a.shape[0]):
                s += a[i]
            return s

        par, seq = parallel_and_serial(body)
        a = np.arange(1000, dtype=np.float64)
        for name in sys.argv[1:]:
            fn = par if name == "par" else seq
            assert fn(a) == a.sum()
            hits, misses = fn.stats.cache_hits, fn.stats.cache_misses
            print(name, sum(hits.values()), sum(misses.values()))
    """))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}

    def run(*names):
        out = subprocess.run([sys.executable, "-c", "import sys, runpy; "
                              "runpy.run_module('twin_kernel', run_name='__main__')", *names],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        return {line.split()[0]: tuple(map(int, line.split()[1:])) for line in out.stdout.splitlines()}

    assert run("seq") == {"seq": (0, 1)}  # (cache hits, cache misses): compiled and saved
    assert run("par", "seq") == {"par": (0, 1), "seq": (1, 0)}
    index = sorted(p.name for p in (tmp_path / "cache").rglob("*.nbi"))
    assert len(index) == 2 and sum("body__serial" in n for n in index) == 1, index
