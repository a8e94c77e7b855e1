"""First-call time and peak memory of one candidate, measured in a fresh Python process.

The suite runs ``python -m benchmarks.suite.firstcall ...`` once per candidate × device × size, with
``NUMBA_CACHE_DIR`` pointing at a new empty folder, so Numba's on-disk cache (``cache=True``)
cannot hide compilation. The child prints one JSON object on its last stdout line:

``import_s``
    ``import imgkit`` plus discovering every method module (``list_methods``).
``first_call_s``
    The first call on the case: lazy imports (torch), JIT compilation, weight loading, the run.
``peak_rss_mb``
    Peak resident set size of the whole process after the first call: interpreter, imports, JIT
    compiler, weights and the run. Read from ``VmHWM`` in ``/proc/self/status`` (Linux), not
    from ``ru_maxrss``: after ``fork`` + ``exec`` Linux keeps the parent's peak in ``ru_maxrss``,
    so a child of a large benchmark process would report the parent's size. Elsewhere
    ``ru_maxrss`` is the fallback.
``call_rss_delta_mb``
    During a second (warm) call, the peak RSS sampled every millisecond by a background thread
    (``psutil``, else ``/proc/self/statm``) minus the RSS just before the call: what one call
    needs at its peak, NumPy, PyTorch and OpenCV buffers alike (short spikes between two
    samples can be missed; memory freed to a pool and reused is not counted again).
``tracemalloc_peak_mb``
    Peak of the allocations traced by :mod:`tracemalloc` during that second call. NumPy reports
    its buffers to tracemalloc; PyTorch, OpenCV and other C++ libraries do not.
``second_call_s``
    The second call's time; it runs under tracemalloc and the sampler, so it is not a warm
    timing (the warm median comes from the main run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

T_START = time.perf_counter()


def _peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        import os

        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _RssSampler:
    """Peak RSS over a block, sampled every ``interval`` seconds by a daemon thread."""

    def __init__(self, interval: float = 0.001):
        import threading

        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> _RssSampler:
        self.before = _rss_bytes()
        self.peak = self.before
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.suite.firstcall")
    p.add_argument("--task", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--variant", required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--option", action="append", default=[])
    args = p.parse_args(argv)

    import tracemalloc

    import imgkit

    from .candidates import build_candidates, parse_option_overrides
    from .cases import Case

    imgkit.list_methods()
    cands = build_candidates(args.task, quick=args.quick, names=[args.method],
                             option_overrides=parse_option_overrides(args.option))
    import_s = time.perf_counter() - T_START
    if len(cands) != 1:
        print(json.dumps({"status": "error", "reason": f"no candidate {args.method!r} for {args.task}"}))
        return 1
    cand = cands[0]
    case = Case(args.task, args.image, args.variant, args.size, args.seed)
    arrays = case.arrays()
    t0 = time.perf_counter()
    cand.run(arrays, args.seed, args.device)
    first = time.perf_counter() - t0
    maxrss = _peak_rss_bytes()
    tracemalloc.start()
    with _RssSampler() as sampler:
        t0 = time.perf_counter()
        cand.run(arrays, args.seed, args.device)
        second = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({
        "status": "ok",
        "import_s": import_s,
        "first_call_s": first,
        "second_call_s": second,
        "peak_rss_mb": maxrss / 2**20,
        "call_rss_delta_mb": max(0, sampler.peak - sampler.before) / 2**20,
        "tracemalloc_peak_mb": peak / 2**20,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
