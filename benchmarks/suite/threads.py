"""One thread count for every method and peer of a run (``--threads N``, default 1).

Timings swing 2–3× with the load of a shared machine and with how many cores each library grabs,
so a quality + speed table is only fair when everyone runs on the same number of threads. This
module sets that number everywhere it can be set:

* environment variables, read when a library loads (so they also reach the fresh first-call
  processes and the peers' native code): ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``VECLIB_MAXIMUM_THREADS``,
  ``NUMEXPR_NUM_THREADS`` and OpenCV's ``OPENCV_FOR_THREADS_NUM``;
* the run-time setters of libraries already loaded: ``numba.set_num_threads``,
  ``torch.set_num_threads``, ``cv2.setNumThreads`` and, when ``threadpoolctl`` is installed, the
  BLAS/OpenMP pools NumPy and SciPy loaded.

``python -m benchmarks`` calls :func:`apply_threads` before it imports NumPy, Numba or torch, so
the environment variables take effect in the benchmark process itself; :func:`thread_state`
reports what each library actually uses (``meta.json`` → ``threads``, the CSV ``threads``
column). ``N = 0`` leaves every library at its default (all cores).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["THREAD_ENV", "apply_threads", "limited_threads", "thread_env", "thread_state", "threads_label"]

#: Environment variables that fix a library's thread count when it loads.
THREAD_ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")


def thread_env(n: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with every :data:`THREAD_ENV` variable set to
    ``n`` (for a child process)."""
    env = dict(os.environ if base is None else base)
    env.update({k: str(int(n)) for k in THREAD_ENV})
    return env


def apply_threads(n: int | None) -> dict[str, Any]:
    """Run everything of this process (and its children) on ``n`` threads; returns
    :func:`thread_state`. ``None`` or ``0`` changes nothing.

    Raises
    ------
    ValueError
        If ``n`` is negative.
    """
    if n is None or n == 0:
        return thread_state(n)
    if n < 0:
        raise ValueError(f"threads must be >= 0 (0: library defaults); got {n}")
    os.environ.update({k: str(int(n)) for k in THREAD_ENV})
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(n))
    try:
        import cv2

        cv2.setNumThreads(int(n))
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(n))
    except ImportError:
        pass
    return thread_state(n)


def thread_state(requested: int | None = None) -> dict[str, Any]:
    """The thread counts in force: requested, Numba, torch (when loaded), OpenCV, the env."""
    state: dict[str, Any] = {"requested": requested if requested else "library defaults"}
    if "numba" in sys.modules:
        import numba

        state["numba"] = numba.get_num_threads()
    if "torch" in sys.modules:
        state["torch"] = sys.modules["torch"].get_num_threads()
    if "cv2" in sys.modules:
        state["cv2"] = sys.modules["cv2"].getNumThreads()
    state["env"] = {k: os.environ.get(k) for k in THREAD_ENV if os.environ.get(k) is not None}
    return state


def threads_label(state: dict[str, Any]) -> str:
    """``"1"`` when every library runs on one count, else ``"numba 2, torch 1, ..."``."""
    counts = {k: state[k] for k in ("numba", "torch", "cv2") if k in state}
    values = set(counts.values())
    if len(values) == 1:
        return str(values.pop())
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or str(state.get("requested"))


@contextmanager
def limited_threads(n: int | None) -> Iterator[dict[str, Any]]:
    """:func:`apply_threads` for a block, then the environment variables and the thread counts of
    the libraries loaded before it are put back (so a run started from Python, e.g. by a test,
    leaves its caller as it was)."""
    env = {k: os.environ.get(k) for k in THREAD_ENV}
    before = thread_state()
    try:
        yield apply_threads(n)
    finally:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if "numba" in before:
            import numba

            numba.set_num_threads(before["numba"])
        if "torch" in before:
            sys.modules["torch"].set_num_threads(before["torch"])
        elif "torch" in sys.modules and n:  # loaded during the block: back to its own default
            sys.modules["torch"].set_num_threads(max(1, len(os.sched_getaffinity(0))))
        if "cv2" in before:
            sys.modules["cv2"].setNumThreads(before["cv2"])
