"""Threaded and sequential builds of one kernel body must not share a Numba cache entry.

Numba keys its on-disk cache on the function (module, qualified name, line), the signature, the
CPU and the bytecode, not on ``parallel=True``. When both builds came from one function object,
whichever compiled first served both from the cache, and the threaded NNF kernel ran on one core.
"""

import os
import subprocess
import sys
import textwrap

import pytest
from imgkit.kernels import patchmatch, voting

PAIRS = [
    (patchmatch, "_patchmatch_par", "_patchmatch_seq"),
    (patchmatch, "_distances_par", "_distances_seq"),
    (voting, "_vote_par", "_vote_seq"),
]


@pytest.mark.parametrize(("module", "par", "seq"), PAIRS, ids=[p[1] for p in PAIRS])
def test_parallel_and_serial_builds_have_their_own_cache_entries(module, par, seq):
    par, seq = getattr(module, par), getattr(module, seq)
    assert par.targetoptions.get("parallel") and not seq.targetoptions.get("parallel")
    assert par.py_func.__code__ is seq.py_func.__code__  # one body ...
    assert par.py_func.__qualname__ != seq.py_func.__qualname__  # ... two names
    # ... hence two cache index files (Numba's FunctionCache, numba pinned in pyproject.toml)
    index_par, index_seq = par._cache._cache_file._index_name, seq._cache._cache_file._index_name
    assert index_par.endswith(".nbi") and index_seq.endswith(".nbi")
    assert index_par != index_seq


def test_a_cached_serial_build_never_serves_the_threaded_one(tmp_path):
    """The failure itself, end to end with a fresh cache directory: a process that compiled only
    the sequential build leaves its cache file; a second process must then *compile* the
    threaded build (a cache miss), not load the sequential code, and load only the sequential
    build from the cache. ``parallel_and_serial`` is what every CPU kernel family uses."""
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
