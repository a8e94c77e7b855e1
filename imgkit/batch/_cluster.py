"""The Dask cluster: a local one sized to the cores, or a connection to an existing one."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidOptionError, MissingDependencyError
from ._errors import BatchError

__all__ = ["default_workers", "local_cluster"]

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(n_items: int | None = None, device: str = "auto") -> int:
    """Worker processes of the local cluster: one per core (at most one per item); 1 for CUDA."""
    if device == "cuda":
        return 1
    n = _cores()
    return max(1, min(n, n_items)) if n_items else n


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "imgkit.batch needs Dask distributed: pip install 'imgkit[batch]'"
        ) from None
    return distributed


def local_cluster(workers: int | None = None, *, device: str = "auto", dashboard: bool | None = None,
                  **kwargs: Any) -> Any:
    """A :class:`distributed.LocalCluster` sized so that the method threads fit the cores.

    Sizing rule: ``workers`` worker processes (default :func:`default_workers`), each running
    **one** task at a time (``threads_per_worker=1``) and allowed ``max(1, cores // workers)``
    threads inside that task: ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` and ``IMGKIT_BATCH_THREADS`` are set in each worker's environment
    before anything is imported there, and the task sets OpenCV's and (for torch methods)
    PyTorch's thread counts to the same number. So ``workers × threads ≤ cores``: Numba's
    ``parallel=True`` kernels, PyTorch and OpenCV never oversubscribe the machine. Processes, not
    threads, because the GIL would serialise the Python parts of the methods. With
    ``device="cuda"`` every worker declares the resource ``GPU=1``. The scheduler hands tasks to
    the workers up front (``distributed.scheduler.worker-saturation: inf``): one image per task,
    no scheduler round trip between two tasks of a worker. Dask's ``MALLOC_TRIM_THRESHOLD_=65536``
    is not set in the workers (it slowed allocation-heavy methods by 20–40 % on this machine).

    Parameters
    ----------
    workers : int, optional
        Worker processes.
    device : {"auto", "cpu", "cuda"}
        ``"cuda"``: one worker by default, declaring ``GPU=1``.
    dashboard : bool, optional
        Serve the Dask dashboard on a free port (needs ``bokeh``); default: when bokeh is
        installed.
    **kwargs
        Passed to :class:`~distributed.LocalCluster` (override anything above).
    """
    distributed = _distributed()
    workers = default_workers(None, device) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidOptionError(f"workers must be a positive integer; got {workers!r}")
    threads = max(1, _cores() // workers)
    if dashboard is None:
        import importlib.util

        dashboard = importlib.util.find_spec("bokeh") is not None
    env = {v: str(threads) for v in _THREAD_VARS}
    env["IMGKIT_BATCH_THREADS"] = str(threads)
    # The scheduler's HTTP server always starts; a free port avoids clashes (and warnings) when
    # several clusters run on one machine. Its /status dashboard needs bokeh.
    opts: dict[str, Any] = dict(
        n_workers=workers, threads_per_worker=1, processes=True, env=env, dashboard_address=":0",
        scheduler_kwargs={"dashboard": bool(dashboard)}, silence_logs=logging.ERROR,
    )
    if device == "cuda":
        opts["resources"] = {"GPU": 1}
    opts.update(kwargs)
    import dask

    # Each task is one independent image: hand tasks to the workers up front instead of one
    # scheduler round trip per task (Dask's default queuing), which dominates for fast methods.
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (give memory back to the OS early);
    # that made telea and biharmonic loops 20-40 % slower here, so keep glibc's default.
    with dask.config.set({"distributed.scheduler.worker-saturation": "inf",
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(**opts)


def _ignore_sigint_plugin() -> Any:
    from distributed import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        name = "imgkit-batch-ignore-sigint"
        idempotent = True

        def setup(self, worker: Any) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreSigint()


def _connect(scheduler: Any, workers: int | None, device: str, n_pending: int) -> tuple[Any, list[Any]]:
    """A Client, and the objects to close afterwards (those this call created)."""
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        if workers is not None:
            raise InvalidOptionError(
                "workers= sizes the local cluster only; with a Client, size its cluster yourself"
            )
        return scheduler, []
    if scheduler is None:
        # never more worker processes than inputs to run: idle workers only cost start-up time
        n = min(workers, n_pending) if workers is not None else default_workers(n_pending, device)
        cluster = local_cluster(max(1, n), device=device)
        try:
            client = distributed.Client(cluster)
            # Ctrl-C in a terminal reaches every process of the group: let the client handle it
            # (and close the cluster) instead of each worker printing a traceback.
            client.register_plugin(_ignore_sigint_plugin())
        except BaseException:
            cluster.close()
            raise
        return client, [client, cluster]
    if not isinstance(scheduler, (str, os.PathLike)):
        raise InvalidOptionError(
            f"scheduler must be None, an address like 'tcp://host:8786', a scheduler file or a "
            f"distributed.Client; got {scheduler!r}"
        )
    if workers is not None:
        raise InvalidOptionError(
            "workers= sizes the local cluster only; with a scheduler address, start as many "
            "`dask worker` processes as you want"
        )
    address = os.fspath(scheduler)
    try:
        if address.endswith(".json") and Path(address).is_file():
            client = distributed.Client(scheduler_file=address)
        else:
            client = distributed.Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"cannot connect to the Dask scheduler {address!r} ({type(exc).__name__}: {exc}); "
            f"start one with `dask scheduler` and workers with `dask worker {address}`"
        ) from None
    return client, [client]


def _check_gpu_workers(client: Any) -> None:
    workers = client.scheduler_info().get("workers", {})
    if not any((w.get("resources") or {}).get("GPU", 0) >= 1 for w in workers.values()):
        raise BatchError(
            f"device='cuda' sends tasks only to workers that declare a GPU, and none of the "
            f"{len(workers)} workers of {client.scheduler.address} does; start them with "
            f"`dask worker ADDRESS --resources GPU=1 --nthreads 1`"
        )


def _dashboard(client: Any, local: bool) -> str | None:
    """The dashboard link (for a local cluster only when bokeh can serve it)."""
    if local:
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            return None
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return client.dashboard_link
    except Exception:
        return None
