"""Compile one Python kernel body more than once: :func:`rebind` (a copy with other globals or
another name, e.g. a CUDA device-function build) and :func:`parallel_and_serial`; and
:func:`threaded_call`, which runs a ``parallel=True`` build on one thread for small problems (so
a kernel needs one threaded build only, not a sequential twin as well: half the compile time).

``parallel_and_serial``: threaded (``parallel=True``) and sequential builds of one body.

Numba's on-disk cache names its entries after the Python function (module, qualified name, first
line) and keys them on the signature, the CPU and the bytecode, not on the ``parallel`` flag. Two
dispatchers built from the same function object therefore share one cache entry, and whichever
compiles first serves both: a sequential build cached by a small problem silently replaced the
threaded kernel in every later process (2x slower on 2 cores). The sequential twin here is a copy
of the function under another qualified name, so each build has its own cache entry.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import numba

from . import config


def rebind(fn: Callable[..., Any], namespace: dict[str, Any] | None = None, name: str | None = None
           ) -> Callable[..., Any]:
    """A copy of the Python function ``fn`` that resolves its globals in ``namespace`` (default:
    ``fn``'s own) and, with ``name``, carries that name and qualified name. The kernels compile
    one Python source several ways (CPU njit, CUDA device function, host Python) by giving each
    copy the helpers of its own target."""
    twin = types.FunctionType(fn.__code__, fn.__globals__ if namespace is None else namespace,
                              name or fn.__name__, fn.__defaults__, fn.__closure__)
    if name is not None:
        twin.__qualname__ = fn.__qualname__[: len(fn.__qualname__) - len(fn.__name__)] + name
    return twin


def prange_only() -> Any:
    """``parallel=`` options that parallelise the explicit ``prange`` loops only.

    ``parallel=True`` also turns array expressions, slice assignments, NumPy calls and
    comprehensions into parallel loops, each compiled as one more threaded function (seconds of
    JIT time on a cold cache) although the kernels' own loops are all ``prange``. A
    ``ParallelOptions`` object, not a dict: Numba empties a dict of options when it first
    compiles, so a later signature (and ``targetoptions``) would see ``parallel={}``, i.e. every
    parallel pass on."""
    from numba.core.cpu_options import ParallelOptions

    return ParallelOptions({"comprehension": False, "reduction": False, "inplace_binop": False,
                            "setitem": False, "numpy": False, "stencil": False, "fusion": False,
                            "prange": True})


def parallel_and_serial(py_func: Callable[..., Any], **options: Any) -> tuple[Any, Any]:
    """``(numba.njit(parallel=True, cache=True, **options)(f), numba.njit(cache=True, **options)(f'))``
    where ``f'`` is ``f`` under the name ``<name>__serial`` (its own cache entry)."""
    twin = rebind(py_func, name=py_func.__name__ + "__serial")
    return (numba.njit(parallel=True, cache=True, **options)(py_func),
            numba.njit(cache=True, **options)(twin))


def threaded_call(kernel: Any, work: int, *args: Any) -> Any:
    """``kernel(*args)`` (a ``parallel=True`` build), on one thread when ``work`` (the pixels to
    solve or vote) is below ``config.PM_PARALLEL_MIN_PIXELS``.

    Waking the thread team costs more than a small problem saves (about 2 ms a region on a busy
    2-core machine), while a parallel region on a team of one costs about a microsecond (OpenMP
    layer), so small problems run the same build with ``numba.set_num_threads(1)`` (restored
    afterwards) instead of a sequential twin that would have to be compiled too. Results never
    depend on the thread count."""
    n = numba.get_num_threads()
    if work >= config.PM_PARALLEL_MIN_PIXELS or n == 1:
        return compile_notice(kernel, *args)
    numba.set_num_threads(1)
    try:
        return compile_notice(kernel, *args)
    finally:
        numba.set_num_threads(n)


_NOTICE = {"shown": False}


def compile_notice(kernel: Any, *args: Any) -> Any:
    """``kernel(*args)``; before the first call that has to compile (no build for these argument
    types in memory, none in Numba's on-disk cache either) one line goes to stderr, once per
    process: compiling takes seconds, once per install (approximate: an index entry for other
    argument types counts as cached)."""
    if not _NOTICE["shown"] and not kernel.overloads:
        try:  # a fresh on-disk cache index of this kernel (Numba internals)
            cached = bool(kernel._cache._cache_file._load_index())
        except Exception:  # internals differ: say it anyway
            cached = False
        if not cached:
            _NOTICE["shown"] = True
            print("compiling imgkit kernels, once per install (a few seconds)…", file=sys.stderr,
                  flush=True)
    return kernel(*args)
