"""The task that runs on a worker: read one item's inputs, run the method, write the output."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ImgkitError, ImgkitWarning
from ..io import display_path
from ._manifest import _stat

_THREADS_SET = False


def _limit_threads(backend: str) -> int | None:
    """Apply the per-worker thread budget that :func:`local_cluster` put in the environment."""
    global _THREADS_SET
    n = os.environ.get("IMGKIT_BATCH_THREADS")
    if not n:
        return None
    n_threads = int(n)
    if not _THREADS_SET:
        import cv2

        cv2.setNumThreads(n_threads)
        _THREADS_SET = True
    if backend == "torch":
        import torch

        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
    return n_threads


class _InputError(Exception):
    """A bad input file (recorded as failed, not retried)."""


class _Stopped(Exception):
    """The client asked this run's tasks to stop (stop marker file present)."""


def _file_error(role: str, path: str, exc: BaseException) -> str:
    """``"<role> '<path>' <problem>"`` from an imgkit file error (whose message names the path)."""
    msg, quoted = str(exc), repr(path)
    if msg.startswith(quoted):  # "'p' is not a readable image (...)"
        return f"{role} {msg}"
    return f"{role} {quoted}: {msg.replace(f': {quoted}', '').replace(f' {quoted}', '')}"


def _read(path: str, role: str, *, mask: dict[str, Any] | None = None, meta: bool = False) -> Any:
    from ..io import load_image, load_mask

    if not path:
        raise _InputError(f"{role}: no file given")
    try:
        if mask is not None:
            return load_mask(path, threshold=mask.get("threshold"), invert=bool(mask.get("invert")))
        return load_image(path, with_metadata=meta)
    except (ImgkitError, OSError) as exc:
        raise _InputError(_file_error(role, path, exc)) from None


def _read_inputs(task: str, paths: Sequence[str], mask_opts: dict[str, Any] | None = None
                 ) -> tuple[tuple[Any, ...], Any]:
    """The arrays of one item and the metadata of its main image (kept in the output), or
    :class:`_InputError` naming the file and the problem."""
    if task == "inpaint":
        image, meta = _read(paths[0], "image", meta=True)
        mask = _read(paths[1], f"mask (of image {paths[0]!r})", mask=mask_opts or {})
        if mask.shape != image.shape[:2]:
            raise _InputError(
                f"mask {paths[1]!r} is {mask.shape[1]}x{mask.shape[0]} pixels but its image "
                f"{paths[0]!r} is {image.shape[1]}x{image.shape[0]}; a mask must have the size of "
                f"its image"
            )
        return (image, mask), meta
    if task == "stylize":
        styles = [_read(p, "style") for p in paths[1:]]
        content, meta = _read(paths[0], "content", meta=True)
        return (content, styles if len(styles) > 1 else styles[0]), meta
    b, meta = _read(paths[2], "b", meta=True)
    return (_read(paths[0], "a"), _read(paths[1], "a_prime"), b), meta


def _describe(task: str, paths: Sequence[str]) -> str:
    if task == "inpaint":
        return f"image {paths[0]!r} with mask {paths[1]!r}"
    if task == "stylize":
        return f"content {paths[0]!r} with style {', '.join(map(repr, paths[1:]))}"
    return f"b {paths[2]!r} with example pair {paths[0]!r} -> {paths[1]!r}"


def _crash_once(marker: str, out: Path, key: str) -> None:
    """Test hook: die (``os._exit``) half-way through writing the output, once per marker."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, json.dumps({"key": key, "pid": os.getpid()}).encode())
    os.close(fd)
    import tempfile

    tfd, _ = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".tmp{out.suffix}", dir=out.parent)
    os.write(tfd, b"\x89PNG\r\n\x1a\n half-written")
    os._exit(70)


def _process_item(job: dict[str, Any]) -> dict[str, Any]:
    """Read the inputs of one item, run the method, write the output; runs on a worker.

    Returns a small dict (status, timings, fingerprints); bad inputs and method errors become
    ``status="failed"`` with a message, other exceptions propagate (Dask retries them).
    """
    from .. import api
    from ..io import save_image
    from ..registry import get_method

    t0 = time.perf_counter()
    task, paths, method = job["task"], job["paths"], job["method"]
    out = Path(job["out"])
    res: dict[str, Any] = {"inputs": [_stat(p) for p in paths], "host": socket.gethostname(),
                           "pid": os.getpid()}
    with contextlib.suppress(Exception):
        from distributed import get_worker

        res["worker"] = get_worker().address
    door = {"inpaint": api.inpaint, "stylize": api.stylize, "analogy": api.analogy}[task]

    def failed(error: str) -> dict[str, Any]:
        return {**res, "status": "failed", "error": error, "seconds": time.perf_counter() - t0}

    stop = job.get("stop_marker")
    if stop and os.path.exists(stop):
        return failed("not run: the batch was stopped")
    try:
        res["threads"] = _limit_threads(get_method(method, task).backend)  # unknown here: failed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ImgkitWarning)
            arrays, meta = _read_inputs(task, paths, job.get("mask") or {})
        if caught:
            res["warnings"] = [str(w.message) for w in caught]
        result, info = door(*arrays, method=method, device=job["device"], seed=job["seed"],
                            return_info=True, **job["options"])
    except _InputError as exc:
        return failed(str(exc))
    except ImgkitError as exc:
        return failed(f"{_describe(task, paths)}: {type(exc).__name__}: {exc}")
    if job.get("slow"):
        time.sleep(job["slow"])
    if job.get("crash_marker"):
        _crash_once(job["crash_marker"], out, job["key"])

    def not_stopped() -> None:
        if stop and os.path.exists(stop):
            raise _Stopped()

    try:
        save_image(out, result, bit_depth=job["bit_depth"], metadata=meta, before_replace=not_stopped)
    except _Stopped:
        return failed("not written: the batch was stopped")
    except ImgkitError as exc:
        return failed(f"output {display_path(out)!r}: {exc}")
    st = _stat(str(out))
    return {**res, "status": "done", "error": None, "seed_used": info.seed, "device_used": info.device,
            "output_size": st["size"], "output_mtime_ns": st["mtime_ns"],
            "seconds": time.perf_counter() - t0}
