"""Compile one Python kernel body more than once: :func:`rebind` (a copy with other globals or
another name, e.g. a CUDA device-function build) and :func:`parallel_and_serial`; and
:func:`run_parts`, which runs a serial ``nogil`` build part by part on a thread pool (the
PatchMatch and voting drivers: no ``prange``, whose parallel lowering costs JIT time, and one
build serves one thread and many), with :func:`compile_notice` saying on stderr when a first
call has to compile.

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
import threading
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def parallel_and_serial(py_func: Callable[..., Any], **options: Any) -> tuple[Any, Any]:
    """``(numba.njit(parallel=True, cache=True, **options)(f), numba.njit(cache=True, **options)(f'))``
    where ``f'`` is ``f`` under the name ``<name>__serial`` (its own cache entry)."""
    twin = rebind(py_func, name=py_func.__name__ + "__serial")
    return (numba.njit(parallel=True, cache=True, **options)(py_func),
            numba.njit(cache=True, **options)(twin))


_POOL: dict[str, Any] = {"pool": None}
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if _POOL["pool"] is None:
            _POOL["pool"] = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                               thread_name_prefix="imgkit-kernel")
        return _POOL["pool"]


def run_parts(kernel: Any, work: int, *args: Any) -> None:
    """``kernel(*args, k, n)`` for ``k`` in ``range(n)``, on ``n`` threads at once: the calling
    thread and ``n - 1`` threads of a pool kept for the process.

    ``n`` is ``numba.get_num_threads()`` (what ``numba.set_num_threads`` and ``NUMBA_NUM_THREADS``
    allow), or 1 when ``work`` (the pixels to solve or vote) is below
    ``config.PM_PARALLEL_MIN_PIXELS``. ``kernel`` is a ``nogil`` build doing part ``k`` of ``n``
    (rows or bands ``k, k + n, ...``) whose results do not depend on ``n``.

    This replaces ``prange`` drivers (``parallel=True``): Numba's parallel lowering was about a
    third of the JIT time of a cold first call, and a serial ``nogil`` build compiles like any
    other function."""
    n = numba.get_num_threads() if work >= config.PM_PARALLEL_MIN_PIXELS else 1
    if n <= 1:
        compile_notice(kernel, *args, 0, 1)
        return
    if not kernel.overloads:  # compile (or load) in this thread first, the notice with it
        compile_notice(kernel.compile, tuple(numba.typeof(a) for a in (*args, 0, n)), kernel=kernel)
    futures = [_pool().submit(kernel, *args, k, n) for k in range(1, n)]
    try:
        kernel(*args, 0, n)
    finally:
        for f in futures:
            f.result()


_NOTICE = {"shown": False}


def compile_notice(call: Any, *args: Any, kernel: Any = None) -> Any:
    """``call(*args)``; before the first call that has to compile (no build of ``kernel``, default
    ``call``, for these argument types in memory, none in Numba's on-disk cache either) one line
    goes to stderr, once per process: compiling takes seconds, once per install (approximate: an
    index entry for other argument types counts as cached)."""
    kernel = call if kernel is None else kernel
    if not _NOTICE["shown"] and not kernel.overloads:
        try:  # a fresh on-disk cache index of this kernel (Numba internals)
            cached = bool(kernel._cache._cache_file._load_index())
        except Exception:  # internals differ: say it anyway
            cached = False
        if not cached:
            _NOTICE["shown"] = True
            print("compiling imgkit kernels, once per install (a few seconds)…", file=sys.stderr,
                  flush=True)
    return call(*args)
