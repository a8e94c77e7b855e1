"""Compile one Python kernel body more than once: :func:`rebind` (a copy with other globals or
another name, e.g. a CUDA device-function build) and :func:`parallel_and_serial`.

``parallel_and_serial``: threaded (``parallel=True``) and sequential builds of one body.

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
