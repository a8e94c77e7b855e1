"""Jobs of the web app: one per browser session at a time, a small FIFO queue, one worker.

A job runs one or several methods on the same inputs, one after the other, on a single worker
thread (so two users cannot run two memory-hungry methods at once, and Numba's thread pool is
never entered from two threads). The methods' ``callback(step, total, state)`` drives the
progress of each run and stops it when the job is cancelled or passes the time limit.

Results are kept in memory as PNG bytes and "How it works" panels (JSON with data URLs); the
input arrays are dropped when the job ends. Finished jobs are forgotten after ``ttl`` seconds
or when more than ``keep`` are held.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ImgkitError

__all__ = ["Job", "JobManager", "JobNotFound", "QueueFull", "Run", "SessionBusy"]

log = logging.getLogger("imgkit.app")

ACTIVE = ("queued", "running")


class SessionBusy(ImgkitError, RuntimeError):
    """This browser session already has a job queued or running."""

    status = 409


class QueueFull(ImgkitError, RuntimeError):
    """The server's queue is full."""

    status = 503


class JobNotFound(ImgkitError, LookupError):
    """No job has this id (never existed, or finished long ago and was forgotten)."""

    status = 404

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _capture_steps() -> set[int]:
    steps, s = set(), 1
    while s < 10**7:
        steps.update({s, s + s // 2})
        s *= 2
    return steps


_CAPTURE = _capture_steps()  # 1, 2, 3, 4, 6, 8, 12, ...: intermediates of long optimisations
_CAPTURE_SIDE = 256


@dataclass
class Run:
    """One method of a job.

    ``state``: ``queued``, ``running``, ``done``, ``stopped`` (time limit: the result so far is
    kept), ``cancelled`` or ``error`` (``error`` holds the message).
    """

    method: str
    options: dict[str, Any]
    state: str = "queued"
    step: int = 0
    total: int = 0
    seconds: float | None = None
    error: str | None = None
    note: str = ""
    png: bytes | None = None
    explain: dict[str, Any] | None = None


@dataclass
class Job:
    """Methods run on the same inputs for one browser session."""

    id: str
    session: str
    task: str
    inputs: dict[str, Any]
    runs: list[Run]
    seed: int | None = None
    device: str = "auto"
    state: str = "queued"
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    done_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def progress(self) -> float:
        """Fraction done, 0 to 1, over all runs (a run without a callback jumps 0 → 1)."""
        if not self.runs:
            return 1.0
        total = 0.0
        for r in self.runs:
            if r.state in ("done", "stopped", "cancelled", "error"):
                total += 1.0
            elif r.state == "running" and r.total > 0:
                total += min(r.step / r.total, 1.0)
        return total / len(self.runs)

    def as_dict(self, position: int | None = None) -> dict[str, Any]:
        """Plain data for the HTTP API."""
        base = f"/api/jobs/{self.id}/results"
        return {
            "id": self.id,
            "task": self.task,
            "state": self.state,
            "position": position,
            "progress": round(self.progress(), 6),
            "seed": self.seed,
            "runs": [
                {
                    "index": i,
                    "method": r.method,
                    "options": r.options,
                    "state": r.state,
                    "step": r.step,
                    "total": r.total,
                    "seconds": None if r.seconds is None else round(r.seconds, 4),
                    "error": r.error,
                    "note": r.note,
                    "result": f"{base}/{i}.png" if r.png is not None else None,
                    "explain": f"{base}/{i}/explain" if r.explain is not None else None,
                }
                for i, r in enumerate(self.runs)
            ],
        }


class JobManager:
    """Queue and worker of the app's jobs.

    Parameters
    ----------
    max_queue : int
        Jobs waiting (not counting the one running) before new ones are refused with
        :class:`QueueFull`.
    job_timeout : float or None
        Seconds a job may run; a method that reports progress is stopped at the limit and its
        result so far kept (methods without a callback finish their call).
    keep : int
        Finished jobs held in memory at most (the oldest are forgotten first).
    ttl : float
        Seconds a finished job is held.
    """

    def __init__(self, *, max_queue: int = 4, job_timeout: float | None = 600.0, keep: int = 32,
                 ttl: float = 3600.0):
        if max_queue < 0:
            raise ValueError(f"max_queue must be ≥ 0; got {max_queue!r}")
        self.max_queue = int(max_queue)
        self.job_timeout = job_timeout
        self.keep = int(keep)
        self.ttl = float(ttl)
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._worker: threading.Thread | None = None
        self._closed = False

    # -- public -----------------------------------------------------------------------------
    def submit(self, session: str, task: str, inputs: dict[str, Any], runs: list[Run], *,
               seed: int | None = None, device: str = "auto") -> Job:
        """Queue a job; raises :class:`SessionBusy` or :class:`QueueFull`."""
        with self._lock:
            if self._closed:
                raise QueueFull("the server is shutting down; try again later")
            for j in self._jobs.values():
                if j.session == session and j.state in ACTIVE:
                    raise SessionBusy(
                        f"this browser session already has a job {j.state} "
                        f"({', '.join(r.method for r in j.runs)}); wait for it to finish or "
                        f"cancel it first (one job per session)"
                    )
            if len(self._queue) >= self.max_queue:
                raise QueueFull(
                    f"the server is busy: {len(self._queue)} jobs are waiting (the limit is "
                    f"{self.max_queue}); try again in a moment"
                )
            self._prune()
            job = Job(id=secrets.token_urlsafe(12), session=session, task=task, inputs=inputs,
                      runs=runs, seed=seed, device=device)
            self._jobs[job.id] = job
            self._queue.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._loop, name="imgkit-app-worker",
                                                daemon=True)
                self._worker.start()
            self._lock.notify_all()
            return job

    def get(self, job_id: str) -> Job:
        """The job with this id; raises :class:`JobNotFound`."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r} on this server (finished jobs are kept for a while, "
                              f"then forgotten); run it again")
        return job

    def position(self, job: Job) -> int | None:
        """Jobs ahead of ``job`` in the queue (0: next), or None when it is not waiting."""
        with self._lock:
            try:
                return self._queue.index(job)
            except ValueError:
                return None

    def status(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        return job.as_dict(self.position(job))

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop: a waiting job is dropped, a running one stops at its next step."""
        job = self.get(job_id)
        with self._lock:
            job.cancel_event.set()
            if job in self._queue:
                self._queue.remove(job)
                for r in job.runs:
                    r.state = "cancelled"
                self._finish(job, "cancelled")
        return job

    def close(self, timeout: float = 5.0) -> None:
        """Cancel every job and stop the worker."""
        with self._lock:
            self._closed = True
            for j in self._jobs.values():
                j.cancel_event.set()
            self._lock.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)

    # -- worker -----------------------------------------------------------------------------
    def _prune(self) -> None:
        now = time.time()
        done = [j for j in self._jobs.values() if j.state not in ACTIVE]
        for j in done:
            if j.finished is not None and now - j.finished > self.ttl:
                del self._jobs[j.id]
        done = [j for j in self._jobs.values() if j.state not in ACTIVE]
        for j in done[: max(0, len(done) - self.keep + 1)]:
            del self._jobs[j.id]

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        job.inputs = {}
        job.finished = time.time()
        job.done_event.set()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._lock.wait()
                if self._closed:
                    for j in self._queue:
                        self._finish(j, "cancelled")
                    self._queue.clear()
                    return
                job = self._queue.popleft()
                job.state = "running"
            try:
                self._run_job(job)
            except Exception:  # pragma: no cover - _run_job catches per run; belt and braces
                log.exception("job %s failed", job.id)
            finally:
                with self._lock:
                    self._finish(job, "cancelled" if job.cancel_event.is_set() else "done")

    def _run_job(self, job: Job) -> None:
        deadline = None if self.job_timeout is None else time.monotonic() + self.job_timeout
        for run in job.runs:
            if job.cancel_event.is_set():
                run.state = "cancelled"
                continue
            if deadline is not None and time.monotonic() > deadline:
                run.state = "stopped"
                run.note = f"not started: the job reached the server's time limit of {self.job_timeout:g} s"
                continue
            self._run_one(job, run, deadline)

    def _run_one(self, job: Job, run: Run, deadline: float | None) -> None:
        from .. import api
        from ..registry import get_method
        from .explain import encode_png, explain, to_json

        run.state = "running"
        captured: list[tuple[str, np.ndarray]] = []
        last: list[Any] = [None, None]  # latest callback image and its step
        timed_out = False

        def callback(step: int, total: int, state: dict[str, Any]) -> bool | None:
            nonlocal timed_out
            run.step, run.total = int(step), int(total)
            img = state.get("image") if isinstance(state, dict) else None
            if img is not None:
                last[:] = [img, step]
                if step in _CAPTURE:
                    captured.append((f"step {step}", _small(img)))
            if job.cancel_event.is_set():
                return True
            if deadline is not None and time.monotonic() > deadline:
                timed_out = True
                return True
            return None

        common = dict(method=run.method, device=job.device, seed=job.seed, return_info=True,
                      callback=callback, **run.options)
        t0 = time.perf_counter()
        try:
            if job.task == "inpaint":
                out, info = api.inpaint(job.inputs["image"], job.inputs["mask"], **common)
            else:
                style = job.inputs["style"]
                out, info = api.stylize(job.inputs["content"], style if len(style) > 1 else style[0],
                                        **common)
        except ImgkitError as exc:
            run.state, run.error = "error", str(exc)
            return
        except MemoryError:
            run.state, run.error = "error", "the server ran out of memory; try a smaller image"
            return
        except Exception as exc:
            log.exception("method %s failed", run.method)
            run.state, run.error = "error", f"{run.method} failed: {type(exc).__name__}: {exc}"
            return
        finally:
            run.seconds = time.perf_counter() - t0
        if job.cancel_event.is_set() and getattr(info, "stopped", False):
            run.state = "cancelled"
            return
        if timed_out:
            run.state = "stopped"
            run.note = f"stopped at the server's time limit of {self.job_timeout:g} s: the result so far"
        else:
            run.state = "done"
        if last[0] is not None and last[1] not in _CAPTURE:
            captured.append((f"step {last[1]}", _small(last[0])))
        run.png = encode_png(out)
        try:
            spec = get_method(run.method, job.task)
            ex = explain(run.method, info, inputs=job.inputs, result=out, intermediates=captured,
                         reference=spec.reference, summary=spec.summary)
            run.explain = to_json(ex)
        except Exception as exc:  # the result stays usable without its panel
            log.exception("explaining %s failed", run.method)
            run.explain = {"method": run.method, "title": f"How {run.method} works",
                           "text": f"The panel could not be built ({type(exc).__name__}).",
                           "paper": "", "facts": {}, "figures": []}


def _small(img: Any) -> np.ndarray:
    from .pictures import as_rgb, shrink

    return shrink(as_rgb(img), _CAPTURE_SIDE)
