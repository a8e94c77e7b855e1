"""What a method gets besides its arrays: device, seed, progress and callback, and the
:class:`Info` record that ``return_info=True`` returns."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["Info", "Progress", "RunContext"]

Callback = Callable[[int, int, dict[str, Any]], Any]


@dataclass(kw_only=True)
class Info:
    """What a run did; methods extend it with what a teacher wants to show.

    Attributes
    ----------
    method, task, device : str
        What ran, and where (``"cpu"`` or ``"cuda"``).
    seed : int
        The seed actually used (drawn from the OS when the caller gave ``None``), so any run
        can be repeated.
    options : dict
        Every option value, defaults included.
    timings : dict of str to float
        Seconds: ``"total"`` always, and per-phase figures where the method records them.
    stopped : bool
        True when a callback asked the run to stop early.
    regions : list of (y0, y1, x0, x1)
        Inpainting: the boxes the method worked on (one per group of nearby holes when it
        cropped, see ``region``; else the whole image). Method-specific fields
        (fill order, fields per level, ...) describe the first box, in its own coordinates.
    region_infos : list of Info
        Inpainting with several boxes: the method's record for each box.
    """

    method: str = ""
    task: str = ""
    device: str = "cpu"
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)
    region_infos: list[Any] = field(default_factory=list, repr=False)


def progress_interval() -> float:
    """Seconds between two progress lines in log mode (``IMGKIT_PROGRESS_INTERVAL``, default 10)."""
    try:
        return max(0.0, float(os.environ.get("IMGKIT_PROGRESS_INTERVAL", "10")))
    except ValueError:
        return 10.0


class Progress:
    """A step counter that drives a tqdm bar (or periodic log lines) and the caller's callback.

    ``update`` returns True when the callback asked to stop (it returned ``True``); the
    method then ends its loop early and reports ``info.stopped``.

    ``show=True`` draws a tqdm bar; ``show="log"`` prints ``desc: step/total unit (p %), s
    elapsed`` on stderr at most every :func:`progress_interval` seconds, for runs whose stderr is
    a log file or a pipe, where a bar is noise.
    """

    def __init__(self, total: int, desc: str, unit: str, show: bool | str, callback: Callback | None):
        self.total = int(total)
        self.step = 0
        self.callback = callback
        self.stop_requested = False
        self._bar = None
        self._log = show == "log"
        self._desc, self._unit = desc, unit
        self._t0 = self._last = time.perf_counter()
        self._interval = progress_interval()
        if show is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    def _log_line(self) -> None:
        now = time.perf_counter()
        if now - self._last < self._interval:
            return
        self._last = now
        pct = f" ({100.0 * self.step / self.total:.0f} %)" if self.total > 0 else ""
        print(f"imgkit: {self._desc}: {self.step}/{self.total} {self._unit}{pct}, "
              f"{now - self._t0:.1f} s elapsed", file=sys.stderr, flush=True)

    def update(self, n: int = 1, state: dict[str, Any] | None = None) -> bool:
        self.step += int(n)
        if self._bar is not None:
            self._bar.update(n)
        elif self._log:
            self._log_line()
        if self.callback is not None:
            if self.callback(self.step, self.total, state if state is not None else {}) is True:
                self.stop_requested = True
        return self.stop_requested

    def set_postfix(self, **kw: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(**kw, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@dataclass
class RunContext:
    """Per-call settings handed to a method function.

    Attributes
    ----------
    method : str
    device : {"cpu", "cuda"}
    xp : module
        NumPy, or CuPy for Numba methods on a real GPU.
    seed : int
        Seed of every random choice (already drawn if the caller passed None).
    progress : bool or "log"
        Show a progress bar (``"log"``: periodic progress lines on stderr).
    callback : callable or None
        ``callback(step, total, state)``; returning ``True`` stops the run early.
    return_info : bool
        The caller asked for the :class:`Info` record (``return_info=True``); methods may skip
        collecting bulky teaching data (per-step images) when it is False.
    """

    method: str
    device: str
    xp: ModuleType = np
    seed: int = 0
    progress: bool | str = False
    callback: Callback | None = None
    timings: dict[str, float] = field(default_factory=dict)
    return_info: bool = True

    def rng(self, stream: int = 0) -> np.random.Generator:
        """A NumPy generator for this run; ``stream`` separates independent uses."""
        return np.random.default_rng([self.seed, stream])

    @contextmanager
    def steps(self, total: int, desc: str | None = None, unit: str = "step") -> Iterator[Progress]:
        """Context manager giving a :class:`Progress` over ``total`` steps."""
        bar = Progress(total, desc or self.method, unit, self.progress, self.callback)
        try:
            yield bar
        finally:
            bar.close()

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Accumulate the seconds spent in a block into ``timings[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
