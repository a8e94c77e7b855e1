"""``python -m benchmarks kernels``: the per-family kernel speed modules, side by side.

Each kernel family ships ``benchmarks/speed/speed_<family>.py`` exposing ``kernel_rows(quick: bool) ->
list[dict]`` with the keys ``family, kernel, device, size, median_s, throughput, unit`` and
optionally ``first_call_s, peak_mem_mb, notes`` (median of repeated warm runs; first call in a
fresh process; the module decides its own repeats and reference rows, e.g. a NumPy reference
as device ``numpy``). A row whose ``median_s`` is ``None`` (e.g. a CUDA row without a GPU) is
reported as skipped with its notes as the reason. This module imports every such file it finds,
so a family added later is picked up without changes here. A module that fails to import or
raises is reported as an ``error`` row with the reason; finding no module at all is said in the
summary.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from .measure import load1, row_machine

__all__ = ["KERNEL_COLUMNS", "REQUIRED", "discover", "kernel_table"]

REQUIRED = ("family", "kernel", "device", "size", "median_s", "throughput", "unit")
KERNEL_COLUMNS = ["module", "family", "kernel", "device", "size", "status", "reason", "median_s",
                  "first_call_s", "peak_mem_mb", "throughput", "unit", "vs_reference", "notes",
                  "module_s", "machine", "commit", "versions", "load1", "timestamp"]


def discover() -> list[str]:
    """Module names ``benchmarks.speed_*`` present next to this file, sorted."""
    here = Path(__file__).resolve().parent.parent / "speed"
    return [f"benchmarks.speed.{p.stem}" for p in sorted(here.glob("speed_*.py"))]


def _rows_of(name: str, mod: ModuleType | None, quick: bool) -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    try:
        if mod is None:
            mod = importlib.import_module(name)
        fn = getattr(mod, "kernel_rows", None)
        if fn is None:
            raise AttributeError(f"{name} has no kernel_rows(quick) function")
        rows = [dict(r) for r in fn(quick)]
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return [{"module": name, "status": "error", "reason": tb[:500]}]
    dt = time.perf_counter() - t0
    out = []
    for r in rows:
        missing = [k for k in REQUIRED if k not in r]
        r = {"module": name, "module_s": dt, **r}
        if missing:
            r.update(status="error", reason=f"row lacks {', '.join(missing)}")
        elif "status" not in r and r.get("median_s") in (None, ""):
            # a row the module could not measure (e.g. no GPU): its notes say why
            r.update(status="skipped", reason=str(r.get("notes") or "not measured"))
        else:
            r.setdefault("status", "ok")
            r.setdefault("reason", "")
        out.append(r)
    return out


def _reference_ratio(rows: list[dict[str, Any]]) -> None:
    """``vs_reference``: reference median / this median, for rows with a NumPy/naive twin."""
    def is_ref(r):
        d = str(r.get("device", "")).lower()
        return "numpy" in d or "naive" in d or "reference" in d

    refs = {(r.get("family"), r.get("kernel"), str(r.get("size"))): r for r in rows
            if r.get("status") == "ok" and is_ref(r)}
    for r in rows:
        ref = refs.get((r.get("family"), r.get("kernel"), str(r.get("size"))))
        if ref is None or is_ref(r) or r.get("status") != "ok":
            continue
        try:
            r["vs_reference"] = float(ref["median_s"]) / float(r["median_s"])
        except (TypeError, ValueError, ZeroDivisionError):
            pass


def kernel_table(quick: bool, meta: dict[str, Any],
                 modules: Iterable[ModuleType | str] | None = None) -> list[dict[str, Any]]:
    """Rows of every speed module (``modules`` overrides discovery: the internal test hook)."""
    rows: list[dict[str, Any]] = []
    targets = discover() if modules is None else list(modules)
    machine = row_machine(meta)
    for t in targets:
        name, mod = (t, None) if isinstance(t, str) else (getattr(t, "__name__", "module"), t)
        rows += [{**machine, "load1": load1(), **r} for r in _rows_of(name, mod, quick)]
    _reference_ratio(rows)
    meta["kernel_modules"] = [t if isinstance(t, str) else getattr(t, "__name__", "module")
                              for t in targets]
    return rows
