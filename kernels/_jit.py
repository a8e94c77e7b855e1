"""Compile one Python kernel body twice: threaded (``parallel=True``) and sequential.

Numba's on-disk cache names its entries after the Python function (module, qualified name, first
line) and keys them on the signature, the CPU and the bytecode, not on the ``parallel`` flag. Two
dispatchers built from the same function object therefore share one cache entry, and whichever
compiles first serves both: a sequential build cached by a small problem silently replaced the
threaded kernel in every later process (2x slower on 2 cores). The sequential twin here is a copy
of the function under another qualified name, so each build has its own cache entry.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numba


def parallel_and_serial(py_func: Callable[..., Any], **options: Any) -> tuple[Any, Any]:
    """``(numba.njit(parallel=True, cache=True, **options)(f), numba.njit(cache=True, **options)(f'))``
    where ``f'`` is ``f`` under the qualified name ``<name>__serial`` (its own cache entry)."""
    twin = types.FunctionType(py_func.__code__, py_func.__globals__, py_func.__name__ + "__serial",
                              py_func.__defaults__, py_func.__closure__)
    twin.__qualname__ = py_func.__qualname__ + "__serial"
    twin.__module__ = py_func.__module__
    twin.__doc__ = py_func.__doc__
    return (numba.njit(parallel=True, cache=True, **options)(py_func),
            numba.njit(cache=True, **options)(twin))
