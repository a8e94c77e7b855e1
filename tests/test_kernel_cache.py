"""Kernel builds: one threaded build per driver, small problems on one thread, separate plain and
weighted PatchMatch drivers (a call compiles only the family it uses), and the one-line notice
while compiling.

Numba keys its on-disk cache on the function (module, qualified name, line), the signature, the
CPU and the bytecode, not on ``parallel=True``; every build here therefore has its own qualified
name.
"""

import numba
import numpy as np
import pytest
from imgkit.kernels import _jit, config, patchmatch, voting

BUILDS = [
    (patchmatch, "_patchmatch_plain"),
    (patchmatch, "_patchmatch_weighted"),
    (patchmatch, "_distances_plain"),
    (patchmatch, "_distances_weighted"),
    (voting, "_vote_cpu"),
]


@pytest.mark.parametrize(("module", "name"), BUILDS, ids=[b[1] for b in BUILDS])
def test_one_threaded_build_per_driver_with_its_own_name(module, name):
    kernel = getattr(module, name)
    assert kernel.targetoptions.get("parallel")
    assert kernel.py_func.__qualname__ == name  # its own cache entry
    # no sequential twins to compile as well
    assert not any(hasattr(module, n) for n in ("_patchmatch_seq", "_distances_seq", "_vote_seq"))


def test_plain_and_weighted_drivers_bind_their_own_scans():
    g_plain = patchmatch._patchmatch_plain.py_func.__globals__
    g_weighted = patchmatch._patchmatch_weighted.py_func.__globals__
    assert g_plain["_scan_band"] is patchmatch._scan_band_plain
    assert g_weighted["_scan_band"] is patchmatch._scan_band_weighted
    assert g_plain["_row_distances"] is patchmatch._row_distances_plain
    assert g_weighted["_row_distances"] is patchmatch._row_distances_weighted


def test_small_problems_run_on_one_thread_and_restore_the_count(monkeypatch):
    @numba.njit(parallel=True)
    def threads(out):
        for i in numba.prange(out.shape[0]):
            out[i] = numba.get_num_threads()

    n = numba.get_num_threads()
    out = np.zeros(4, np.int64)
    monkeypatch.setattr(config, "PM_PARALLEL_MIN_PIXELS", 100)
    _jit.threaded_call(threads, 99, out)
    assert (out == 1).all() and numba.get_num_threads() == n
    _jit.threaded_call(threads, 100, out)
    assert (out == n).all() and numba.get_num_threads() == n


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
