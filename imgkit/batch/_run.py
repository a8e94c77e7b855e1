"""``run``: check everything, plan (resume, conflicts), then submit, collect and record."""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._checks import check_seed
from ..errors import ImageFileError, InvalidOptionError
from ..io import _EXTS, _probe_writable, display_path
from ..registry import DEFAULT_METHODS
from ._cluster import _check_gpu_workers, _connect, _dashboard, _distributed
from ._errors import BatchInterrupted
from ._inputs import BatchItem, _as_items
from ._manifest import MANIFEST_NAME, _is_current, _Manifest, _remove_stale_temps, _stat, read_manifest
from ._summary import BatchSummary
from ._worker import _process_item

__all__ = ["CRASH_ONCE_ENV", "SLOW_ENV", "STOP_GRACE_S", "run"]

#: Test-only hook (read by ``run`` on the client): a marker file path. The first task that
#: creates the marker kills its own worker process with ``os._exit`` half-way through writing
#: its output; the tests use it to show that a worker death loses nothing.
CRASH_ONCE_ENV = "IMGKIT_BATCH_CRASH_ONCE"
#: Test-only hook (read by ``run`` on the client): seconds each task sleeps before writing its
#: output, so that tests can interrupt a run while tasks are in flight.
SLOW_ENV = "IMGKIT_BATCH_SLOW"
#: After a stop, seconds the client waits for the tasks in flight to end (they do not put their
#: outputs in place) before it closes the cluster.
STOP_GRACE_S = 30.0


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def run(
    task: str,
    inputs: Iterable[BatchItem] | Iterable[Sequence[str | os.PathLike[str]]] | Mapping[str, Sequence[str]],
    *,
    method: str | None = None,
    out_dir: str | os.PathLike[str],
    scheduler: Any = None,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "auto",
    seed: int | None = None,
    retries: int = 2,
    ext: str = ".png",
    bit_depth: int = 8,
    progress: bool | str = False,
    callback: Callable[[dict[str, Any], BatchSummary], Any] | None = None,
    mask_threshold: float | None = None,
    invert_mask: bool = False,
    **options: Any,
) -> BatchSummary:
    """Run one method over many inputs on Dask; every output is a file in ``out_dir``.

    Parameters
    ----------
    task : {"inpaint", "stylize", "analogy"}
    inputs : iterable of BatchItem, of path tuples, or a dict key -> path tuple
        Per item ``(image, mask)``, ``(content, style[, style...])`` or ``(a, a_prime, b)``;
        :func:`inpaint_inputs`, :func:`stylize_inputs` and :func:`analogy_inputs` build them
        from folders. A bare tuple's key (output name) is the stem of the image / content / b.
    method : str, optional
        A registered method of ``task`` (default as in :func:`imgkit.inpaint` & co.).
    out_dir : path
        Output folder (created if missing): ``{key}{ext}`` per input, and ``manifest.jsonl``.
    scheduler : None, str or distributed.Client
        None: start a local cluster (:func:`local_cluster`) and close it at the end. A
        scheduler address (``"tcp://host:8786"``), a scheduler file (``.json``) or a Client: run
        there (every worker must see the input and output paths).
    workers : int, optional
        Worker processes of the local cluster (default :func:`default_workers`).
    resume : bool
        Skip inputs already done with the same settings (see the module docstring).
    overwrite : bool
        Recompute and replace existing outputs. Without ``resume`` or ``overwrite``, existing
        outputs make the run refuse to start.
    device : {"auto", "cpu", "cuda"}
        As in :func:`imgkit.inpaint`, resolved on each worker; ``"cuda"`` tasks need workers
        declaring the resource ``GPU=1``.
    seed : int, optional
        Seed given to every call (so each output equals the single-image call with that seed);
        None: each call draws its own, recorded in the manifest as ``seed_used``.
    retries : int
        Times Dask re-runs a task that raised an unexpected exception. Tasks whose worker died are
        re-run by Dask anyway (up to ``distributed.scheduler.allowed-failures``). Bad inputs are
        not retried: they are recorded as failed at once.
    ext : str
        Output format (``".png"``, ``".tif"``, ``".jpg"``, ...).
    bit_depth : {8, 16}
        Bits per channel of the outputs.
    progress : bool or "log"
        Show a progress bar over the inputs (and the dashboard link, if any, on stderr);
        ``"log"``: a progress line on stderr every ``IMGKIT_PROGRESS_INTERVAL`` seconds instead
        (the command line picks it when stderr is not a terminal).
    callback : callable, optional
        ``callback(record, summary)`` after each input is recorded; returning ``True`` stops the
        run (in-flight tasks are cancelled; ``summary.stopped`` is set). Raising
        ``KeyboardInterrupt`` acts as Ctrl-C.
    mask_threshold, invert_mask
        Inpainting: how mask files are read (see :func:`imgkit.load_mask`: a pixel is hole above
        ``mask_threshold`` × the maximum, default any nonzero value; ``invert_mask`` swaps hole
        and known). Recorded in the manifest when set, so ``resume`` redoes inputs read otherwise.
    **options
        Method options, validated before anything runs.

    Returns
    -------
    BatchSummary
        Keys done, skipped and failed (with reasons), seconds, images per second.

    Raises
    ------
    BatchInterrupted
        On Ctrl-C; its ``summary`` says what was finished (all of it is in the manifest).

    Examples
    --------
    >>> import imgkit.batch as batch                                  # doctest: +SKIP
    >>> s = batch.run("inpaint", batch.inpaint_inputs("imgs", "masks"), method="telea",
    ...               out_dir="out", seed=0)                          # doctest: +SKIP
    >>> s.ok, len(s.done), s.images_per_s                             # doctest: +SKIP
    """
    from ..registry import TASKS, get_method

    if task not in TASKS:
        raise InvalidOptionError(f"task must be one of {list(TASKS)}; got {task!r}")
    method = DEFAULT_METHODS[task] if method is None else method
    spec = get_method(method, task)
    spec.ensure_available()
    opts = spec.check_options(options)
    if seed is not None:
        check_seed(seed)
    if device not in ("auto", "cpu", "cuda"):
        raise InvalidOptionError(f"device must be one of 'auto', 'cpu', 'cuda'; got {device!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidOptionError(f"retries must be a non-negative integer; got {retries!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidOptionError(f"workers must be None or a positive integer; got {workers!r}")
    ext = ext if ext.startswith(".") else f".{ext}"
    if ext.lower() not in _EXTS:
        raise InvalidOptionError(f"ext must be one of {', '.join(_EXTS)}; got {ext!r}")
    if bit_depth not in (8, 16) or (bit_depth == 16 and ext.lower() not in (".png", ".tif", ".tiff")):
        raise InvalidOptionError(f"bit_depth must be 8, or 16 with .png/.tif outputs; got {bit_depth!r}")
    if callback is not None and not callable(callback):
        raise InvalidOptionError(f"callback must be None or callable(record, summary); got {callback!r}")
    if scheduler is None and device == "cuda":
        from ..device import resolve_device

        resolve_device("cuda", devices=spec.devices, backend=spec.backend, method=spec.name)

    items = [BatchItem(it.key, tuple(str(Path(p).absolute()) if p else "" for p in it.paths), it.error)
             for it in _as_items(task, inputs)]
    out = Path(out_dir)
    _check_out_dir(out, items)
    summary = BatchSummary(task=task, method=method, out_dir=out, manifest=out / MANIFEST_NAME,
                           total=len(items))
    params = {"task": task, "method": method, "options": opts, "seed": seed, "device": device,
              "bit_depth": bit_depth}
    if mask_threshold is not None or invert_mask:
        if task != "inpaint":
            raise InvalidOptionError("mask_threshold and invert_mask apply to task 'inpaint' only")
        if isinstance(mask_threshold, bool) or not (mask_threshold is None or (
                isinstance(mask_threshold, (int, float)) and 0.0 <= mask_threshold < 1.0)):
            raise InvalidOptionError(
                f"mask_threshold must be None or a number in [0, 1); got {mask_threshold!r}")
        if not isinstance(invert_mask, bool):
            raise InvalidOptionError(f"invert_mask must be True or False; got {invert_mask!r}")
        params["mask"] = {"threshold": mask_threshold, "invert": invert_mask}
    pending, prefailed = _plan(items, params, summary, resume=resume, overwrite=overwrite, ext=ext)
    # every check passed: only now is anything created
    out.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(summary.manifest)
    try:
        return _run(pending, prefailed, params, spec, summary, manifest, scheduler=scheduler,
                    workers=workers, ext=ext, retries=retries, progress=progress, callback=callback)
    finally:
        manifest.close()


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _check_out_dir(out: Path, items: list[BatchItem]) -> None:
    """Refuse an output folder that is, contains or lies inside an input folder, or that cannot
    be created or written; writes nothing.

    Input folders are the folders of the inputs that differ between items (images, masks,
    contents, B images, style folders). An input shared by every item (one style image, one
    A/A' pair) only forbids writing into its own folder.
    """
    if out.exists() and not out.is_dir():
        raise ImageFileError(f"output folder {display_path(out)!r} exists and is not a folder")
    target = _real(out)
    folders: dict[Path, str] = {}
    shared: dict[Path, str] = {}
    n = len(items)
    counts: dict[str, int] = {}
    for it in items:
        for p in set(it.paths):
            if p:
                counts[p] = counts.get(p, 0) + 1
    for it in items:
        for p in it.paths:
            if p:
                (shared if n > 1 and counts[p] == n else folders).setdefault(_real(p).parent, p)
    for folder, example in folders.items():
        if target == folder or folder in target.parents or target in folder.parents:
            how = ("is" if target == folder else
                   "lies inside" if folder in target.parents else "contains")
            raise InvalidOptionError(
                f"output folder {display_path(out)!r} {how} the input folder "
                f"{display_path(folder)!r} (of {display_path(example)!r}): outputs could replace "
                f"inputs; give an output folder outside every input folder"
            )
    for folder, example in shared.items():
        if target == folder:
            raise InvalidOptionError(
                f"output folder {display_path(out)!r} is the folder of the input "
                f"{display_path(example)!r}; give another output folder"
            )
    probe = out
    while not probe.exists():  # the nearest existing folder must let us create the rest
        if probe.parent == probe:
            break
        probe = probe.parent
    why = _probe_writable(probe) if probe.is_dir() else "not a folder"
    if why is not None:
        raise ImageFileError(f"cannot write into output folder {display_path(out)!r}: "
                             f"{display_path(probe)!r}: {why}")


def _plan(items: list[BatchItem], params: dict[str, Any], summary: BatchSummary, *, resume: bool,
          overwrite: bool, ext: str) -> tuple[list[BatchItem], list[BatchItem]]:
    """Split the items into to-run and failed-while-pairing (skipped ones go to the summary);
    refuse existing outputs without resume/overwrite. Reads, never writes."""
    out = summary.out_dir
    latest: dict[str, dict[str, Any]] = {}
    if resume:
        for rec in read_manifest(out):
            latest[rec["key"]] = rec
    pending: list[BatchItem] = []
    prefailed: list[BatchItem] = []
    conflicts: list[str] = []
    for item in items:
        target = out / f"{item.key}{ext}"
        if item.error is not None:
            prefailed.append(item)
        elif resume and _is_current(latest.get(item.key), item.paths, params, target):
            summary.skipped.append(item.key)
        else:
            if not resume and not overwrite and target.exists():
                conflicts.append(target.name)
            pending.append(item)
    if conflicts:
        raise InvalidOptionError(
            f"{len(conflicts)} output(s) already exist in {display_path(out)!r} (e.g. "
            f"{display_path(conflicts[0])!r}); pass resume=True (--resume) to skip finished inputs or "
            f"overwrite=True (--overwrite) to redo them"
        )
    return pending, prefailed


class _ProgressLog:
    """Batch progress as a line on stderr every ``IMGKIT_PROGRESS_INTERVAL`` seconds (logs, pipes)."""

    def __init__(self, summary: BatchSummary):
        from ..context import progress_interval

        self.summary = summary
        self.finished = len(summary.skipped)
        self.t0 = self.last = time.perf_counter()
        self.interval = progress_interval()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more finished inputs (called once each is recorded)."""
        self.finished += n
        now = time.perf_counter()
        if now - self.last < self.interval and self.finished < self.summary.total:
            return
        self.last = now
        s, finished = self.summary, self.finished
        rate = (finished - len(s.skipped)) / (now - self.t0) if now > self.t0 else 0.0
        print(f"imgkit batch: {finished}/{s.total} inputs ({100.0 * finished / max(1, s.total):.0f} %), "
              f"{len(s.failed)} failed, {rate:.2f} images/s, {now - self.t0:.0f} s elapsed",
              file=sys.stderr, flush=True)

    def set_postfix(self, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _stop_marker(out: Path, run_id: str) -> Path:
    return out / f".imgkit-stop-{run_id}"


def _run(pending: list[BatchItem], prefailed: list[BatchItem], params: dict[str, Any], spec: Any,
         summary: BatchSummary, manifest: _Manifest, *, scheduler: Any, workers: int | None,
         retries: int, ext: str, progress: bool | str,
         callback: Callable[..., Any] | None) -> BatchSummary:
    out = summary.out_dir
    run_id = secrets.token_hex(4)
    _remove_stale_temps(out, (it.key for it in pending), ext)

    def base(item: BatchItem) -> dict[str, Any]:
        return {"key": item.key, **params, "output": f"{item.key}{ext}", "run": run_id}

    recorded: set[str] = set()

    def record(rec: dict[str, Any]) -> Any:
        manifest.append(rec)
        recorded.add(rec["key"])
        if rec["status"] == "done":
            summary.done.append(rec["key"])
        else:
            summary.failed[rec["key"]] = rec["error"]
        return callback(rec, summary) if callback is not None else None

    bar: Any = None
    if progress == "log":
        bar = _ProgressLog(summary)
    elif progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=summary.total, initial=len(summary.skipped), unit="img", dynamic_ncols=True,
                   desc=f"{params['task']} {params['method']}")
    t_start = time.perf_counter()
    started_ns = time.time_ns()
    marker = _stop_marker(out, run_id)
    to_close: list[Any] = []
    futures: dict[Any, BatchItem] = {}
    client = None
    try:
        for item in prefailed:
            rec = {**base(item), "status": "failed", "error": item.error, "seconds": 0.0,
                   "inputs": [_stat(p) for p in item.paths if p], "time": _now()}
            stop = record(rec) is True
            if bar is not None:
                bar.update(1)
            if stop:
                summary.stopped = True
                break
        if pending and not summary.stopped:
            client, to_close = _connect(scheduler, workers, params["device"], len(pending))
            summary.startup_seconds = time.perf_counter() - t_start
            summary.workers = len(client.nthreads())
            summary.dashboard = _dashboard(client, local=scheduler is None)
            if progress and summary.dashboard:
                print(f"Dask dashboard: {summary.dashboard}", file=sys.stderr)
            if params["device"] == "cuda":
                _check_gpu_workers(client)
            t_start = time.perf_counter()
            futures = _submit(client, pending, params, spec, out, ext, retries, run_id, marker)
            _collect(futures, base, record, summary, bar, client)
    except KeyboardInterrupt:
        summary.stopped = True
        _request_stop(marker)
        _cancel(futures)
        raise BatchInterrupted(summary) from None
    finally:
        summary.seconds = time.perf_counter() - t_start
        if bar is not None:
            bar.close()
        drained = True
        if summary.stopped:
            _request_stop(marker)
            _cancel(futures)
            if client is not None:
                drained = _drain(client, run_id, STOP_GRACE_S)
        for obj in to_close:
            with contextlib.suppress(Exception):
                obj.close()
        if summary.stopped:
            # outputs that a task renamed into place after the stop and that never reached the
            # manifest: remove them, so every output file in out_dir is in the manifest
            _remove_orphans(out, [it for it in pending if it.key not in recorded], ext, started_ns)
            _remove_stale_temps(out, (it.key for it in pending), ext)
            if drained or scheduler is None:  # no task of this run can still be running
                with contextlib.suppress(OSError):
                    marker.unlink()
    if not summary.stopped:
        _remove_stale_temps(out, (it.key for it in pending), ext)
    return summary


def _drain(client: Any, run_id: str, timeout: float) -> bool:
    """Wait (at most ``timeout`` s) until no task of this run is processing on any worker."""
    prefix = f"imgkit-{run_id}-"
    deadline = time.monotonic() + timeout
    while True:
        try:
            busy = any(str(k).startswith(prefix) for keys in client.processing().values() for k in keys)
        except Exception:
            return False
        if not busy:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _request_stop(marker: Path) -> None:
    """Tell the tasks of this run not to put any more outputs in place (see _process_item)."""
    with contextlib.suppress(OSError):
        marker.touch()


def _remove_orphans(out: Path, items: list[BatchItem], ext: str, started_ns: int) -> None:
    for item in items:
        target = out / f"{item.key}{ext}"
        with contextlib.suppress(OSError):
            if target.stat().st_mtime_ns >= started_ns:
                target.unlink()


def _submit(client: Any, pending: list[BatchItem], params: dict[str, Any], spec: Any, out: Path,
            ext: str, retries: int, run_id: str, marker: Path) -> dict[Any, BatchItem]:
    crash = os.environ.get(CRASH_ONCE_ENV) or None
    slow = float(os.environ.get(SLOW_ENV, "0") or 0)
    jobs = [{"task": params["task"], "method": spec.name, "paths": item.paths,
             "out": str((out / f"{item.key}{ext}").absolute()), "options": params["options"],
             "device": params["device"], "seed": params["seed"], "bit_depth": params["bit_depth"],
             "key": item.key, "crash_marker": crash, "stop_marker": str(marker.absolute()),
             "slow": slow, "mask": params.get("mask")} for item in pending]
    # task keys by index: Dask keys travel as UTF-8, file names may hold any bytes
    futs = client.map(_process_item, jobs, key=[f"imgkit-{run_id}-{i}" for i in range(len(pending))],
                      pure=False, retries=retries,
                      resources={"GPU": 1} if params["device"] == "cuda" else None)
    return dict(zip(futs, pending))


def _collect(futures: dict[Any, BatchItem], base: Callable[..., dict[str, Any]],
             record: Callable[[dict[str, Any]], Any], summary: BatchSummary, bar: Any,
             client: Any) -> None:
    distributed = _distributed()
    # with_results: results are fetched in the background (no round trip per future here)
    done = distributed.as_completed(list(futures), with_results=True, raise_errors=False,
                                    loop=client.loop)
    for group in done.batches():
        for fut, res in group:
            item = futures.pop(fut)
            if not isinstance(res, dict):  # retries exhausted, worker died too often, ...
                exc = _task_exception(fut, res)
                res = {"status": "failed", "seconds": None, "inputs": [_stat(p) for p in item.paths],
                       "error": f"{type(exc).__name__}: {exc} (inputs {list(item.paths)!r}; the task "
                                f"failed after its retries)"}
            fut.release()
            rec = {**base(item), **res, "time": _now()}
            stop = record(rec) is True
            if bar is not None:
                if summary.failed:
                    bar.set_postfix(failed=len(summary.failed), refresh=False)
                bar.update(1)
            if stop:
                summary.stopped = True
                return


def _task_exception(fut: Any, res: Any) -> BaseException:
    if isinstance(res, BaseException):
        return res
    for x in res if isinstance(res, tuple) else ():
        if isinstance(x, BaseException):
            return x
    try:
        return fut.exception() or RuntimeError(f"task ended with status {fut.status!r}")
    except BaseException as exc:  # e.g. CancelledError
        return exc


def _cancel(futures: dict[Any, BatchItem]) -> None:
    if futures:
        with contextlib.suppress(Exception):
            next(iter(futures)).client.cancel(list(futures), force=True)
        futures.clear()
