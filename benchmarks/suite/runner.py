"""Run candidates over cases and append one CSV row per case × candidate × device.

Rows are written (and flushed) as they finish, so an interrupted run loses at most the row in
progress; ``resume=True`` keeps the rows with status ``ok`` already in the CSV (same case,
method, device and options) and runs only the rest. Skipped and failed rows are always redone
(they are cheap, and the reason may have gone away, e.g. a package installed since).
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .candidates import Candidate, build_candidates
from .cases import Case, build_cases
from .measure import METRICS, MetricSet, load1, row_machine, time_runs

__all__ = ["Config", "FIRSTCALL_COLUMNS", "VARIANT", "columns", "run_firstcall", "run_task", "select_cases"]

#: Name of the case-variant column per task.
VARIANT = {"inpaint": "mask", "style": "style", "analogy": "filter"}

MACHINE_COLUMNS = ["machine", "commit", "versions", "load1", "timestamp"]

#: ``--quick`` skips (saying so, with the estimate) a candidate whose calls take longer than this
#: many seconds, so the quick run stays a few minutes long (``--max-row-s`` overrides it).
QUICK_MAX_ROW_S = 20.0


def columns(task: str) -> list[str]:
    """CSV columns of ``task``."""
    return (
        ["task", "case", "image", VARIANT[task], "size", "seed", "hole_frac",
         "method", "kind", "family", "device", "threads", "status", "reason", "options", "overrides",
         "wall_median_s", "wall_min_s", "wall_max_s", "n_runs"]
        + [c for c, *_ in METRICS[task]]
        + ["metric_notes"] + MACHINE_COLUMNS
    )


FIRSTCALL_COLUMNS = [
    "task", "method", "kind", "device", "threads", "size", "case", "status", "reason", "import_s",
    "first_call_s", "second_call_s", "peak_rss_mb", "call_rss_delta_mb", "tracemalloc_peak_mb",
    "numba_cache", *MACHINE_COLUMNS,
]


@dataclass
class Config:
    """Settings of one benchmark run (the command line fills it; tests build it directly).

    ``images`` and ``variants`` are tuples for every task, or dicts ``{task: tuple}``; without
    ``images`` the photos come from the corpus split ``split`` (``tune``, ``heldout`` or ``all``).
    ``threads`` is the thread count of every method and peer (:mod:`benchmarks.suite.threads`;
    ``None`` or 0: library defaults).
    ``extra`` holds stand-in candidates (:meth:`Candidate.from_callable`) and ``kernel_modules``
    replaces the discovery of ``benchmarks/speed/speed_*.py``: the internal hooks for tests and
    prototypes.
    """

    out: Path
    quick: bool = False
    split: str = "heldout"
    threads: int | None = 1
    sizes: tuple[int, ...] | None = None
    images: tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    variants: tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    methods: tuple[str, ...] | None = None
    devices: tuple[str, ...] = ("cpu",)
    repeats: int | None = None
    budget_s: float | None = None
    max_row_s: float | None = None
    resume: bool = False
    firstcall: bool = True
    firstcall_timeout_s: float = 1800.0
    metrics: bool = True
    peers: bool = True
    references: bool = True
    progress: bool = True
    option_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    option_args: tuple[str, ...] = ()
    grid_cell: int | None = None
    plots: bool = True
    extra: list[Candidate] = field(default_factory=list)
    kernel_modules: list[Any] | None = None
    cases: tuple[str, ...] | None = None
    warmup: bool = True

    def for_task(self, task: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """(images, variants) of ``task``."""
        pick = lambda v: v.get(task) if isinstance(v, dict) else v  # noqa: E731
        return pick(self.images), pick(self.variants)

    def __post_init__(self) -> None:
        from imgkit.data import SPLITS

        if self.split not in ("all", *SPLITS):
            raise ValueError(f"split must be one of all, {', '.join(SPLITS)}; got {self.split!r}")
        self.out = Path(self.out)
        if self.repeats is None:
            self.repeats = 3 if self.quick else 5
        if self.budget_s is None:
            self.budget_s = 1.0 if self.quick else 3.0
        if self.max_row_s is None and self.quick:
            self.max_row_s = QUICK_MAX_ROW_S
        if self.grid_cell is None:
            self.grid_cell = 96 if self.quick else 128

    def settings(self) -> dict[str, Any]:
        return {
            "mode": "quick" if self.quick else "full",
            "split": self.split if not self.images else f"{self.split} (photos from --images)",
            "threads": self.threads or "library defaults",
            "sizes": list(self.sizes) if self.sizes else "task defaults",
            "images": self.images or "task defaults",
            "variants": self.variants or "task defaults",
            "methods": list(self.methods) if self.methods else "all",
            "devices": list(self.devices),
            "repeats": self.repeats,
            "row_budget_s": self.budget_s,
            "max_row_s": self.max_row_s,
            "firstcall": self.firstcall,
            "options": list(self.option_args),
            "stand_ins": [c.name for c in self.extra],
            "cases": list(self.cases) if self.cases else "all",
            "warmup": self.warmup,
        }


# --- CSV -------------------------------------------------------------------------------------


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.6g}"
    return v


class RowWriter:
    """Rewrite a CSV keeping the earlier rows that ``keep(row)`` accepts, then append rows.

    ``done`` holds the keys of kept rows whose status is ``ok`` (what a resumed run skips).
    """

    def __init__(self, path: Path, cols: list[str], key_cols: Sequence[str],
                 keep: Any = lambda row: False):
        self.path, self.cols, self.key_cols = path, cols, list(key_cols)
        kept: list[dict[str, str]] = []
        if path.exists():
            with open(path, newline="") as fh:
                kept = [r for r in csv.DictReader(fh) if keep(r)]
        self.done = {self.key(r) for r in kept if r.get("status") == "ok"}
        self.rows: list[dict[str, Any]] = list(kept)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "w", newline="")
        self._w = csv.DictWriter(self._fh, fieldnames=cols, extrasaction="ignore")
        self._w.writeheader()
        for r in kept:
            self._w.writerow(r)
        self._fh.flush()

    def key(self, row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(row.get(k, "")) for k in self.key_cols)

    def write(self, row: dict[str, Any]) -> None:
        row = {k: _fmt(row.get(k, "")) for k in self.cols}
        self._w.writerow(row)
        self._fh.flush()
        self.rows.append(row)

    def close(self) -> None:
        self._fh.close()


# --- failures --------------------------------------------------------------------------------


def _classify(exc: BaseException) -> tuple[str, str, bool]:
    """(status, reason, sticky): sticky failures apply to every later row of that candidate."""
    from imgkit import errors as E

    msg = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (E.MissingDependencyError, E.WeightsNotFoundError, E.WeightsFormatError)):
        return "skipped", f"cannot run here: {msg}", True
    if isinstance(exc, E.DeviceUnavailableError):
        return "skipped", f"device unavailable: {msg}", True
    if isinstance(exc, (E.InvalidImageError, E.NoSourceError, E.InvalidMaskError)):
        return "skipped", f"not applicable to this case: {msg}", False
    if isinstance(exc, E.InvalidOptionError):
        return "error", f"bad benchmark option: {msg}", True
    return "error", msg, False


# --- images for the grids ----------------------------------------------------------------------


def grid_cases(task: str, cases: Sequence[Case]) -> list[Case]:
    """The cases shown in image grids: at the grid size (256 px if run, else the largest size
    below it, else the smallest), per variant the first photo and the first texture."""
    if not cases:
        return []
    sizes = sorted({c.size for c in cases})
    below = [s for s in sizes if s <= 256]
    gsize = max(below) if below else sizes[0]
    from imgkit.data import CORPUS, TEXTURES

    textures = set(TEXTURES) | {e.name for e in CORPUS if e.category == "texture"}
    picked: list[Case] = []
    for variant in dict.fromkeys(c.variant for c in cases):
        at = [c for c in cases if c.size == gsize and c.variant == variant]
        photos = [c for c in at if c.image not in textures]
        texts = [c for c in at if c.image in textures]
        if task == "inpaint":
            picked += (photos[:1] + texts[:1]) or at[:2]
        else:
            picked += at[:1]
    return picked


def _save_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.round(np.clip(np.asarray(img, np.float32), 0, 1) * 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    Image.fromarray(arr).save(path)


def image_dir(out: Path, task: str, case_id: str) -> Path:
    return out / "images" / task / case_id


def _save_inputs(out: Path, case: Case) -> None:
    d = image_dir(out, case.task, case.id)
    a = case.arrays()
    if case.task == "inpaint":
        shown = np.array(a["image"])
        m = a["mask"]
        shown[m] = 0.35 * shown[m] + 0.65 * np.array([1.0, 0.0, 1.0], np.float32)
        files = {"input": shown, "truth": a["truth"]}
    elif case.task == "style":
        files = {"content": a["content"], "style": a["style"]}
    else:
        files = {"a": a["a"], "a_prime": a["a_prime"], "b": a["b"], "truth": a["truth"]}
    for name, img in files.items():
        p = d / f"_{name}.png"
        if not p.exists():
            _save_png(p, img)


# --- the main loop ----------------------------------------------------------------------------


def select_cases(cases: Sequence[Case], ids: Sequence[str] | None, *,
                 strict: bool = False) -> list[Case]:
    """``cases`` restricted to the case ids ``ids`` (``--cases``; ``None``: all), in their order.

    Raises
    ------
    ValueError
        With ``strict``, if an id names none of ``cases`` (the message lists a few that exist).
    """
    if not ids:
        return list(cases)
    known = {c.id for c in cases}
    unknown = [i for i in ids if i not in known]
    if unknown and strict:
        some = ", ".join(sorted(known)[:6])
        raise ValueError(f"--cases: no case {', '.join(map(repr, unknown))} in this run's cases "
                         f"(ids are <image>-<variant>-<size>, e.g. {some})")
    keep = set(ids)
    return [c for c in cases if c.id in keep]


def _estimate(times: dict[int, list[float]], size: int) -> float | None:
    """Expected seconds per call at ``size``: the median of the rows already run at that size,
    else the median at the largest smaller size scaled by the pixel count."""
    if times.get(size):
        return float(np.median(times[size]))
    smaller = [s for s in times if s < size and times[s]]
    if not smaller:
        return None
    s0 = max(smaller)
    return float(np.median(times[s0])) * (size / s0) ** 2


def run_task(task: str, cfg: Config, meta: dict[str, Any]) -> Path:
    """Run every candidate of ``task`` on its cases; returns the CSV path."""
    from tqdm.auto import tqdm

    from .threads import apply_threads, threads_label

    images, variants = cfg.for_task(task)
    cases = select_cases(build_cases(task, quick=cfg.quick, images=images, variants=variants,
                                     sizes=cfg.sizes, split=cfg.split), cfg.cases)
    nthreads = threads_label(apply_threads(cfg.threads))
    cands = build_candidates(task, quick=cfg.quick, names=cfg.methods,
                             option_overrides=cfg.option_overrides, peers=cfg.peers,
                             references=cfg.references, extra=cfg.extra)
    metrics = MetricSet(task, enabled=cfg.metrics)
    path = cfg.out / f"{task}.csv"
    writer = RowWriter(path, columns(task), ["case", "method", "device", "options"],
                       keep=lambda r: cfg.resume and r.get("status") == "ok")
    shown = {c.id for c in grid_cases(task, cases)}
    machine = row_machine(meta)
    sticky: dict[tuple[str, str], tuple[str, str]] = {}
    warmed: set[tuple[str, str]] = set()
    seen: dict[tuple[str, str], dict[int, list[float]]] = {}
    for r in writer.rows:  # resumed rows inform the too-slow estimate
        if r.get("wall_median_s"):
            seen.setdefault((r["method"], r["device"]), {}).setdefault(int(r["size"]), []).append(
                float(r["wall_median_s"]))
    total = len(cases) * len(cands) * len(cfg.devices)
    bar = tqdm(total=total, desc=f"{task}", unit="row", disable=not cfg.progress, dynamic_ncols=True)
    try:
        for case in cases:
            gone = case.missing()
            if gone:  # a corpus photo whose package is not installed: one skipped row per candidate
                for cand in cands:
                    for device in cfg.devices:
                        writer.write(dict(task=task, case=case.id, image=case.image,
                                          **{VARIANT[task]: case.variant}, size=case.size, seed=case.seed,
                                          method=cand.name, kind=cand.kind, family=cand.family,
                                          device=device, threads=nthreads, status="skipped",
                                          reason=f"skipped: {gone}", options=cand.options_json,
                                          **{**machine, "load1": load1()}))
                        bar.update(1)
                continue
            arrays = case.arrays()
            if case.id in shown:
                _save_inputs(cfg.out, case)
            base = {
                "task": task, "case": case.id, "image": case.image, VARIANT[task]: case.variant,
                "size": case.size, "seed": case.seed,
                "hole_frac": float(arrays["mask"].mean()) if task == "inpaint" else "",
            }
            for cand in cands:
                for device in cfg.devices:
                    bar.set_postfix_str(f"{case.id} {cand.name}", refresh=False)
                    row = dict(base, method=cand.name, kind=cand.kind, family=cand.family,
                               device=device, threads=nthreads, options=cand.options_json,
                               overrides=json.dumps({k: v[0] for k, v in cand.overrides.items()},
                                                    sort_keys=True, default=str) if cand.overrides else "")
                    if writer.key(row) in writer.done:
                        bar.update(1)
                        continue
                    row.update(machine, load1=load1())
                    row.update(_run_one(cand, case, arrays, device, cfg, metrics, sticky, warmed,
                                        seen.setdefault((cand.name, device), {}),
                                        save=case.id in shown))
                    writer.write(row)
                    bar.update(1)
    finally:
        bar.close()
        writer.close()
    meta.setdefault("metrics_na", {})[task] = dict(metrics.na)
    meta.setdefault("candidates", {})[task] = [
        {"name": c.name, "kind": c.kind, "family": c.family, "devices": list(c.devices),
         "summary": c.summary, "options": c.options,
         "overrides": {k: {"benchmark": v[0], "default": v[1]} for k, v in c.overrides.items()},
         "unavailable": c.unavailable}
        for c in cands
    ]
    meta.setdefault("cases", {})[task] = [c.id for c in cases]
    meta.setdefault("threads", {})[task] = dict(apply_threads(cfg.threads), label=nthreads)
    if task == "analogy" and cases:
        meta["analogy_a"] = sorted({c.pair()[0] for c in cases})
    if cfg.firstcall:
        run_firstcall(task, cfg, meta, cases, cands, writer.rows)
    return path


def _run_one(cand, case, arrays, device, cfg, metrics, sticky, warmed, times, *, save):
    key = (cand.name, device)
    if cand.unavailable:
        return {"status": "skipped", "reason": cand.unavailable}
    if device != "auto" and device not in cand.devices:
        return {"status": "skipped",
                "reason": f"no {device} implementation (runs on: {', '.join(cand.devices)})"}
    if key in sticky:
        status, reason = sticky[key]
        return {"status": status, "reason": reason}
    est = _estimate(times, case.size)
    if cfg.max_row_s is not None and est is not None and est > cfg.max_row_s:
        return {"status": "skipped",
                "reason": f"too slow for this run: estimated {est:.0f} s per call > --max-row-s "
                          f"{cfg.max_row_s:g} (from the medians at smaller sizes, ∝ pixels)"}

    def call():
        return cand.run(arrays, case.seed, device)

    try:
        if key not in warmed:
            if cfg.warmup:
                call()  # warm-up: JIT compilation, weights, caches
            warmed.add(key)
        (out, used), timing = time_runs(call, repeats=cfg.repeats, budget_s=cfg.budget_s)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        status, reason, is_sticky = _classify(exc)
        if status == "error" and os.environ.get("IMGKIT_BENCH_TRACEBACK"):
            traceback.print_exc()
        if is_sticky:
            sticky[key] = (status, reason)
        return {"status": status, "reason": reason}
    out = np.asarray(out, np.float32)
    times.setdefault(case.size, []).append(timing.median_s)
    vals, notes = metrics.compute(arrays, out)
    if save:
        _save_png(image_dir(cfg.out, case.task, case.id) / f"{cand.name}__{device}.png", out)
    return dict(
        vals, status="ok", reason="", device=used, wall_median_s=timing.median_s,
        wall_min_s=timing.min_s, wall_max_s=timing.max_s, n_runs=timing.n,
        metric_notes="; ".join(notes),
    )


# --- first call in a fresh process -------------------------------------------------------------


def run_firstcall(task: str, cfg: Config, meta: dict[str, Any], cases: Sequence[Case],
                  cands: Sequence[Candidate], rows: Sequence[dict[str, Any]]) -> Path:
    """Time each candidate's first call (and its memory) in a fresh process, per device × size,
    on the first case of that size the main run completed."""
    from tqdm.auto import tqdm

    path = cfg.out / "firstcall.csv"
    # other tasks' rows stay; this task's are redone unless resuming (then its ok rows stay)
    writer = RowWriter(path, FIRSTCALL_COLUMNS, ["task", "method", "device", "size"],
                       keep=lambda r: r.get("task") != task or (cfg.resume and r.get("status") == "ok"))
    by_case = {c.id: c for c in cases}
    jobs = []
    for cand in cands:
        for device in cfg.devices:
            for size in sorted({c.size for c in cases}):
                ok = [r for r in rows if r["method"] == cand.name and r["device"] == device
                      and str(r["size"]) == str(size) and r["status"] == "ok"]
                if not ok:
                    continue
                jobs.append((cand, device, size, by_case[ok[0]["case"]]))
    machine = row_machine(meta)
    bar = tqdm(total=len(jobs), desc=f"{task} first call", unit="run", disable=not cfg.progress)
    try:
        for cand, device, size, case in jobs:
            row = {"task": task, "method": cand.name, "kind": cand.kind, "device": device,
                   "size": size, "case": case.id}
            if writer.key(row) in writer.done:
                bar.update(1)
                continue
            row.update(machine, load1=load1(), numba_cache="fresh empty NUMBA_CACHE_DIR",
                       threads=cfg.threads or "library defaults")
            if not cand.rebuildable:
                row.update(status="skipped",
                           reason="stand-in callable: cannot be rebuilt in a fresh process")
            else:
                row.update(_firstcall_subprocess(task, cand, device, case, cfg))
            writer.write(row)
            bar.update(1)
    finally:
        bar.close()
        writer.close()
    return path


def _firstcall_subprocess(task, cand, device, case, cfg) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.suite.firstcall", "--task", task, "--method", cand.name,
            "--image", case.image, "--variant", case.variant, "--size", str(case.size),
            "--seed", str(case.seed), "--device", device, "--a-image", case.a_image,
            "--threads", str(cfg.threads or 0)]
    if cfg.quick:
        args.append("--quick")
    for opt in cfg.option_args:
        args += ["--option", opt]
    with tempfile.TemporaryDirectory(prefix="imgkit-bench-numba-") as cache:
        from .threads import thread_env

        env = thread_env(cfg.threads) if cfg.threads else dict(os.environ)
        env["NUMBA_CACHE_DIR"] = cache
        try:
            proc = subprocess.run(args, cwd=Path(__file__).resolve().parents[2], env=env,
                                  capture_output=True, text=True, timeout=cfg.firstcall_timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "error", "reason": f"timed out after {cfg.firstcall_timeout_s:g} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"status": "error", "reason": f"exit {proc.returncode}: {tail}"[:500]}
    res = json.loads(lines[-1])
    return {k: res.get(k, "") for k in ("status", "reason", "import_s", "first_call_s",
                                         "second_call_s", "peak_rss_mb", "call_rss_delta_mb",
                                         "tracemalloc_peak_mb")}
