"""Threaded and sequential builds of one kernel body must not share a Numba cache entry.

Numba keys its on-disk cache on the function (module, qualified name, line), the signature, the
CPU and the bytecode, not on ``parallel=True``. When both builds came from one function object,
whichever compiled first served both from the cache, and the threaded NNF kernel ran on one core.
"""

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
    cache_par, cache_seq = getattr(par, "_cache", None), getattr(seq, "_cache", None)
    if hasattr(cache_par, "_cache_file") and hasattr(cache_seq, "_cache_file"):  # Numba internals
        assert cache_par._cache_file._index_name != cache_seq._cache_file._index_name
